/*
 * images — the generated pictures (generated_images) as the gallery,
 * sharing and full quality see them: read for their owner or by share
 * code, hidden, and the file_id Telegram gave an upload kept.  The rows
 * are written by a generation's finish (generations.c) and the outbox
 * (the photo's file_id once sent).
 */
#ifndef AISHA_IMAGES_H
#define AISHA_IMAGES_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "db.h"

#define IMAGES_PER_JOB 4

/* What a generation's result stored: the pictures to show (URLs point into
 * the result document) and how many were hidden as NSFW. */
struct image_batch {
	int shown, hidden;
	int64_t ids[IMAGES_PER_JOB];
	const char *urls[IMAGES_PER_JOB];
};

/* In the caller's transaction: one row per picture of FAL's output (at most
 * IMAGES_PER_JOB, each with its own share code; a picture stored before is
 * skipped), into *b.  0 or -1. */
int image_store_result(struct db *db, int64_t generation_id, int64_t user_id,
    int64_t avatar_id, int64_t seed_asked, const cJSON *output, struct image_batch *b);

/* A stored image, as the gallery and sharing see it. */
struct gen_image {
	int64_t id, generation_id, avatar_id, user_id;
	char url[2001];
	char file_id[257];   /* "" until Telegram gave one */
	char doc_file_id[257]; /* the full-quality document's, "" until uploaded */
	char code[65];       /* the share code */
	char template_key[41];
	char aspect[8];
	char created[17];    /* UTC */
	char avatar_name[161]; /* "" when the avatar is gone */
	char user_prompt[801]; /* an own prompt's first 200 characters, "" for a template */
	int page;            /* its page in the gallery (0: the newest) */
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

#endif
