/*
 * conversation — where each user is in a flow, kept in PostgreSQL (never in
 * process memory: any worker may take any update).  conv_load() locks the
 * user's row for the rest of the transaction, so the updates of one user —
 * the twelve items of an album arriving at once on different workers — are
 * handled one after another, each seeing what the previous one committed.
 */
#ifndef AISHA_CONVERSATION_H
#define AISHA_CONVERSATION_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

enum conv_state {
	CONV_IDLE,
	CONV_CREATE_NAME,
	CONV_CREATE_GENDER,
	CONV_CREATE_TYPE,
	CONV_CREATE_PHOTOS,
	CONV_CREATE_SUMMARY,
	CONV_GEN_PROMPT,     /* waiting for an own prompt (avatar_id: the avatar) */
	CONV__COUNT
};

struct conv {
	int64_t user_id;
	enum conv_state state;
	int64_t avatar_id; /* 0 when none */
};

/*
 * A user's turns run one at a time: each takes the user's lock (a
 * transaction advisory lock on the Telegram id — it writes nothing, where a
 * row lock would write the row) before it reads the conversation, and
 * holds it to its commit.  The read is a statement of its own, after the
 * lock: it sees what the previous turn committed.
 */
/* Locks, then loads (creating when missing) the user's conversation; 0 / -1. */
int conv_load(struct db *db, int64_t user_id, int64_t telegram_id, struct conv *c);
/* The lock alone, as the first call of a db_begin_batch() (a turn touches
 * nothing of the user before it holds it; turn_open.h reads after it). */
void conv_lock_call(int64_t telegram_id, struct db_call *lock);
/* For a conversation read under the lock: 0 when found is 1, else (0: no
 * row yet) creates it idle; -1 on failure or when found is -1. */
int conv_ensure(struct db *db, struct conv *c, int found);
/* The state named (idle for an unknown name). */
enum conv_state conv_state_parse(const char *name);
/* Moves to state with avatar_id (0: none); 0 / -1. */
int conv_set(struct db *db, struct conv *c, enum conv_state state, int64_t avatar_id);
const char *conv_state_name(enum conv_state s);
/* The own prompt kept in the conversation's data (cleared with NULL). */
int conv_set_prompt(struct db *db, const struct conv *c, const char *prompt);
/* Copies it into out ("" when none); 0 / -1. */
int conv_get_prompt(struct db *db, const struct conv *c, char *out, size_t outlen);
/* True for the states of the create-avatar flow. */
int conv_in_create(const struct conv *c);

#endif
