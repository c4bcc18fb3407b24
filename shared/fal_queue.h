/*
 * fal_queue — the FAL queue protocol as every kind of job (a training, a
 * generation) uses it: one way to submit, one way to poll.
 *
 * Submit: POST {FAL_QUEUE_BASE}/{endpoint}?fal_webhook={url} with the
 * input, under one retry policy for every kind — up to FAL_SUBMIT_TRIES
 * tries, 0.5 s then 1 s apart; a transport failure, 408, 429 or 5xx is
 * tried again, any other 4xx refuses the job at once (FAL's detail kept).
 *
 * Poll: the status of many requests at once (libcurl multi), then the
 * result of each one that says COMPLETED, at once too.  COMPLETED is not
 * success: the result decides.  After COMPLETED every answer but 429 is
 * final (FAL has retried already); no answer at all, or a 429, waits for
 * the next pass.  What a result means for the job's rows and the person is the
 * job engine's (fal_job.c): this module only speaks HTTP and classifies.
 */
#ifndef AISHA_FAL_QUEUE_H
#define AISHA_FAL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "fal_api.h"
#include "sbuf.h"

#define FAL_SUBMIT_TRIES 3

enum fal_submit_result {
	FAL_SUBMITTED,   /* sub (and *answer) filled */
	FAL_UNAVAILABLE, /* no usable answer after every try: the job may wait */
	FAL_REFUSED,     /* FAL refused the input: trying again will not help */
};

/* answer (may be NULL) receives FAL's whole submit answer (caller deletes);
 * why (whole characters, safe to store) says what went wrong. */
enum fal_submit_result fal_queue_submit(struct app_ctx *ctx, const char *endpoint,
    const cJSON *input, const char *webhook, struct fal_submitted *sub, cJSON **answer,
    char *why, size_t whylen);

enum fal_poll_state {
	FAL_POLL_NO_ANSWER, /* nothing usable this pass: ask again next time */
	FAL_POLL_RUNNING,   /* IN_QUEUE / IN_PROGRESS: progress and logs are set */
	FAL_POLL_ENDED,     /* COMPLETED and its result fetched: result_status, result */
};

struct fal_poll {
	/* in */
	const char *status_url, *response_url;
	void *user;
	/* out */
	enum fal_poll_state state;
	bool running;        /* IN_PROGRESS: FAL's runner has it (not queued) */
	int progress;        /* 0..100 from the logs, -1 when they say nothing */
	struct sbuf logs;
	long result_status;
	cJSON *result;       /* the result's body (NULL when not JSON) */
};

/* Polls ps[0..n-1] (statuses with ?logs=1 when logs is true). */
void fal_queue_poll(struct app_ctx *ctx, struct fal_poll *ps, size_t n, bool logs);
void fal_queue_poll_free(struct fal_poll *p);
/* Asks FAL to cancel the request whose status URL is given (PUT …/cancel,
 * beside …/status); best effort, logged. */
void fal_queue_cancel(struct app_ctx *ctx, const char *status_url);

#endif
