/*
 * bot — what an authentic, parsed update does.
 *
 * bot_process() is the whole life of one update: in one transaction it
 * claims the update_id (a repeat is a no-op), registers or refreshes the
 * user, runs the handler for the update's kind — which changes state and
 * queues replies — and commits; only then are the replies sent, the last one
 * as the webhook answer.  A failure before commit rolls everything back and
 * returns -1, so the caller answers 5xx and Telegram delivers it again.
 */
#ifndef AISHA_BOT_H
#define AISHA_BOT_H

#include <cjson/cJSON.h>

#include "app.h"
#include "conversation.h"
#include "reply.h"
#include "texts.h"
#include "tg_update.h"
#include "users.h"

/* What a handler gets: the update, its user and conversation (locked), and
 * where replies go; and what to do once the transaction has committed. */
struct bot_turn {
	struct app_ctx *ctx;
	const struct tg_update *u;
	struct user user;
	struct conv conv;
	bool loaded;            /* user and conv were read when the turn opened */
	struct reply out;
	int64_t after_progress; /* avatar whose photo progress to show */
	int64_t after_trigger;  /* avatar to start training */
	int64_t after_generate; /* generation job to submit */
	int64_t after_full;     /* image to upload as a full-quality document */
};

/* The text id in the user's language. */
const char *bot_text(const struct bot_turn *t, enum text_id id);
/* Shows html (+kb): edits the pressed button's message, else sends anew. */
void bot_show(struct bot_turn *t, const char *html, cJSON *kb);
/* A new message in the user's chat. */
void bot_send(struct bot_turn *t, const char *html, cJSON *kb);
/* Stops the button's spinner, with a short notice when text is not NULL. */
void bot_toast(struct bot_turn *t, const char *text);
/* The "out of date" notice for a button that no longer fits the state. */
void bot_stale(struct bot_turn *t);

/*
 * What became of an update: BOT_DONE (handled or a repeat; *answer is the
 * webhook answer or NULL), BOT_RETRY (a transient failure — the database
 * is down, a serialization failure, a lock timeout: answer 5xx so Telegram
 * delivers it again), or BOT_FAILED (a permanent failure that would fail
 * the same way every time: nothing was changed, *answer is an apology to
 * the person, why says what broke; record it and answer 200).
 */
enum bot_result { BOT_DONE, BOT_RETRY, BOT_FAILED };
enum bot_result bot_process(struct app_ctx *ctx, const struct tg_update *u, cJSON **answer,
    char *why, size_t whylen);

/* The main menu as a new message. */
void bot_send_menu(struct bot_turn *t, bool with_welcome);

#endif
