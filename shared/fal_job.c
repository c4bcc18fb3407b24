/*
 * fal_job — see fal_job.h.  The order inside fal_job_start() matters: the
 * claim is committed with its charge and nothing else (a crash leaves a
 * visible, paid claim for the startup checker), the slow work (prepare,
 * submit) runs outside any transaction, and one conditional UPDATE stores
 * the FAL request.
 */
#include "fal_job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "billing.h"
#include "fal_queue.h"
#include "log.h"
#include "outbox.h"
#include "sbuf.h"
#include "webhook_tokens.h"

#define POLL_BATCH 500
#define TEST_PREFIX "test-"

const char *const fal_finish_names[] = {
	[FAL_FINISH_COMPLETED] = "completed", [FAL_FINISH_FAILED] = "failed",
	[FAL_FINISH_DUPLICATE] = "duplicate", [FAL_FINISH_UNKNOWN] = "unknown_request",
	[FAL_FINISH_REPLAY] = "replay", [FAL_FINISH_DB_ERROR] = "db_error",
};

/* --- how a job ended ----------------------------------------------------------- */

void
fal_end_from_result(struct fal_end *e, long http_status, const cJSON *body)
{
	memset(e, 0, sizeof(*e));
	fal_classify_result(http_status, body, &e->r);
	e->ok = http_status >= 200 && http_status < 300 && cJSON_IsObject(body);
	e->output = body;
	e->keep = body;
	e->from_fal = true;
}

void
fal_end_from_webhook(struct fal_end *e, const char *status, const cJSON *payload,
    const char *error, const char *payload_error)
{
	memset(e, 0, sizeof(*e));
	fal_classify_webhook(status, payload, error, payload_error, &e->r);
	e->ok = status != NULL && strcmp(status, "OK") == 0 && cJSON_IsObject(payload);
	e->output = payload;
	e->from_fal = true;
}

/* The job's messages leave with the sender, not with this request. */
static void
deliver(struct app_ctx *ctx, const struct fal_notes *n)
{
	if (n->n > 0)
		outbox_wake(ctx);
}

/* --- finish: the one completion path ------------------------------------------- */

/* In the transaction that ends the job: all of a failed job's charge back,
 * or the share its kind says of an ok one (pictures blocked as NSFW). */
static int
refund(struct app_ctx *ctx, const struct fal_kind *k, const struct job *j, struct fal_end *e)
{
	struct job_bill b;
	int num = e->ok ? e->refund_num : 1, den = e->ok ? e->refund_den : 1;

	k->ops->bill(&ctx->cfg, j, &b);
	e->refunded = billing_refund(&ctx->db, j, &b, num, den);
	return e->refunded < 0 ? -1 : 0;
}

/* A call that changes nothing ends the transaction that found so; the
 * caller's audit of it goes with the end (a lost summary in a crash of the
 * database loses nothing: the commit does not wait for the disk). */
static enum fal_finish
unchanged(struct app_ctx *ctx, struct fal_end *e, enum fal_finish out)
{
	if (e->audit == NULL) {
		db_rollback(&ctx->db);
		return out;
	}
	if (e->audit(&ctx->db, e->audit_arg, fal_finish_names[out], false) != 0) {
		db_rollback(&ctx->db);
		return FAL_FINISH_DB_ERROR;
	}
	return db_commit_nowait(&ctx->db) == 0 ? out : FAL_FINISH_DB_ERROR;
}

