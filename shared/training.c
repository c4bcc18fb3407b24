/*
 * training — see training.h.
 */
#include "training.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avatars.h"
#include "fal_models.h"
#include "log.h"
#include "training_zip.h"

#define PROGRESS_EDIT_EVERY 30 /* seconds between progress edits */
#define ZIP_KEPT_RUNNING 60    /* seconds FAL's runner has to download the zip */

#define AV(j) ((struct avatar_job *)(j))

int
training_minutes(const struct config *c, bool style)
{
	if (c->fal_test_mode)
		return c->fal_test_duration / 60 + 1;
	return style ? 15 : 10;
}

static int
test_seconds(const struct config *c)
{
	return c->fal_test_duration;
}

static int
timeout(const struct config *c)
{
	return c->fal_training_timeout;
}

static int
claim(struct app_ctx *ctx, int64_t id, struct job *j)
{
	return avatar_claim_for_training(&ctx->db, id, ctx->cfg.start_training_max_parallel,
	    ctx->cfg.claim_timeout, AV(j));
}

/* The zip of face photos leaves the database as soon as FAL no longer
 * needs it: running_for seconds after FAL started running it, or (< 0)
 * now (clearing zip_path drops its data: schema/013).  A row read without
 * a zip costs no statement (the poller's and the finish's rows carry it). */
static void
drop_zip(struct app_ctx *ctx, struct job *j, int running_for)
{
	char name[1100];

	if (AV(j)->zip_path[0] != '\0' &&
	    avatar_take_zip(&ctx->db, j->id, running_for, name, sizeof(name)) == 1)
		log_info("avatar %" PRId64 ": its photos' zip removed", j->id);
}

static enum fal_step
prepare(struct app_ctx *ctx, struct job *j, char *why, size_t whylen)
{
	struct sbuf url = SBUF_INIT, path = SBUF_INIT;

	AV(j)->zip_path[0] = '\0';
	enum fal_step st = training_zip_build(ctx, j->id, &url, &path, why, whylen);

	if (st == FAL_STEP_OK)
		snprintf(AV(j)->zip_path, sizeof(AV(j)->zip_path), "%s", path.p);
	sbuf_free(&url);
	sbuf_free(&path);
	return st;
}

/* The trainer's input (its settings kept on the avatar first). */
static cJSON *
input(struct app_ctx *ctx, struct job *j)
{
	struct fal_train_params tp;
	struct sbuf url = SBUF_INIT;
	fal_train_params_init(&tp, &ctx->cfg, AV(j)->style, j->user_id, j->id);
	sbuf_addf(&url, "%s/media/%s", ctx->cfg.public_base_url, AV(j)->zip_path);
	tp.zip_url = url.p;
	snprintf(j->endpoint, sizeof(j->endpoint), "%s", tp.endpoint);
	cJSON *in = avatar_store_settings(&ctx->db, j->id, &tp) == 0 ? fal_train_input(&tp) : NULL;
	sbuf_free(&url);
	return in;
}

static int
store_submitted(struct db *db, struct job *j, const struct fal_submitted *sub,
    const char *webhook, const cJSON *in, const cJSON *answer)
{
	char *json = answer ? cJSON_PrintUnformatted(answer) : NULL;

	(void)in;
	int rc = avatar_mark_training(db, j->id, sub, webhook, AV(j)->zip_path, json);
	cJSON_free(json);
	return rc;
}

/* Given back or failed: its zip (if one was kept) goes with zip_path. */
static int
unclaim(struct db *db, struct job *j, const char *why, int retry_in)
{
	return retry_in >= 0 ? avatar_give_back(db, j->id, why, retry_in) :
	    avatar_fail_start(db, j->id, why);
}

static int
lock(struct db *db, const char *request_id, int64_t expect, struct job *j)
{
	return avatar_lock_by_request(db, request_id, expect, AV(j));
}

/* A result without weights is a failure (FAL's reason or ours in e->r). */
static int
store_end(struct app_ctx *ctx, struct job *j, struct fal_end *e)
{
	char *json = e->keep ? cJSON_PrintUnformatted(e->keep) : NULL;

	if (!e->r.ok)
		e->ok = false;
	int rc = e->ok ? avatar_mark_completed(&ctx->db, j->id, &e->r, e->logs, json) :
	    avatar_mark_errored(&ctx->db, j->id, e->r.error, e->logs, json);
	cJSON_free(json);
	if (rc == 0)
		drop_zip(ctx, j, -1);
	return rc;
}

/* Keeps logs and progress; the message is edited at most every 30 s, and
 * only while the training runs (its row locked until the edit is queued:
 * an end that comes meanwhile queues its own message after it). */
static int
record_progress(struct app_ctx *ctx, struct job *j, const char *logs, int progress,
    bool running)
{
	bool edit = progress > AV(j)->progress && AV(j)->since_edit >= PROGRESS_EDIT_EVERY &&
	    j->chat_id != 0 && AV(j)->progress_mid != 0;
	int n = avatar_record_progress(&ctx->db, j->id, logs, progress, running, edit);

	if (running)
		drop_zip(ctx, j, ZIP_KEPT_RUNNING);
	return edit && n == 1;
}

static int
each_timed_out(struct db *db, int secs, void (*fn)(void *ud, const char *request_id), void *ud)
{
	return avatar_each_timed_out(db, secs, fn, ud);
}

static cJSON *
test_output(const struct config *c, const struct job *j)
{
	(void)c;
	return fal_test_training_output(j->endpoint, j->request_id);
}

void
training_bill(const struct config *c, struct job_bill *b)
{
	*b = (struct job_bill){.reason = "training", .price = c->price_training, .units = 1,
		.cost_usd = c->fal_cost_training_usd, .per_day = c->trainings_per_day};
}

static void
bill(const struct config *c, const struct job *j, struct job_bill *b)
{
	(void)j;
	training_bill(c, b);
}

static int
cancel_queued(struct db *db, int64_t id, const char *why, struct job *j)
{
	return avatar_cancel_queued(db, id, why, (struct avatar_job *)j);
}

static int
each_due(struct db *db, int older_than, int (*fn)(void *ud, int64_t id), void *ud)
{
	return avatar_each_due(db, older_than, fn, ud);
}

const struct fal_job_ops training_ops = {
	.name = "avatar",
	.size = sizeof(struct avatar_job),
	.max_attempts = TRAINING_MAX_ATTEMPTS,
	.test_seconds = test_seconds,
	.timeout = timeout,
	.claim = claim,
	.prepare = prepare,
	.input = input,
	.store_submitted = store_submitted,
	.unclaim = unclaim,
	.lock = lock,
	.store_end = store_end,
	.claim_inflight = avatar_claim_inflight,
	.record_progress = record_progress,
	.each_timed_out = each_timed_out,
	.test_output = test_output,
	.bill = bill,
	.each_due = each_due,
	.cancel_queued = cancel_queued,
};
