/*
 * outbox — Bot API calls that must happen exactly once and that no request
 * waits for: written in the transaction of the state change that causes
 * them (one row per dedupe key, so a repeated webhook cannot queue a
 * second), sent by the sender and retried by cron.
 *
 * The sender (`check-status --send`, outbox_serve) is started on demand by
 * outbox_wake() after a commit that queued rows — only when the enqueue saw
 * none running (it holds an advisory lock) — and looks for rows every 20 ms
 * while it runs (no NOTIFY: that would serialize the commits that queue
 * rows); it keeps up to 512 calls in flight on kept-alive connections and
 * exits after a while with nothing to do.  cron's passes are the backstop:
 * when no sender runs they send what is due as the sender, for 10 s at most,
 * and start the on-demand one for the rest — so a sender that never
 * started only delays a message, and one sender at a time keeps the limit.
 *
 * Sending claims a row for a minute (so two senders never send it twice),
 * keeps each chat's messages in order and at about one a second (bursts of
 * three), about 30 messages a second overall, waits retry_after on 429,
 * stops for good on 403 (the user blocked the bot), backs off on 5xx.  A
 * callback query's answer (outbox_answer) goes whenever it is due.
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
 * of an earlier one, -1 error.  After db_defer() the row only goes with the
 * transaction's next round trip: 1 and *id 0 (a duplicate is dropped all
 * the same). */
int outbox_enqueue(struct db *db, struct outbox_msg *m, int64_t *id);
/* outbox_enqueue, after removing the rows of the same kind, avatar and chat
 * that have not gone yet (a progress message: only its latest state goes). */
int outbox_replace(struct db *db, struct outbox_msg *m, int64_t *id);
/* Queues a callback query's answer (method and params, consumed) in the
 * caller's transaction: it names its chat only, and goes whenever due (no
 * place in the chat's order, no dedupe key: its update is deduplicated).
 * 0 or -1. */
int outbox_answer(struct db *db, int64_t chat_id, const char *method, cJSON *params);
/* Sends what is due: only notification only_id when not 0, else up to limit.
 * Returns how many were sent. */
int outbox_deliver(struct app_ctx *ctx, int64_t only_id, int limit);
/* After a commit that queued rows: starts the sender when an enqueue of
 * this process found none running. */
void outbox_wake(struct app_ctx *ctx);
/* The sender: sends as rows come until nothing came for idle_seconds, or
 * (max_seconds > 0) for max_seconds at most — then it starts the on-demand
 * sender when rows are still due.  Returns how many were sent (0 at once
 * when another sender runs: one sender at a time keeps Telegram's limit of
 * about 30 messages a second overall). */
int outbox_serve(struct app_ctx *ctx, int idle_seconds, int max_seconds);
/* Drops what was sent or dropped more than 90 days ago (a job or a payment
 * cannot come back after that, so its dedupe key is not needed); how many,
 * or -1. */
int outbox_prune(struct db *db);

#endif