enum fal_finish
fal_job_finish(struct app_ctx *ctx, const struct fal_kind *k, const char *request_id,
    int64_t expect, struct fal_end *e)
{
	const struct fal_job_ops *o = k->ops;
	struct job *j = xcalloc(1, o->size);
	struct fal_notes notes = {0};
	enum fal_finish out = FAL_FINISH_DB_ERROR;

	if (db_begin(&ctx->db) != 0)
		goto out;
	int fresh = 1;
	if (e->claim != NULL) { /* goes with the lock: one round trip */
		db_defer(&ctx->db);
		if (e->claim(&ctx->db, e->claim_arg, &fresh) != 0)
			goto fail;
	}
	int found = o->lock(&ctx->db, request_id, expect, j);
	if (found < 0)
		goto fail;
	if (!fresh) {
		db_rollback(&ctx->db);
		out = FAL_FINISH_REPLAY;
		goto out;
	}
	bool unknown = found == 0 || (expect && j->id != expect);
	if (unknown || !j->in_flight) {
		out = unchanged(ctx, e, unknown ? FAL_FINISH_UNKNOWN : FAL_FINISH_DUPLICATE);
		goto out;
	}
	/* what follows writes: it goes to the database with the COMMIT (or
	 * the next statement that reads), in one round trip */
	db_defer(&ctx->db);
	if (o->store_end(ctx, j, e) != 0 || refund(ctx, k, j, e) != 0 ||
	    k->compose(ctx, j, e, &notes) != 0)
		goto fail;
	enum fal_finish ended = e->ok ? FAL_FINISH_COMPLETED : FAL_FINISH_FAILED;
	if (e->audit != NULL &&
	    e->audit(&ctx->db, e->audit_arg, fal_finish_names[ended], true) != 0)
		goto fail;
	/* FAL keeps its result: lost in a crash, the job is still in flight
	 * and the status pass fetches it again — unless we never stored where
	 * to ask (a request adopted from its result) */
	bool again = e->from_fal && !j->adopted;
	if ((again ? db_commit_nowait(&ctx->db) : db_commit(&ctx->db)) != 0)
		goto out;
	out = ended;
	log_info("%s %" PRId64 ": %s (request %s)", o->name, j->id, fal_finish_names[out],
	    request_id);
	deliver(ctx, &notes);
	goto out;
fail:
	db_rollback(&ctx->db);
out:
	free(j);
	return out;
}

/* Test mode: the kind's placeholder result, as FAL would have given it. */
static enum fal_finish
finish_test(struct app_ctx *ctx, const struct fal_kind *k, const struct job *j)
{
	struct fal_end e;
	cJSON *out = k->ops->test_output(&ctx->cfg, j);

	fal_end_from_result(&e, 200, out);
	e.logs = "test mode: no FAL call was made";
	enum fal_finish f = fal_job_finish(ctx, k, j->request_id, j->id, &e);
	cJSON_Delete(out);
	return f;
}

/* Test mode: how long a job of this kind runs. */
static int
test_seconds(const struct app_ctx *ctx, const struct fal_kind *k)
{
	return k->ops->test_seconds ? k->ops->test_seconds(&ctx->cfg) : 0;
}

/* --- start ------------------------------------------------------------------------ */

static int
backoff(int attempts)
{
	int s = 30;

	for (int i = 1; i < attempts && s < 1800; i++)
		s *= 2;
	return s;
}

/* In the open transaction, which it ends: a job that will not run now.
 * unclaim_why: the claim is failed with it and its charge given back (NULL:
 * the job stays as it is).  Then the person is told, after commit. */
static int
conclude(struct app_ctx *ctx, const struct fal_kind *k, struct job *j, struct fal_end *e,
    const char *unclaim_why)
{
	struct fal_notes notes = {0};
	int rc = 0;

	if (unclaim_why != NULL)
		rc = k->ops->unclaim(&ctx->db, j, unclaim_why, -1);
	if (rc == 0 && unclaim_why != NULL)
		rc = refund(ctx, k, j, e);
	if (rc == 0)
		rc = k->compose(ctx, j, e, &notes);
	if (rc == 0)
		rc = db_commit(&ctx->db);
	else
		db_rollback(&ctx->db);
	if (rc == 0)
		deliver(ctx, &notes);
	return rc;
}

/* Back to the queue for a later try while attempts are left; else the job
 * fails and the person is told, in one transaction. */
