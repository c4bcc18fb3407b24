#include "conversation.h"

#include <stdio.h>
#include <string.h>

static const char *const conv_names[CONV__COUNT] = {
	[CONV_IDLE] = "idle",
	[CONV_CREATE_NAME] = "create_name",
	[CONV_CREATE_GENDER] = "create_gender",
	[CONV_CREATE_TYPE] = "create_type",
	[CONV_CREATE_PHOTOS] = "create_photos",
	[CONV_CREATE_SUMMARY] = "create_summary",
	[CONV_GEN_PROMPT] = "gen_prompt",
};

#define CONV_LOCK "4250" /* the user's lock: (4250, hashint8(telegram id)) */

static struct db_stmt st_lock_user = DB_STMT("conv_lock_user",
    "SELECT pg_advisory_xact_lock(" CONV_LOCK ", hashint8($1))");
static struct db_stmt st_read = DB_STMT("conv_read",
    "SELECT state, coalesce(avatar_id, 0) FROM conversations WHERE user_id = $1");
/* The row as it is after the statement, in one round trip (a row made
 * meanwhile by a path without the user's lock is returned, not changed). */
static struct db_stmt st_insert = DB_STMT("conv_insert",
    "INSERT INTO conversations (user_id) VALUES ($1)"
    " ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id"
    " RETURNING state, coalesce(avatar_id, 0)");
static struct db_stmt st_set = DB_STMT("conv_set",
    "UPDATE conversations SET state = $2, avatar_id = nullif($3::bigint, 0),"
    " version = version + 1, updated_at = now() WHERE user_id = $1");

static struct db_stmt st_set_prompt = DB_STMT("conv_set_prompt",
    "UPDATE conversations SET data = CASE WHEN $2::text IS NULL THEN data - 'prompt'"
    " ELSE jsonb_set(data, '{prompt}', to_jsonb($2::text)) END WHERE user_id = $1");
static struct db_stmt st_get_prompt = DB_STMT("conv_get_prompt",
    "SELECT coalesce(data->>'prompt', '') FROM conversations WHERE user_id = $1");

int
conv_set_prompt(struct db *db, const struct conv *c, const char *prompt)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, c->user_id);
	db_p_str(&p, prompt);
	return db_exec(db, &st_set_prompt, &p);
}

int
conv_get_prompt(struct db *db, const struct conv *c, char *out, size_t outlen)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, c->user_id);
	PGresult *r = db_run(db, &st_get_prompt, &p);
	if (r == NULL)
		return -1;
	snprintf(out, outlen, "%s", PQntuples(r) ? db_str(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

const char *
conv_state_name(enum conv_state s)
{
	return (unsigned)s < CONV__COUNT ? conv_names[s] : "idle";
}

int
conv_in_create(const struct conv *c)
{
	return c->state >= CONV_CREATE_NAME && c->state <= CONV_CREATE_SUMMARY;
}

enum conv_state
conv_state_parse(const char *name)
{
	for (int i = 0; i < CONV__COUNT; i++)
		if (name != NULL && strcmp(name, conv_names[i]) == 0)
			return (enum conv_state)i;
	return CONV_IDLE;
}

/* Reads a conversation row (under the user's lock): 1, 0 when there was
 * none, -1. */
static int
conv_read(PGresult *r, struct conv *c)
{
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found) {
		c->state = conv_state_parse(db_str(r, 0, 0));
		c->avatar_id = db_i64(r, 0, 1);
	}
	PQclear(r);
	return found;
}

static int
conv_read_row(struct db *db, struct conv *c)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, c->user_id);
	return conv_read(db_run(db, &st_read, &p), c);
}

/* The user has no conversation yet: creates it (idle). */
static int
conv_create(struct db *db, struct conv *c)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, c->user_id);
	return conv_read(db_run(db, &st_insert, &p), c) == 1 ? 0 : -1;
}

int
conv_ensure(struct db *db, struct conv *c, int found)
{
	if (found != 0)
		return found < 0 ? -1 : 0;
	return conv_create(db, c);
}

void
conv_lock_call(int64_t telegram_id, struct db_call *lock)
{
	lock->st = &st_lock_user;
	db_params_init(&lock->p);
	db_p_i64(&lock->p, telegram_id);
	lock->r = NULL;
}

int
conv_load(struct db *db, int64_t user_id, int64_t telegram_id, struct conv *c)
{
	struct db_params p;

	memset(c, 0, sizeof(*c));
	c->user_id = user_id;
	db_params_init(&p);
	db_p_i64(&p, telegram_id);
	if (db_exec(db, &st_lock_user, &p) != 0)
		return -1;
	return conv_ensure(db, c, conv_read_row(db, c));
}

int
conv_set(struct db *db, struct conv *c, enum conv_state state, int64_t avatar_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, c->user_id);
	db_p_str(&p, conv_state_name(state));
	db_p_i64(&p, avatar_id);
	if (db_exec(db, &st_set, &p) != 0)
		return -1;
	c->state = state;
	c->avatar_id = avatar_id;
	return 0;
}
