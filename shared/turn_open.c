#include "turn_open.h"

#include <string.h>

/* One row always: a user not registered yet gives NULLs (and no
 * conversation).  The profile is compared as users_upsert() writes it. */
static struct db_stmt st_open = DB_STMT("turn_open",
    "SELECT u.id, u.lang, coalesce(u.main_avatar_id, 0),"
    " (u.username, u.first_name, u.last_name, u.language_code, u.is_blocked)"
    "  IS NOT DISTINCT FROM ($2::text, coalesce(left($3::text, 256), ''),"
    "  left($4::text, 256), $5::text, false),"
    " c.state, coalesce(c.avatar_id, 0),"
    " EXISTS (SELECT 1 FROM tg_updates WHERE update_id = $6)"
    " FROM (VALUES (1)) one (x)"
    " LEFT JOIN users u ON u.telegram_id = $1"
    " LEFT JOIN conversations c ON c.user_id = u.id");

void
turn_open_call(const struct tg_update *u, struct db_call *c)
{
	c->st = &st_open;
	db_params_init(&c->p);
	db_p_i64(&c->p, u->from.id);
	db_p_str(&c->p, u->from.username);
	db_p_str(&c->p, u->from.first_name);
	db_p_str(&c->p, u->from.last_name);
	db_p_str(&c->p, u->from.language_code);
	db_p_i64(&c->p, u->update_id);
	c->r = NULL;
}

int
turn_open_take(struct db_call *c, int64_t telegram_id, struct turn_open *out)
{
	PGresult *r = c->r;

	c->r = NULL;
	memset(out, 0, sizeof(*out));
	if (r == NULL || PQntuples(r) != 1) {
		PQclear(r);
		return -1;
	}
	out->registered = !db_null(r, 0, 0);
	if (out->registered) {
		out->user.id = db_i64(r, 0, 0);
		out->user.telegram_id = telegram_id;
		(void)lang_parse(db_str(r, 0, 1), &out->user.lang);
		out->user.main_avatar_id = db_i64(r, 0, 2);
		out->profile_same = db_bool(r, 0, 3);
	}
	out->conv.user_id = out->user.id;
	out->conv_found = !db_null(r, 0, 4);
	if (out->conv_found) {
		out->conv.state = conv_state_parse(db_str(r, 0, 4));
		out->conv.avatar_id = db_i64(r, 0, 5);
	}
	out->seen = db_bool(r, 0, 6);
	PQclear(r);
	return 0;
}