static enum fal_start
not_started(struct app_ctx *ctx, const struct fal_kind *k, struct job *j, enum fal_step st,
    const char *why)
{
	const struct fal_job_ops *o = k->ops;
	struct fal_end e;

	if (st == FAL_STEP_RETRY && j->attempts < o->max_attempts) {
		int secs = backoff(j->attempts);
		log_warn("back to the queue for %d s: %s", secs, why);
		return o->unclaim(&ctx->db, j, why, secs) == 0 ? FAL_START_RETRY_LATER :
		    FAL_START_DB_ERROR;
	}
	memset(&e, 0, sizeof(e));
	e.how = st == FAL_STEP_RETRY ? FAL_END_UNAVAILABLE : FAL_END_REFUSED;
	snprintf(e.r.error, sizeof(e.r.error), "%s", why);
	log_error("%s %" PRId64 " not started: %s", o->name, j->id, why);
	if (db_begin(&ctx->db) != 0 || conclude(ctx, k, j, &e, why) != 0)
		return FAL_START_DB_ERROR;
	return FAL_START_FAILED;
}

/* The URL FAL calls when the job ends: a fresh random token for this job
 * goes to FAL (hook); what we keep (shown) is the URL without it. */
static int
webhook_url(struct app_ctx *ctx, const char *name, int64_t id, struct sbuf *hook,
    struct sbuf *shown)
{
	char token[WEBHOOK_TOKEN_LEN + 1];

	sbuf_addf(shown, "%s/fal/webhook?%s=%" PRId64, ctx->cfg.public_base_url, name, id);
	if (ctx->cfg.fal_test_mode) /* nobody calls back */
		return 0;
	if (webhook_token_issue(&ctx->db, ctx->cfg.fal_webhook_secret, name, id, token) != 0)
		return -1;
	sbuf_addf(hook, "%s&token=%s", shown->p, token);
	sodium_memzero(token, sizeof(token));
	return 0;
}

/* Submits the job — or, in test mode, makes up a request. */
static enum fal_step
submit(struct app_ctx *ctx, struct job *j, const cJSON *in, const char *hook,
    struct fal_submitted *sub, cJSON **answer, char *why, size_t whylen)
{
	memset(sub, 0, sizeof(*sub));
	if (ctx->cfg.fal_test_mode) {
		char rnd[32];
		auth_random_b64(rnd, sizeof(rnd), 12);
		snprintf(sub->request_id, sizeof(sub->request_id), TEST_PREFIX "%s", rnd);
		*answer = cJSON_CreateObject();
		cJSON_AddStringToObject(*answer, "request_id", sub->request_id);
		cJSON_AddStringToObject(*answer, "mode", "test");
		return FAL_STEP_OK;
	}
	enum fal_submit_result fr = fal_queue_submit(ctx, j->endpoint, in, hook, sub, answer, why,
	    whylen);
	return fr == FAL_SUBMITTED ? FAL_STEP_OK : fr == FAL_REFUSED ? FAL_STEP_FAIL :
	    FAL_STEP_RETRY;
}

/* The start shown (queued) as a part of the store's transaction that may
 * fail alone: a message is not worth the job.  1 queued, 0 not. */
static int
show_started(struct app_ctx *ctx, const struct fal_kind *k, struct job *j)
{
	if (k->show == NULL || db_savepoint(&ctx->db) != 0)
		return 0;
	int queued = k->show(ctx, j, FAL_SHOW_STARTED, 0);
	if (queued >= 0)
		return queued > 0;
	log_warn("%s %" PRId64 ": its start not shown (%s)", k->ops->name, j->id,
	    ctx->db.sqlstate);
	return db_undo_part(&ctx->db) == 0 ? 0 : -1;
}

/* FAL has the job: it is stored, and its start shown (queued), in one
 * transaction — an end that comes meanwhile waits for it and queues its
 * own message after.  0 or -1 (nothing stored). */
