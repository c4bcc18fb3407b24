/*
 * training — the avatar training lifecycle on FAL, server side.
 *
 *   queued ─claim─▶ submitting ─submit─▶ training ─finish─▶ completed | error
 *
 * training_start() is start-training: one conditional UPDATE claims a queued
 * avatar (only one caller can win, so FAL is paid once per claim), then it
 * downloads the photos from Telegram, publishes them as a zip under an
 * unguessable name, submits the FAL job (or, in test mode, makes up a test-…
 * request that completes by itself) and stores every FAL field.
 *
 * training_finish() is THE completion path, taken by the webhook and by the
 * status poller alike: under the avatar's row lock it stores the result and
 * queues the user's notification in one transaction; whoever comes second
 * finds the avatar no longer training and changes nothing.
 */
#ifndef AISHA_TRAINING_H
#define AISHA_TRAINING_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "fal_api.h"

enum train_outcome {
	TRAIN_STARTED,     /* submitted (or test-mode started) */
	TRAIN_NOT_QUEUED,  /* someone else has it, or it is not waiting */
	TRAIN_UNKNOWN,     /* no such avatar */
	TRAIN_RETRY_LATER, /* FAL or Telegram unavailable: back in the queue */
	TRAIN_FAILED,      /* FAL refused the job (4xx) or gave up: error, user told */
	TRAIN_DB_ERROR,
};

enum train_outcome training_start(struct app_ctx *ctx, int64_t avatar_id);
/* Starts every queued avatar that is due (cron's safety net); returns how
 * many were started. */
int training_start_pending(struct app_ctx *ctx);

enum finish_outcome { FINISH_COMPLETED, FINISH_FAILED, FINISH_DUPLICATE, FINISH_UNKNOWN,
	FINISH_DB_ERROR };

/* The one completion path.  expect_avatar (when not 0) must own the request;
 * full is the whole FAL document to keep (may be NULL), logs the training log
 * (may be NULL). */
enum finish_outcome training_finish(struct app_ctx *ctx, const char *request_id,
    int64_t expect_avatar, const struct fal_result *r, const char *logs, const cJSON *full);

/* Polls every training in flight, finishing those that ended; fills
 * counters into summary.  0 or -1.  (check-status --all: maintenance.c) */
int training_poll_all(struct app_ctx *ctx, cJSON *summary);
/* Refreshes one avatar in flight from FAL (the status route). */
int training_poll_one(struct app_ctx *ctx, int64_t avatar_id);
/* For the startup checker (maintenance.c), each returns a count or -1:
 * claims older than TRAINING_CLAIM_TIMEOUT back to the queue; trainings past
 * FAL_TRAINING_TIMEOUT failed (the person told once); published zips of
 * finished trainings removed. */
int training_requeue_crashed(struct app_ctx *ctx);
int training_expire(struct app_ctx *ctx);
int training_clean_zips(struct app_ctx *ctx);

#endif
