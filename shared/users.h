/*
 * users — the users table: registration on first contact, profile refresh,
 * language, and the "blocked the bot" flag that stops all messages.
 */
#ifndef AISHA_USERS_H
#define AISHA_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "texts.h"
#include "tg_update.h"

struct user {
	int64_t id;
	int64_t telegram_id;
	enum lang lang;
	bool is_blocked;
	bool created; /* this call registered the user */
	bool written; /* this call registered the user or changed their profile */
	int64_t main_avatar_id; /* 0 when none */
};

/* Registers the sender once — with credits_start credits (their ledger
 * entry) and an idle conversation — refreshes the profile, clears
 * "blocked" (a user who writes can be written to).  0 or -1. */
int users_upsert(struct db *db, const struct tg_user *from, int credits_start,
    struct user *out);
/* Reads a user by Telegram id: 1 found, 0 not found, -1 error. */
int users_get(struct db *db, int64_t telegram_id, struct user *out);
int users_set_lang(struct db *db, int64_t user_id, enum lang l);
/* Marks the user as having blocked the bot; 0 or -1 (unknown user is 0). */
int users_mark_blocked(struct db *db, int64_t telegram_id);

#endif