static int
store_started(struct app_ctx *ctx, const struct fal_kind *k, struct job *j,
    const struct fal_submitted *sub, const char *webhook, const cJSON *in, const cJSON *answer)
{
	if (db_begin(&ctx->db) != 0)
		return -1;
	if (k->ops->store_submitted(&ctx->db, j, sub, webhook, in, answer) != 0) {
		db_rollback(&ctx->db);
		return -1;
	}
	snprintf(j->request_id, sizeof(j->request_id), "%s", sub->request_id);
	int queued = show_started(ctx, k, j);
	if (db_commit(&ctx->db) != 0)
		return -1;
	if (queued > 0)
		outbox_wake(ctx);
	return 0;
}

/* The slow part: prepare, build the input, submit, store. */
static enum fal_start
run(struct app_ctx *ctx, const struct fal_kind *k, struct job *j)
{
	const struct fal_job_ops *o = k->ops;
	struct sbuf hook = SBUF_INIT, shown = SBUF_INIT;
	struct fal_submitted sub;
	cJSON *in = NULL, *answer = NULL;
	char why[700] = "";
	enum fal_step st = o->prepare ? o->prepare(ctx, j, why, sizeof(why)) : FAL_STEP_OK;
	enum fal_start out;

	if (st == FAL_STEP_OK && (in = o->input(ctx, j)) == NULL) {
		snprintf(why, sizeof(why), "database");
		st = FAL_STEP_RETRY;
	}
	if (st == FAL_STEP_OK && webhook_url(ctx, o->name, j->id, &hook, &shown) != 0) {
		snprintf(why, sizeof(why), "database");
		st = FAL_STEP_RETRY;
	}
	if (st == FAL_STEP_OK)
		st = submit(ctx, j, in, hook.p, &sub, &answer, why, sizeof(why));
	if (st != FAL_STEP_OK) {
		out = not_started(ctx, k, j, st, why);
	} else if (store_started(ctx, k, j, &sub, shown.p, in, answer) != 0) {
		/* FAL has the job; the webhook or the poller will find it by
		 * request id only if it was stored — say so loudly. */
		log_error("FAL request %s submitted but not stored", sub.request_id);
		out = FAL_START_DB_ERROR;
	} else {
		log_info("started: request %s at %s", sub.request_id, j->endpoint);
		out = FAL_START_STARTED;
	}
	cJSON_Delete(in);
	cJSON_Delete(answer);
	sbuf_free(&hook);
	sbuf_free(&shown);
	return out;
}

/* In the claim's transaction, which it ends: a job that cannot pay now.
 * Over the budget it stays queued (the claim undone) and the person hears
 * it will start later; short of credits or over the daily limit it fails
 * and the person hears why. */
static enum fal_start
unpaid(struct app_ctx *ctx, const struct fal_kind *k, struct job *j, enum bill_verdict v,
    const struct job_bill *b, int balance)
{
	struct fal_end e = {.how = FAL_END_UNPAID, .bill = v, .balance = balance,
		.price = b->price, .per_day = b->per_day};

	if (v == BILL_ERROR || v == BILL_BUDGET) {
		db_rollback(&ctx->db);
		if (v == BILL_ERROR)
			return FAL_START_DB_ERROR;
		e.how = FAL_END_DEFERRED;
		return db_begin(&ctx->db) == 0 && conclude(ctx, k, j, &e, NULL) == 0 ?
		    FAL_START_DEFERRED : FAL_START_DB_ERROR;
	}
	snprintf(e.r.error, sizeof(e.r.error), "%s", v == BILL_SHORT ? "not enough credits" :
	    "the daily limit is reached");
	log_warn("%s %" PRId64 " not started: %s", k->ops->name, j->id, e.r.error);
	return conclude(ctx, k, j, &e, e.r.error) == 0 ? FAL_START_FAILED : FAL_START_DB_ERROR;
}

/* One transaction: the claim (1 won, 0 not, -1 error) and its charge. */
static int
claim_and_charge(struct app_ctx *ctx, const struct fal_kind *k, int64_t id, struct job *j,
    enum fal_start *out)
{
	struct job_bill b;
	int balance;

