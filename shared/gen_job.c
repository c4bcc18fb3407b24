/*
 * gen_job — see gen_job.h.
 */
#include "gen_job.h"

#include <stdio.h>

#include "fal_models.h"
#include "generations.h"
#include "images.h"

#define GJ(j) ((struct gen_job *)(j))

static int
timeout(const struct config *c)
{
	return c->gen_timeout;
}

static int
claim(struct app_ctx *ctx, int64_t id, struct job *j)
{
	return generation_claim(&ctx->db, id, GJ(j));
}

/* The input, by the model row the job's endpoint names (fal_models.c). */
static cJSON *
input(struct app_ctx *ctx, struct job *j)
{
	const struct gen_job *g = GJ(j);
	const struct fal_aspect *ar = &fal_aspects[fal_aspect_index(g->aspect)];
	struct fal_gen_args a = {
		.prompt = g->prompt, .num_images = g->num_images, .seed = g->seed,
		.lora_url = g->lora_url, .finetune_id = g->finetune_id,
		.ratio = ar->ratio, .image_size = ar->image_size,
		.cfg = &ctx->cfg,
	};

	return fal_generation_input(j->endpoint, &a);
}

/* The input is kept as the job's params. */
static int
store_submitted(struct db *db, struct job *j, const struct fal_submitted *s,
    const char *webhook, const cJSON *in, const cJSON *answer)
{
	char *json = cJSON_PrintUnformatted(in);

	(void)webhook;
	(void)answer;
	int rc = generation_mark_running(db, j->id, s, json);
	cJSON_free(json);
	return rc;
}

/* A generation is never given back (max_attempts 1): it fails. */
static int
unclaim(struct db *db, struct job *j, const char *why, int retry_in)
{
	(void)retry_in;
	return generation_fail_start(db, j->id, why);
}

static int
lock(struct db *db, const char *request_id, int64_t expect, struct job *j)
{
	(void)expect;
	return generation_lock_by_request(db, request_id, GJ(j));
}

/* The pictures (images.c), then the row.  A result without pictures is a
 * failure; pictures blocked as NSFW are given back their share. */
static int
store_end(struct app_ctx *ctx, struct job *j, struct fal_end *e)
{
	struct gen_job *g = GJ(j);

	if (e->ok && image_store_result(&ctx->db, j->id, j->user_id, g->avatar_id, g->seed,
	    e->output, &g->pics) != 0)
		return -1;
	e->refund_num = g->pics.hidden;
	e->refund_den = g->pics.shown + g->pics.hidden;
	if (e->ok && g->pics.shown + g->pics.hidden == 0) {
		e->ok = false;
		snprintf(e->r.error, sizeof(e->r.error), "the result holds no images");
	}
	char *json = e->keep ? cJSON_PrintUnformatted(e->keep) : NULL;
	int rc = generation_mark_done(&ctx->db, j->id, e->ok, e->r.error, json);
	cJSON_free(json);
	return rc;
}

static cJSON *
test_output(const struct config *c, const struct job *j)
{
	return fal_test_generation_output(c->public_base_url, GJ(j)->num_images, GJ(j)->seed);
}

void
gen_job_bill(const struct config *c, int num_images, struct job_bill *b)
{
	*b = (struct job_bill){.reason = "generation", .price = c->price_generation,
		.units = num_images, .cost_usd = num_images * c->fal_cost_image_usd,
		.per_day = c->generations_per_day};
}

static void
bill(const struct config *c, const struct job *j, struct job_bill *b)
{
	gen_job_bill(c, GJ(j)->num_images, b);
}

const struct fal_job_ops gen_job_ops = {
	.name = "generation",
	.size = sizeof(struct gen_job),
	.max_attempts = 1,
	.timeout = timeout,
	.claim = claim,
	.input = input,
	.store_submitted = store_submitted,
	.unclaim = unclaim,
	.lock = lock,
	.store_end = store_end,
	.claim_inflight = generation_claim_inflight,
	.each_timed_out = generation_each_timed_out,
	.expire_unsent = generation_expire_unsent,
	.test_output = test_output,
	.bill = bill,
	.each_due = generation_each_due,
	.cancel_queued = generation_cancel_queued,
};
