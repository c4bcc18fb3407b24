/*
 * generations — image generation jobs on FAL, server side, with the same
 * exactly-once rules as training: a job row per tap (created in the tap's
 * transaction, under the per-user concurrency limit), one conditional claim
 * before the FAL submit, and ONE completion function for the webhook and the
 * status poller, which stores the images and queues their delivery in the
 * outbox in one transaction.  The model follows what the avatar holds: a
 * LoRA file generates with fal-ai/flux-lora, a finetune id with the
 * finetuned FLUX endpoint.  In test mode the job completes at once with
 * placeholder JPEGs served from MEDIA_DIR, through the same completion path.
 */
#ifndef AISHA_GENERATIONS_H
#define AISHA_GENERATIONS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "app.h"

#define GEN_ASPECTS 5

struct gen_aspect {
	const char *ratio;      /* "3:4", for the finetuned endpoint and labels */
	const char *image_size; /* "portrait_4_3", for flux-lora */
};
extern const struct gen_aspect gen_aspects[GEN_ASPECTS];

enum gen_create { GEN_CREATED, GEN_TOO_MANY, GEN_NOT_READY, GEN_DB_ERROR };

/* In the caller's transaction: a new job for the user's avatar with the
 * given template key (NULL for an own prompt), user text, prompt and aspect
 * index.  *id is set when created. */
enum gen_create generation_create(struct app_ctx *ctx, int64_t user_id, int64_t avatar_id,
    int64_t chat_id, const char *template_key, const char *user_prompt, const char *prompt,
    int aspect, int64_t *id);
/* The same settings as image_id's job, with a new seed. */
enum gen_create generation_repeat(struct app_ctx *ctx, int64_t user_id, int64_t image_id,
    int64_t chat_id, int64_t *id);

/* After commit: claims the job and submits it to FAL (or completes it in
 * test mode).  0 or -1 (the user is told about failures). */
int generation_submit(struct app_ctx *ctx, int64_t gen_id);

/* The completion path for a FAL result: ok with output (images[]), or an
 * error text.  Returns 1 done, 0 duplicate/unknown, -1 database error. */
int generation_finish(struct app_ctx *ctx, const char *request_id, int64_t expect_gen,
    bool ok, const cJSON *output, const char *error);

/* A stored image, as the gallery and sharing see it. */
struct gen_image {
	int64_t id, generation_id, avatar_id;
	char url[2001];
	char file_id[257];   /* "" until Telegram gave one */
	char doc_file_id[257]; /* the full-quality document's, "" until uploaded */
	char code[65];       /* the share code */
	char template_key[41];
	char aspect[8];
	char created[17];
};

/* The user's image: 1 found, 0 not theirs / deleted, -1 error. */
int image_get(struct db *db, int64_t id, int64_t user_id, struct gen_image *out);
/* The page-th (0-based, newest first) visible image of the user and how many
 * there are: 1 found, 0 none, -1 error. */
int image_page(struct db *db, int64_t user_id, int page, struct gen_image *out, int *total);
/* An image by its share code (deleted ones are gone): 1, 0, -1. */
int image_by_code(struct db *db, const char *code, struct gen_image *out);
/* Keeps the file_id Telegram gave the uploaded full-quality file. */
int image_set_doc_file_id(struct db *db, int64_t id, const char *file_id);
/* Hides the image from the gallery and kills its share code: 1, 0, -1. */
int image_delete(struct db *db, int64_t id, int64_t user_id);

/* The poller's part: running generations whose webhook never came. */
int generation_poll_all(struct app_ctx *ctx, cJSON *summary);
/*
 * Fails every generation still in flight GEN_TIMEOUT seconds after it was
 * asked for (a lost result, a submitter that died), telling the person once
 * and freeing the GEN_MAX_ACTIVE slot.  Returns how many, or -1.
 */
int generation_expire(struct app_ctx *ctx, cJSON *summary);

#endif