	if (db_begin(&ctx->db) != 0)
		return -1;
	int won = k->ops->claim(ctx, id, j);
	if (won <= 0) {
		db_rollback(&ctx->db);
		return won;
	}
	log_set_ctx("req=%s %s=%" PRId64, ctx->req_id, k->ops->name, id);
	k->ops->bill(&ctx->cfg, j, &b);
	enum bill_verdict v = billing_charge(ctx, j, &b, &balance);
	if (v != BILL_PAID) {
		*out = unpaid(ctx, k, j, v, &b, balance);
		return 0;
	}
	return db_commit(&ctx->db) == 0 ? 1 : -1;
}

enum fal_start
fal_job_start(struct app_ctx *ctx, const struct fal_kind *k, int64_t id)
{
	struct job *j = xcalloc(1, k->ops->size);
	enum fal_start out = FAL_START_NOT_CLAIMED;

	int won = claim_and_charge(ctx, k, id, j, &out);
	if (won < 0)
		out = FAL_START_DB_ERROR;
	if (won <= 0)
		goto done;
	log_info("claimed (attempt %d, %s)", j->attempts,
	    ctx->cfg.fal_test_mode ? "test mode" : "live");
	out = run(ctx, k, j);
	if (out == FAL_START_STARTED && ctx->cfg.fal_test_mode && test_seconds(ctx, k) == 0)
		(void)finish_test(ctx, k, j);
done:
	free(j);
	return out;
}

struct starter {
	struct app_ctx *ctx;
	const struct fal_kind *k;
};

static int
start_one(void *ud, int64_t id)
{
	struct starter *s = ud;

	return fal_job_start(s->ctx, s->k, id) == FAL_START_STARTED;
}

int
fal_job_start_due(struct app_ctx *ctx, const struct fal_kind *k, int older_than)
{
	struct starter s = {ctx, k};
	int n = k->ops->each_due(&ctx->db, older_than, start_one, &s);

	log_clear_ctx();
	return n;
}

/* --- polling ------------------------------------------------------------------------ */

static struct job *
row_at(const struct fal_job_ops *o, void *rows, int i)
{
	return (struct job *)((char *)rows + (size_t)i * o->size);
}

/*
 * Running jobs' progress is kept in transactions of PROGRESS_CHUNK jobs,
 * one round trip each, whose commit does not wait for the disk: lost in a
 * crash, it is what the next poll asks FAL again.  A chunk's statements go
 * out together (db_defer); at most three a job stay under DB_MAX_SENT.
 */
#define PROGRESS_CHUNK 12

struct progress_tx {
	struct app_ctx *ctx;
	int jobs;    /* in the open transaction */
	bool queued; /* a progress message queued: wake the sender */
};

static void
progress_commit(struct progress_tx *t)
{
	if (t->jobs == 0)
		return;
	if (db_commit_nowait(&t->ctx->db) != 0)
		log_warn("progress of %d jobs not kept (next poll)", t->jobs);
	t->jobs = 0;
}

/* Keeps a running job's progress; queues its message when the kind says
 * it is time. */
static void
progress(struct progress_tx *t, const struct fal_kind *k, struct job *j, int pct,
    const char *logs, bool running)
{
	if (k->ops->record_progress == NULL)
		return;
	if (t->jobs == 0) {
		if (db_begin(&t->ctx->db) != 0)
			return;
		db_defer(&t->ctx->db);
	}
	if (k->ops->record_progress(t->ctx, j, logs, pct < 0 ? 0 : pct, running) > 0 && k->show)
		t->queued |= k->show(t->ctx, j, FAL_SHOW_PROGRESS, pct) > 0;
	if (++t->jobs == PROGRESS_CHUNK)
		progress_commit(t);
}

static void
count(struct fal_poll_counts *c, enum fal_finish f)
{
	c->completed += f == FAL_FINISH_COMPLETED;
	c->failed += f == FAL_FINISH_FAILED;
}

/* Test mode: running until the kind's test time is over. */
static void
poll_test(struct progress_tx *t, const struct fal_kind *k, struct job *j,
    struct fal_poll_counts *c)
{
	int dur = test_seconds(t->ctx, k);

