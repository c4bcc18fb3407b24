/*
 * turn — one update's turn, as the flows see it: the update, its sender and
 * their conversation (locked for the turn), the replies collected so far,
 * and what to do once the turn's transaction has committed.  The helpers
 * here are the only way a flow talks to the person (texts in their
 * language, a new message, the pressed message edited, a toast, the stale
 * notice, the main menu).  It sits below the flows and bot.c: bot.c opens
 * and commits a turn and dispatches it to a flow; the flows never reach
 * back up into bot.c.
 */
#ifndef AISHA_TURN_H
#define AISHA_TURN_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "conversation.h"
#include "reply.h"
#include "texts.h"
#include "tg_update.h"
#include "users.h"

/* What a handler gets: the update, its user and conversation (locked), and
 * where replies go; and what to do once the transaction has committed. */
struct turn {
	struct app_ctx *ctx;
	const struct tg_update *u;
	struct user user;
	struct conv conv;
	bool loaded;            /* user and conv were read when the turn opened */
	bool claim_late;        /* its update_id is claimed only if it changes something */
	bool noted;             /* noted as answered (recent_updates.h) */
	int profile_writes;     /* of the transaction's writes, the person's row's */
	struct reply out;
	int64_t after_trigger;  /* avatar to start training */
	int64_t after_generate; /* generation job to submit */
	int64_t after_full;     /* image to upload as a full-quality document */
	bool after_check_photos; /* a photo came and no photo checker runs */
};

/* The text id in the user's language. */
const char *turn_text(const struct turn *t, enum text_id id);
/* Shows html (+kb): edits the pressed button's message, else sends anew. */
void turn_show(struct turn *t, const char *html, cJSON *kb);
/* A new message in the user's chat. */
void turn_send(struct turn *t, const char *html, cJSON *kb);
/* Stops the button's spinner, with a short notice when text is not NULL. */
void turn_toast(struct turn *t, const char *text);
/* The "out of date" notice for a button that no longer fits the state. */
void turn_stale(struct turn *t);
/* The main menu as a new message, after a welcome when asked. */
void turn_send_menu(struct turn *t, bool with_welcome);

#endif
