/*
 * turn_open — what a person's turn reads when it opens, in one statement
 * sent in the batch right after their lock (conversation.h): their user
 * row and whether the profile Telegram sent matches it, their conversation,
 * and whether a turn that changed something claimed this update_id
 * already (updates.h).  PostgreSQL's work for a turn that only answers is
 * mostly per statement: one read instead of three.
 */
#ifndef AISHA_TURN_OPEN_H
#define AISHA_TURN_OPEN_H

#include <stdbool.h>

#include "conversation.h"
#include "db.h"
#include "tg_update.h"
#include "users.h"

struct turn_open {
	bool registered;   /* the user has a row (user filled) */
	bool profile_same; /* ... whose profile is the one Telegram sent */
	bool conv_found;   /* the conversation has a row (conv filled) */
	bool seen;         /* a turn that changed something claimed the update */
	struct user user;
	struct conv conv;
};

/* The read for update u (a person's: u->has_from), as a db_begin_batch()
 * call after the lock. */
void turn_open_call(const struct tg_update *u, struct db_call *c);
/* Its result (cleared); 0, or -1 when the read failed. */
int turn_open_take(struct db_call *c, int64_t telegram_id, struct turn_open *out);

#endif