	if (j->elapsed < dur) {
		progress(t, k, j, j->elapsed * 100 / dur, "", true);
	} else {
		progress_commit(t);
		count(c, finish_test(t->ctx, k, j));
	}
}

static void
poll_ended(struct app_ctx *ctx, const struct fal_kind *k, const struct fal_poll *p,
    struct fal_poll_counts *c)
{
	const struct job *j = p->user;
	struct fal_end e;

	fal_end_from_result(&e, p->result_status, p->result);
	e.logs = sbuf_str(&p->logs);
	count(c, fal_job_finish(ctx, k, j->request_id, 0, &e));
}

static int
poll_batch(struct app_ctx *ctx, const struct fal_kind *k, int64_t only_id, int64_t since,
    struct fal_poll_counts *c)
{
	const struct fal_job_ops *o = k->ops;
	void *rows = NULL;
	int n = o->claim_inflight(&ctx->db, POLL_BATCH, only_id, since, &rows);
	if (n < 0)
		return -1;
	struct fal_poll *fp = xcalloc((size_t)(n ? n : 1), sizeof(*fp));
	struct progress_tx t = {.ctx = ctx};
	size_t nf = 0;
	for (int i = 0; i < n; i++) {
		struct job *j = row_at(o, rows, i);
		if (strncmp(j->request_id, TEST_PREFIX, strlen(TEST_PREFIX)) == 0)
			poll_test(&t, k, j, c);
		else if (j->status_url[0] != '\0')
			fp[nf++] = (struct fal_poll){.status_url = j->status_url,
			    .response_url = j->response_url, .user = j};
	}
	progress_commit(&t);
	fal_queue_poll(ctx, fp, nf, o->record_progress != NULL);
	for (size_t i = 0; i < nf; i++) {
		if (fp[i].state == FAL_POLL_RUNNING) {
			progress(&t, k, fp[i].user, fp[i].progress, sbuf_str(&fp[i].logs),
			    fp[i].running);
		} else if (fp[i].state == FAL_POLL_ENDED) {
			progress_commit(&t);
			poll_ended(ctx, k, &fp[i], c);
		}
		fal_queue_poll_free(&fp[i]);
	}
	progress_commit(&t);
	if (t.queued)
		outbox_wake(ctx);
	free(fp);
	free(rows);
	return n;
}

int
fal_job_poll_all(struct app_ctx *ctx, const struct fal_kind *k, int64_t only_id,
    struct fal_poll_counts *c)
{
	int64_t since = (int64_t)time(NULL); /* each job once in this pass */
	int n;

	memset(c, 0, sizeof(*c));
	while ((n = poll_batch(ctx, k, only_id, since, c)) > 0) {
		c->checked += n;
		if (only_id)
			break;
	}
	if (c->checked)
		log_info("%s jobs polled: %d checked, %d completed, %d failed", k->ops->name,
		    c->checked, c->completed, c->failed);
	return n < 0 ? -1 : 0;
}

/* --- the operator's cancel ----------------------------------------------------------- */

#define CANCELLED "cancelled by the operator"

static enum fal_cancel
cancel_queued(struct app_ctx *ctx, const struct fal_kind *k, int64_t id)
{
	struct job *j = xcalloc(1, k->ops->size);
	struct fal_notes notes = {0};
	struct fal_end e = {.how = FAL_END_RESULT};
	enum fal_cancel out = FAL_CANCEL_DB_ERROR;

	snprintf(e.r.error, sizeof(e.r.error), CANCELLED);
	if (db_begin(&ctx->db) != 0)
		goto out;
	int n = k->ops->cancel_queued(&ctx->db, id, CANCELLED, j);
	if (n <= 0 || refund(ctx, k, j, &e) != 0 || k->compose(ctx, j, &e, &notes) != 0) {
		db_rollback(&ctx->db);
		out = n == 0 ? FAL_CANCEL_NOT_NOW : FAL_CANCEL_DB_ERROR;
		goto out;
	}
	if (db_commit(&ctx->db) == 0) {
		out = FAL_CANCEL_DONE;
		log_info("%s %" PRId64 ": cancelled while queued", k->ops->name, id);
		deliver(ctx, &notes);
	}
out:
	free(j);
	return out;
}

