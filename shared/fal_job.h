/*
 * fal_job — the one engine for "a FAL job", whatever its kind:
 *
 *   claim + charge ─▶ prepare ─▶ submit (one retry policy) ─▶ store ─▶ poll
 *   ─▶ finish (+ refund when it failed) ─▶ outbox
 *
 * It owns the order of the steps and their exactly-once rules: a job is
 * claimed by one conditional UPDATE (only one caller can win, so FAL is paid
 * once per claim) and charged in the same transaction (billing.h: a claim
 * that cannot pay is not a claim), the slow work runs outside any
 * transaction, the FAL
 * request is stored by a conditional UPDATE, and ONE finish path — taken by
 * the webhook, the poller, the timeout and test mode alike — stores the
 * result and queues what the person is told in one transaction; whoever
 * comes second finds the job no longer in flight and changes nothing.
 * Test mode is a mode of the engine: no FAL call, a made-up request that
 * ends after the kind's test time with the kind's placeholder result,
 * through the same finish path.
 *
 * What differs between kinds is a descriptor: the kind's table operations
 * and FAL input (struct fal_job_ops: training.c, generations.c) and what the
 * person is told (compose / show: the flow layer, jobs.c).
 */
#ifndef AISHA_FAL_JOB_H
#define AISHA_FAL_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "billing.h"
#include "fal_api.h"
#include "job.h"

/* How a job ended (or why it never started). */
enum fal_end_how {
	FAL_END_RESULT,      /* FAL's result (or the webhook's) */
	FAL_END_TIMED_OUT,   /* no result in the kind's time */
	FAL_END_REFUSED,     /* never started: FAL refused it, or it cannot be built */
	FAL_END_UNAVAILABLE, /* never started: FAL unavailable past the attempts */
	FAL_END_UNPAID,      /* never started: not enough credits, or the daily limit */
	FAL_END_DEFERRED,    /* not started yet: today's FAL budget is spent; it waits */
};

struct fal_end {
	enum fal_end_how how;
	bool ok;              /* success; a kind's store may turn it into a failure */
	struct fal_result r;  /* r.error when not ok; a training's weights */
	const cJSON *output;  /* the result document (NULL when none) */
	const cJSON *keep;    /* the document to keep with the job (may be NULL) */
	const char *logs;     /* may be NULL */
	int refund_num, refund_den; /* a kind's store: give back this share of an ok job */
	/* the engine's, for what the person is told */
	int refunded;         /* credits given back by this end */
	enum bill_verdict bill; /* UNPAID: why */
	int balance, price;   /* UNPAID: the person's balance, the job's price */
	int per_day;          /* UNPAID: the person's daily limit of the kind */
	/* FAL's own result (a webhook, a poll), which FAL keeps: the job's end
	 * need not wait for the disk.  An end we decide (a cancel, a timeout)
	 * is committed durably. */
	bool from_fal;
	/* the caller's audit of the end, written in the transaction that ends
	 * the job (one commit for both), or, when the call changed nothing
	 * (changed false), in the transaction that found so */
	int (*audit)(struct db *db, void *arg, const char *outcome, bool changed);
	void *audit_arg;
	/* the caller's claim of this delivery (a webhook's signature), sent
	 * first in the transaction, with the job's lock: *fresh 0 (a replay)
	 * ends it with nothing done (FAL_FINISH_REPLAY) */
	int (*claim)(struct db *db, void *arg, int *fresh);
	void *claim_arg;
};

/* The result of an HTTP fetch (status + body), or of a webhook. */
void fal_end_from_result(struct fal_end *e, long http_status, const cJSON *body);
void fal_end_from_webhook(struct fal_end *e, const char *status, const cJSON *payload,
    const char *error, const char *payload_error);

/* The messages one step queued in its transaction, delivered after commit. */
#define FAL_NOTES_MAX 8
struct fal_notes {
	int64_t ids[FAL_NOTES_MAX];
	int n;
};

enum fal_step { FAL_STEP_OK, FAL_STEP_RETRY, FAL_STEP_FAIL };

/* A kind's table operations and FAL input.  Each takes the kind's own row,
 * which begins with a struct job. */
