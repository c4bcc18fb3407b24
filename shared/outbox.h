/*
 * outbox — messages to users that must arrive exactly once: written in the
 * transaction of the state change that causes them (one row per dedupe key,
 * so a repeated webhook cannot queue a second), sent right after commit and
 * retried by cron.  Sending claims a row for a minute (so two senders never
 * send it twice), keeps each chat's messages in order, waits retry_after on
 * 429, stops for good on 403 (the user blocked the bot), backs off on 5xx.
 */
#ifndef AISHA_OUTBOX_H
#define AISHA_OUTBOX_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "app.h"

struct outbox_msg {
	int64_t user_id;
	int64_t chat_id;
	const char *kind;       /* "training_done", … */
	const char *dedupe_key; /* "avatar:42:done" */
	int64_t avatar_id;      /* 0 when none */
	int64_t generation_id;  /* 0 when none */
	const char *method;     /* Bot API method, e.g. "sendMessage" */
	cJSON *params;          /* its parameters; consumed */
	/* generated images in this message: keep the file_ids Telegram gives them
	 * (one for sendPhoto, one per item for sendMediaGroup) */
	const int64_t *image_ids;
	int n_images;
};

/* Queues m in the caller's transaction: 1 queued (*id set), 0 a duplicate
 * of an earlier one, -1 error. */
int outbox_enqueue(struct db *db, struct outbox_msg *m, int64_t *id);
/* Sends what is due: only notification only_id when not 0, else up to limit.
 * Returns how many were sent. */
int outbox_deliver(struct app_ctx *ctx, int64_t only_id, int limit);
/* Drops what was sent or dropped more than 90 days ago (a job or a payment
 * cannot come back after that, so its dedupe key is not needed); how many,
 * or -1. */
int outbox_prune(struct db *db);

#endif