enum fal_cancel
fal_job_cancel(struct app_ctx *ctx, const struct fal_kind *k, int64_t id)
{
	void *rows = NULL;
	enum fal_cancel out = cancel_queued(ctx, k, id);

	if (out != FAL_CANCEL_NOT_NOW)
		return out;
	int n = k->ops->claim_inflight(&ctx->db, 1, id, (int64_t)time(NULL), &rows);
	if (n < 0)
		return FAL_CANCEL_DB_ERROR;
	if (n == 1) {
		struct job *j = rows;
		struct fal_end e = {.how = FAL_END_RESULT};
		snprintf(e.r.error, sizeof(e.r.error), CANCELLED);
		/* FAL is asked to drop it; a result that still comes finds it ended */
		if (strncmp(j->request_id, TEST_PREFIX, strlen(TEST_PREFIX)) != 0)
			fal_queue_cancel(ctx, j->status_url);
		enum fal_finish f = fal_job_finish(ctx, k, j->request_id, id, &e);
		out = f == FAL_FINISH_FAILED ? FAL_CANCEL_DONE :
		    f == FAL_FINISH_DB_ERROR ? FAL_CANCEL_DB_ERROR : FAL_CANCEL_NOT_NOW;
	}
	free(rows);
	return out;
}

/* --- timeouts ------------------------------------------------------------------------ */

struct expiry {
	struct app_ctx *ctx;
	const struct fal_kind *k;
	struct fal_end e;
	int done, unsent;
};

static void
expire_running(void *ud, const char *request_id)
{
	struct expiry *x = ud;
	struct fal_end e = x->e;

	log_warn("%s request %s: no result in time; failed", x->k->ops->name, request_id);
	x->done += fal_job_finish(x->ctx, x->k, request_id, 0, &e) == FAL_FINISH_FAILED;
}

static int
expire_unsent(void *ud, struct job *j)
{
	struct expiry *x = ud;
	struct fal_end e = x->e;
	struct fal_notes notes = {0}; /* sent by fal_job_expire() after commit */

	log_warn("%s %" PRId64 ": never submitted; timed out", x->k->ops->name, j->id);
	if (refund(x->ctx, x->k, j, &e) != 0 || x->k->compose(x->ctx, j, &e, &notes) != 0)
		return -1;
	x->done++;
	x->unsent++;
	return 0;
}

/* The jobs never submitted, in one transaction: failed, each person told. */
static int
expire_all_unsent(struct expiry *x, int secs)
{
	struct app_ctx *ctx = x->ctx;

	if (db_begin(&ctx->db) != 0)
		return -1;
	if (x->k->ops->expire_unsent(&ctx->db, secs, x->e.r.error, expire_unsent, x) < 0 ||
	    db_commit(&ctx->db) != 0) {
		db_rollback(&ctx->db);
		return -1;
	}
	return 0;
}

int
fal_job_expire(struct app_ctx *ctx, const struct fal_kind *k)
{
	const struct fal_job_ops *o = k->ops;
	int secs = o->timeout(&ctx->cfg);
	struct expiry x = {.ctx = ctx, .k = k};

	x.e.how = FAL_END_TIMED_OUT;
	x.e.r.timed_out = true;
	snprintf(x.e.r.error, sizeof(x.e.r.error), "timed out after %d s", secs);
	if (o->each_timed_out(&ctx->db, secs, expire_running, &x) < 0)
		return -1;
	if (o->expire_unsent != NULL && expire_all_unsent(&x, secs) != 0)
		return -1;
	if (x.unsent > 0) /* their notices, queued in that transaction */
		outbox_deliver(ctx, 0, 1000);
	return x.done;
}
