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
#include "reply.h"
#include "tg_update.h"
#include "users.h"

/* What a handler gets: the update, its user, and where replies go. */
struct bot_turn {
	struct app_ctx *ctx;
	const struct tg_update *u;
	struct user user;
	struct reply out;
};

/* 0 with *answer set (or NULL when nothing to say), -1 on a database error. */
int bot_process(struct app_ctx *ctx, const struct tg_update *u, cJSON **answer);

/* The main menu as a new message. */
void bot_send_menu(struct bot_turn *t, bool with_welcome);

#endif
