/*
 * bot — what an authentic, parsed update does.
 *
 * bot_process() is the whole life of one update: in one transaction it
 * claims the update_id (a repeat is a no-op), registers or refreshes the
 * user, runs the handler for the update's kind — which changes state and
 * queues replies — and commits; only then are the replies sent, the last one
 * as the webhook answer.  A failure before commit rolls everything back; the
 * result says whether Telegram should deliver the update again.  bot.c only
 * opens, dispatches and closes turns: what each step does lives in the flows
 * (flow_*.c), which talk to the person through turn.h.
 */
#ifndef AISHA_BOT_H
#define AISHA_BOT_H

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "texts.h"
#include "tg_update.h"

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

/* A command the bot answers: the dispatcher and setMyCommands read this
 * one table, in the order Telegram shows them. */
struct turn;
struct bot_command {
	const char *name;               /* without the slash */
	enum text_id desc;              /* its description in the command menu */
	int (*run)(struct turn *t);     /* 0, or -1 on a database error */
};
extern const struct bot_command bot_commands[];
extern const size_t bot_commands_count;

#endif
