/*
 * generations — image generation as a kind of FAL job (fal_job.h), and the
 * generations table: a job row per tap (created in the tap's transaction,
 * under the per-user concurrency limit), claimed once before the FAL
 * submit, finished by the engine's one path, which stores the pictures
 * (images.c) with the row in one transaction.  The model follows what the
 * avatar holds: a LoRA file generates with fal-ai/flux-lora, a finetune id
 * with the finetuned FLUX endpoint (fal_models.c).  In test mode the job
 * completes at once with placeholder JPEGs served from MEDIA_DIR.  What
 * the person is told is the flow layer's (jobs.c).
 */
#ifndef AISHA_GENERATIONS_H
#define AISHA_GENERATIONS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "fal_job.h"
#include "images.h"
#include "job.h"

enum gen_create { GEN_CREATED, GEN_TOO_MANY, GEN_NOT_READY, GEN_DB_ERROR };

/* In the caller's transaction: a new job for the user's avatar with the
 * given template key (NULL for an own prompt), user text, prompt and aspect
 * index (fal_aspects).  *id is set when created. */
enum gen_create generation_create(struct app_ctx *ctx, int64_t user_id, int64_t avatar_id,
    int64_t chat_id, const char *template_key, const char *user_prompt, const char *prompt,
    int aspect, int64_t *id);
/* The same settings as image_id's job, with a new seed. */
enum gen_create generation_repeat(struct app_ctx *ctx, int64_t user_id, int64_t image_id,
    int64_t chat_id, int64_t *id);

/* A generation as the engine holds it: the job (job.h) and what the input
 * and the message need besides. */
struct gen_job {
	struct job j;
	int64_t seed, avatar_id;
	int num_images;
	char template_key[41], aspect[8];
	char prompt[16001];      /* the claim's: the input */
	char lora_url[1024], finetune_id[201];
	struct image_batch pics; /* the finish's: what was stored */
};

extern const struct fal_job_ops generation_ops;

#endif
