/*
 * generations — the generations table: a job row per tap (created in the
 * tap's transaction, under the per-user concurrency limit), claimed once
 * before the FAL submit (queued → submitting), then running with its FAL
 * request, then completed or error — each a conditional UPDATE on the
 * current status, so of two callers racing for a transition one wins.  The
 * model follows what the avatar holds: a LoRA file generates with
 * fal-ai/flux-lora, a finetune id with the finetuned FLUX endpoint (the
 * endpoints of fal_models.c's rows).  gen_job.c drives the transitions.
 */
#ifndef AISHA_GENERATIONS_H
#define AISHA_GENERATIONS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include <stdbool.h>

#include "app.h"
#include "fal_api.h"
#include "images.h"
#include "job.h"

enum gen_create { GEN_CREATED, GEN_TOO_MANY, GEN_NOT_READY, GEN_DB_ERROR };

/* In the caller's transaction: a new job for the user's avatar with the
 * given template key (NULL for an own prompt), user text, prompt and aspect
 * index (fal_aspects); status_mid: the message that will say it is being
 * made (0: none known).  *id is set when created. */
enum gen_create generation_create(struct app_ctx *ctx, int64_t user_id, int64_t avatar_id,
    int64_t chat_id, const char *template_key, const char *user_prompt, const char *prompt,
    int aspect, int64_t status_mid, int64_t *id);
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
	char user_prompt[801];   /* an own prompt's first 200 characters ("" for a template) */
	int64_t status_mid;      /* the «Generating…» message, 0 when unknown */
	char prompt[16001];      /* the claim's: the input */
	char lora_url[1024], finetune_id[201];
	struct image_batch pics; /* the finish's: what was stored */
};

/* queued → submitting for one caller: 1 won (*g with the input's fields), 0, -1. */
int generation_claim(struct db *db, int64_t id, struct gen_job *g);
/* submitting → running with the FAL request and the input (params JSON). */
int generation_mark_running(struct db *db, int64_t id, const struct fal_submitted *s,
    const char *params);
/* submitting → error with why. */
int generation_fail_start(struct db *db, int64_t id, const char *why);
/* In the caller's transaction: locks the job of request_id: 1, 0 none, -1. */
int generation_lock_by_request(struct db *db, const char *request_id, struct gen_job *g);
/* running → completed, or error with error; json (FAL's document) kept. */
int generation_mark_done(struct db *db, int64_t id, bool ok, const char *error,
    const char *json);
/* Claims up to limit running jobs not checked for 10 s nor since `since`
 * (the pass's start, epoch seconds) — only_id: that one — for one status
 * check; *rows (caller frees) is an array of struct gen_job.
 * The count or -1. */
int generation_claim_inflight(struct db *db, int limit, int64_t only_id, int64_t since,
    void **rows);
/* fn for the request of each job running for more than secs. */
int generation_each_timed_out(struct db *db, int secs,
    void (*fn)(void *ud, const char *request_id), void *ud);
/* In the caller's transaction: queued or claimed more than secs ago and
 * never submitted → error with why; fn for each.  The count or -1. */
/* 1 when generation id exists, 0 when not, -1. */
int generation_exists(struct db *db, int64_t id);
/* A failed generation queued again (the operator's retry; not charged
 * again): 1, 0 when it has not failed, -1. */
int generation_requeue(struct db *db, int64_t id);
/* A queued generation failed with why (the operator's cancel): 1 with the
 * job in *j (a struct gen_job), 0 when it is not queued, -1. */
int generation_cancel_queued(struct db *db, int64_t id, const char *why, struct job *j);
int generation_expire_unsent(struct db *db, int secs, const char *why,
    int (*fn)(void *ud, struct job *j), void *ud);
/* fn for each job queued more than older_than seconds ago. */
int generation_each_due(struct db *db, int older_than, int (*fn)(void *ud, int64_t id),
    void *ud);

#endif
