#include "users.h"

#include <string.h>

/* A known user whose profile has not changed is only read: no insert is
 * tried, so no row is locked or written (most turns); a changed one is
 * updated.  Someone new is registered in the same statement: their row
 * with the start credits as its balance, the ledger's entry of those
 * credits (reason 'start', reference 'user:ID': credit_entries' rule of
 * one entry per reason and reference), and their idle conversation — one
 * round trip where it was three.  A user registered by a concurrent update
 * after this statement's snapshot: no row (users_upsert_take says try
 * again). */
#define USER_PROFILE_IS(a) \
    "(" a ".username, " a ".first_name, " a ".last_name, " a ".language_code, " a ".is_blocked)"
static struct db_stmt st_upsert = DB_STMT("users_upsert",
    "WITH cur AS (SELECT id, lang, main_avatar_id, username, first_name, last_name,"
    "  language_code, is_blocked FROM users WHERE telegram_id = $1),"
    " up AS (INSERT INTO users (telegram_id, username, first_name, last_name,"
    "  language_code, lang, balance) SELECT $1::bigint, $2::text,"
    "  coalesce(left($3::text, 256), ''), left($4::text, 256), $5::text, $6::text, $7::int"
    "  WHERE NOT EXISTS (SELECT 1 FROM cur WHERE " USER_PROFILE_IS("cur")
    "   IS NOT DISTINCT FROM ($2::text, coalesce(left($3, 256), ''), left($4, 256), $5::text,"
    "   false))"
    " ON CONFLICT (telegram_id) DO UPDATE SET username = EXCLUDED.username,"
    "  first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,"
    "  language_code = EXCLUDED.language_code,"
    "  is_blocked = false, blocked_at = NULL, updated_at = now()"
    "  WHERE " USER_PROFILE_IS("users") " IS DISTINCT FROM (EXCLUDED.username,"
    "   EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.language_code, false)"
    " RETURNING id, lang, (xmax = 0) AS created, coalesce(main_avatar_id, 0), true),"
    " welcome AS (INSERT INTO credit_entries (user_id, delta, reason, reference, balance_after)"
    "  SELECT id, $7::int, 'start', 'user:' || id, $7::int FROM up WHERE created AND $7::int > 0),"
    " conv AS (INSERT INTO conversations (user_id) SELECT id FROM up WHERE created)"
    " SELECT * FROM up UNION ALL"
    " SELECT id, lang, false, coalesce(main_avatar_id, 0), false FROM cur"
    "  WHERE NOT EXISTS (SELECT 1 FROM up)");

static struct db_stmt st_get = DB_STMT("users_get",
    "SELECT id, lang, is_blocked, coalesce(main_avatar_id, 0)"
    " FROM users WHERE telegram_id = $1");

static struct db_stmt st_set_lang = DB_STMT("users_set_lang",
    "UPDATE users SET lang = $2, lang_chosen = true, updated_at = now() WHERE id = $1");

static struct db_stmt st_blocked = DB_STMT("users_blocked",
    "UPDATE users SET is_blocked = true, blocked_at = coalesce(blocked_at, now()),"
    " updated_at = now() WHERE telegram_id = $1");

static void
users_upsert_call(const struct tg_user *from, int credits_start, struct db_call *c)
{
	c->st = &st_upsert;
	db_params_init(&c->p);
	db_p_i64(&c->p, from->id);
	db_p_str(&c->p, from->username);
	db_p_str(&c->p, from->first_name);
	db_p_str(&c->p, from->last_name);
	db_p_str(&c->p, from->language_code);
	db_p_str(&c->p, lang_code(lang_from_code(from->language_code)));
	db_p_i64(&c->p, credits_start);
	c->r = NULL;
}

static int
users_upsert_take(struct db_call *c, int64_t telegram_id, struct user *out)
{
	PGresult *r = c->r;

	c->r = NULL;
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		/* the user was registered by a concurrent update after this
		 * statement's snapshot: the next statement sees the row */
		PQclear(r);
		return 1;
	}
	memset(out, 0, sizeof(*out));
	out->id = db_i64(r, 0, 0);
	out->telegram_id = telegram_id;
	(void)lang_parse(db_str(r, 0, 1), &out->lang);
	out->created = db_bool(r, 0, 2);
	out->main_avatar_id = db_i64(r, 0, 3);
	out->written = db_bool(r, 0, 4);
	PQclear(r);
	return 0;
}

int
users_upsert(struct db *db, const struct tg_user *from, int credits_start, struct user *out)
{
	struct db_call c;
	int rc = 1;

	users_upsert_call(from, credits_start, &c);
	for (int i = 0; i < 2 && rc == 1; i++) {
		c.r = db_run(db, c.st, &c.p);
		rc = users_upsert_take(&c, from->id, out);
	}
	return rc == 0 ? 0 : -1;
}

int
users_get(struct db *db, int64_t telegram_id, struct user *out)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, telegram_id);
	PGresult *r = db_run(db, &st_get, &p);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found) {
		memset(out, 0, sizeof(*out));
		out->id = db_i64(r, 0, 0);
		out->telegram_id = telegram_id;
		(void)lang_parse(db_str(r, 0, 1), &out->lang);
		out->is_blocked = db_bool(r, 0, 2);
		out->main_avatar_id = db_i64(r, 0, 3);
	}
	PQclear(r);
	return found;
}

int
users_set_lang(struct db *db, int64_t user_id, enum lang l)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_str(&p, lang_code(l));
	return db_exec(db, &st_set_lang, &p);
}

int
users_mark_blocked(struct db *db, int64_t telegram_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, telegram_id);
	return db_exec(db, &st_blocked, &p);
}
