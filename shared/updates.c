#include "updates.h"

#include <string.h>

#include "sbuf.h"
#include "tg_update.h"
#include "utf8.h"

static struct db_stmt st_claim = DB_STMT("tg_updates_claim",
    "INSERT INTO tg_updates (update_id, kind, telegram_id) VALUES ($1, $2, $3)"
    " ON CONFLICT (update_id) DO NOTHING RETURNING 1");
static struct db_stmt st_claim_late = DB_STMT("tg_updates_claim_late",
    "INSERT INTO tg_updates (update_id, kind, telegram_id) VALUES ($1, $2, $3)");
static struct db_stmt st_prune = DB_STMT("updates_prune",
    "WITH a AS (DELETE FROM tg_updates WHERE received_at < now() - interval '7 days'"
    "  RETURNING 1), b AS (DELETE FROM failed_updates"
    "  WHERE created_at < now() - interval '30 days' RETURNING 1)"
    " SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)");

void
updates_claim_call(const struct tg_update *u, struct db_call *c)
{
	c->st = &st_claim;
	db_params_init(&c->p);
	db_p_i64(&c->p, u->update_id);
	db_p_str(&c->p, u->kind_name);
	if (u->has_from)
		db_p_i64(&c->p, u->from.id);
	else
		db_p_null(&c->p);
	c->r = NULL;
}

int
updates_claim_take(struct db_call *c)
{
	int first = PQntuples(c->r) == 1;

	PQclear(c->r);
	c->r = NULL;
	return first;
}

int
updates_claim_late(struct db *db, const struct tg_update *u)
{
	struct db_call c;

	updates_claim_call(u, &c);
	c.st = &st_claim_late;
	return db_exec(db, c.st, &c.p);
}

int
updates_prune(struct db *db)
{
	PGresult *r = db_run(db, &st_prune, NULL);

	if (r == NULL)
		return -1;
	int n = (int)db_i64(r, 0, 0);
	PQclear(r);
	return n;
}

static struct db_stmt st_record = DB_STMT("failed_update_record",
    "WITH claim AS (INSERT INTO tg_updates (update_id, kind, telegram_id)"
    "  VALUES ($1, $2, $3) ON CONFLICT (update_id) DO NOTHING)"
    " INSERT INTO failed_updates (update_id, kind, telegram_id, error, body)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (update_id) DO NOTHING");

static struct db_stmt st_record_only = DB_STMT("failed_update_record_only",
    "INSERT INTO failed_updates (update_id, kind, telegram_id, error, body)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (update_id) DO NOTHING");

int
updates_record_failed(struct db *db, int64_t update_id, const char *kind, int64_t telegram_id,
    const char *error, const char *body, size_t len)
{
	struct db_params p;
	char err[1000], k[33];
	struct sbuf b = SBUF_INIT;

	/* what is stored must be valid UTF-8 within the row's limits */
	utf8_copy(err, sizeof(err), error && *error ? error : "unknown", 999);
	for (char *c = err; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	utf8_copy(k, sizeof(k), kind ? kind : "", 32);
	/* the body was valid UTF-8; the cut at the limit may split a character */
	sbuf_addn(&b, body, len > FAILED_UPDATE_BODY_MAX - 4 ? FAILED_UPDATE_BODY_MAX - 4 : len);
	if (b.p != NULL)
		b.len = strlen(utf8_clean(b.p));
	db_params_init(&p);
	db_p_i64(&p, update_id);
	db_p_str(&p, k);
	if (telegram_id != 0)
		db_p_i64(&p, telegram_id);
	else
		db_p_null(&p);
	db_p_str(&p, err);
	db_p_str(&p, sbuf_str(&b));
	int rc = db_exec(db, &st_record, &p);
	/* the claim itself may be what fails for good: then the record alone
	 * (a repeat runs the turn again and finds the row) */
	if (rc != 0 && !db_failure_transient(db))
		rc = db_exec(db, &st_record_only, &p);
	sbuf_free(&b);
	return rc;
}