struct fal_job_ops {
	const char *name;     /* "avatar" / "generation": the webhook's query key */
	size_t size;          /* sizeof the kind's row */
	int max_attempts;     /* claims per queueing while FAL is unavailable */
	int (*test_seconds)(const struct config *c); /* test mode: how long (NULL: at once) */
	int (*timeout)(const struct config *c);      /* in flight longer: failed */
	/* queued → claimed for one caller: 1 won, 0 not, -1 error */
	int (*claim)(struct app_ctx *ctx, int64_t id, struct job *j);
	/* the slow work before the submit (may be NULL); why when not OK */
	enum fal_step (*prepare)(struct app_ctx *ctx, struct job *j, char *why, size_t whylen);
	/* the FAL input; sets j->endpoint.  NULL: try again later */
	cJSON *(*input)(struct app_ctx *ctx, struct job *j);
	/* claimed → in flight with the FAL request.  0 or -1 */
	int (*store_submitted)(struct db *db, struct job *j, const struct fal_submitted *sub,
	    const char *webhook, const cJSON *input, const cJSON *answer);
	/* claimed → queued again in retry_in seconds, or (retry_in < 0) failed */
	int (*unclaim)(struct db *db, struct job *j, const char *why, int retry_in);
	/* In the caller's transaction: locks the job of request_id (expect, whose
	 * webhook token vouched for it, may adopt it): 1 found, 0 none, -1 */
	int (*lock)(struct db *db, const char *request_id, int64_t expect, struct job *j);
	/* in flight → completed / error with e (may turn e->ok false).  0 or -1 */
	int (*store_end)(struct app_ctx *ctx, struct job *j, struct fal_end *e);
	/* Claims up to limit jobs due for a status check and not checked since
	 * `since` (the pass's start, epoch seconds: a pass that outlasts the
	 * check interval does not go round again) — only_id: that one; *rows
	 * (caller frees) holds them.  The count or -1 */
	int (*claim_inflight)(struct db *db, int limit, int64_t only_id, int64_t since,
	    void **rows);
	/* In the poller's transaction (its statements sent with the next
	 * round trip): keeps progress (may be NULL); running: FAL says
	 * IN_PROGRESS (not waiting in its queue).  1 when the person should
	 * see it now (the job still running, its message edited just now) */
	int (*record_progress)(struct app_ctx *ctx, struct job *j, const char *logs, int progress,
	    bool running);
	/* fn for each request in flight longer than secs.  The count or -1 */
	int (*each_timed_out)(struct db *db, int secs, void (*fn)(void *ud, const char *request_id),
	    void *ud);
	/* In the caller's transaction: fails the jobs claimed or queued longer
	 * than secs and never submitted (may be NULL), fn for each.  Count or -1 */
	int (*expire_unsent)(struct db *db, int secs, const char *why,
	    int (*fn)(void *ud, struct job *j), void *ud);
	/* test mode: the result a real job would have given */
	cJSON *(*test_output)(const struct config *c, const struct job *j);
	/* what the job costs (billing.h) */
	void (*bill)(const struct config *c, const struct job *j, struct job_bill *b);
	/* fn for each queued job whose start is due (a lost trigger, a job that
	 * waited for the budget, a give-back whose time has come); the number
	 * for which fn returned > 0, or -1 */
	int (*each_due)(struct db *db, int older_than, int (*fn)(void *ud, int64_t id), void *ud);
	/* In the caller's transaction: a queued job (not claimed) failed with
	 * why; 1 with *j, 0 when it is not queued, -1 */
	int (*cancel_queued)(struct db *db, int64_t id, const char *why, struct job *j);
};

enum fal_moment { FAL_SHOW_STARTED, FAL_SHOW_PROGRESS };

struct fal_kind {
	const struct fal_job_ops *ops;
	/* In the job's transaction: queues what the person is told about e. */
	int (*compose)(struct app_ctx *ctx, const struct job *j, const struct fal_end *e,
	    struct fal_notes *notes);
	/* (may be NULL) Queues the job's progress message in the caller's
	 * transaction — the one that stores it submitted (FAL_SHOW_STARTED),
	 * the poller's (FAL_SHOW_PROGRESS).  1 when a message was queued (the
	 * sender is woken after the commit), 0 when none was, -1 when the
	 * outbox failed (the transaction then fails, unless a savepoint
	 * before it is undone: db_undo_part). */
	int (*show)(struct app_ctx *ctx, const struct job *j, enum fal_moment m, int progress);
};

enum fal_start {
	FAL_START_STARTED,     /* submitted (or test-mode started) */
	FAL_START_NOT_CLAIMED, /* not waiting, not due, or someone else has it */
	FAL_START_RETRY_LATER, /* FAL or Telegram unavailable: back in the queue */
	FAL_START_FAILED,      /* refused, unpaid, or unavailable past the attempts: person told */
	FAL_START_DEFERRED,    /* today's FAL budget is spent: it waits, person told once */
	FAL_START_DB_ERROR,
};
enum fal_start fal_job_start(struct app_ctx *ctx, const struct fal_kind *k, int64_t id);
/* Starts the kind's due jobs queued more than older_than seconds ago (cron's
 * safety net); how many started, or -1. */
int fal_job_start_due(struct app_ctx *ctx, const struct fal_kind *k, int older_than);

enum fal_finish { FAL_FINISH_COMPLETED, FAL_FINISH_FAILED, FAL_FINISH_DUPLICATE,
	FAL_FINISH_UNKNOWN, FAL_FINISH_REPLAY, FAL_FINISH_DB_ERROR };
extern const char *const fal_finish_names[];
/* The one finish path.  expect (when not 0) must own the request. */
enum fal_finish fal_job_finish(struct app_ctx *ctx, const struct fal_kind *k,
    const char *request_id, int64_t expect, struct fal_end *e);

enum fal_cancel {
	FAL_CANCEL_DONE,     /* failed "cancelled by the operator", refunded, person told */
	FAL_CANCEL_NOT_NOW,  /* not queued or in flight (being submitted, or ended) */
	FAL_CANCEL_DB_ERROR,
};
/* The operator's cancel: a queued job, or one in flight at FAL (which is
 * asked to cancel it too), ends through the one finish path. */
enum fal_cancel fal_job_cancel(struct app_ctx *ctx, const struct fal_kind *k, int64_t id);

struct fal_poll_counts {
	int checked, completed, failed;
};
/* Polls the jobs in flight (only_id: that one, now), finishing those that
 * ended.  0 or -1. */
int fal_job_poll_all(struct app_ctx *ctx, const struct fal_kind *k, int64_t only_id,
    struct fal_poll_counts *c);
/* Fails the jobs past the kind's timeout (in flight or never submitted),
 * telling each person once.  The count or -1. */
int fal_job_expire(struct app_ctx *ctx, const struct fal_kind *k);

#endif
