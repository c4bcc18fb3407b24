/*
 * credits — see credits.h.
 */
#include "credits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct db_stmt st_apply = DB_STMT("credits_apply",
    "SELECT outcome, balance FROM credit_apply($1, $2::int, $3::credit_reason, $4, $5::int,"
    " $6::numeric, $7)");
static struct db_stmt st_refund = DB_STMT("credits_refund",
    "SELECT o.outcome, (-c.delta * $3::int / $4::int) FROM credit_entries c,"
    " LATERAL credit_apply(c.user_id, (-c.delta * $3::int / $4::int), 'refund', $1 || ':' || $2,"
    "  0, 0, NULL) o"
    " WHERE c.reason = $1::credit_reason AND c.reference = $2 AND c.delta < 0"
    " AND -c.delta * $3::int / $4::int > 0");
static struct db_stmt st_balance = DB_STMT("credits_balance",
    "SELECT balance FROM users WHERE id = $1");
/* Since the UTC day began. */
#define TODAY " created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"

static struct db_stmt st_charged = DB_STMT("credits_charged",
    "SELECT 1 FROM credit_entries WHERE reason = $1::credit_reason AND reference = $2");
static struct db_stmt st_today = DB_STMT("credits_charges_today",
    "SELECT count(*) FROM credit_entries WHERE user_id = $1 AND reason = $2::credit_reason"
    " AND" TODAY);
static struct db_stmt st_spend = DB_STMT("credits_spend_today",
    "SELECT coalesce(sum(cost_usd), 0)::float8 FROM credit_entries"
    " WHERE reason IN ('training', 'generation') AND" TODAY);
static struct db_stmt st_statement = DB_STMT("credits_statement",
    "SELECT json_build_object('user_id', u.id, 'telegram_id', u.telegram_id,"
    " 'balance', u.balance, 'entries', coalesce((SELECT json_agg(e ORDER BY e.id DESC) FROM"
    "  (SELECT id, delta, reason, reference, units, cost_usd, note, balance_after, created_at"
    "   FROM credit_entries WHERE user_id = u.id ORDER BY id DESC LIMIT $2) e), '[]'),"
    " 'trainings', (SELECT count(*) FROM avatars a WHERE a.user_id = u.id),"
    " 'generations', (SELECT count(*) FROM generations g WHERE g.user_id = u.id),"
    " 'avatars', coalesce((SELECT json_agg(a ORDER BY a.id DESC) FROM (SELECT id, name, status,"
    "  training_type, created_at, training_completed_at FROM avatars WHERE user_id = u.id"
    "  AND deleted_at IS NULL ORDER BY id DESC LIMIT 20) a), '[]'),"
    " 'jobs', coalesce((SELECT json_agg(g ORDER BY g.id DESC) FROM (SELECT id, avatar_id,"
    "  status, created_at, error FROM generations WHERE user_id = u.id ORDER BY id DESC"
    "  LIMIT $2) g), '[]'))::text"
    " FROM users u WHERE u.id = $1");

static enum credit_result
outcome(const char *s)
{
	static const char *const names[] = {"applied", "duplicate", "insufficient", "no_user"};

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum credit_result)i;
	return CREDIT_ERROR;
}

enum credit_result
credits_apply(struct db *db, const struct credit_entry *e, int *balance)
{
	struct db_params p;
	char cost[32];

	snprintf(cost, sizeof(cost), "%.4f", e->cost_usd);
	db_params_init(&p);
	db_p_i64(&p, e->user_id);
	db_p_i64(&p, e->delta);
	db_p_str(&p, e->reason);
	db_p_str(&p, e->reference);
	db_p_i64(&p, e->units);
	db_p_str(&p, cost);
	db_p_str(&p, e->note);
	PGresult *r = db_run(db, &st_apply, &p);
	if (r == NULL || PQntuples(r) != 1) {
		PQclear(r);
		return CREDIT_ERROR;
	}
	enum credit_result res = outcome(db_str(r, 0, 0));
	if (balance != NULL)
		*balance = (int)db_i64(r, 0, 1);
	PQclear(r);
	return res;
}

int
credits_refund(struct db *db, const char *reason, const char *reference, int num, int den)
{
	struct db_params p;

	if (den <= 0 || num <= 0)
		return 0;
	db_params_init(&p);
	db_p_str(&p, reason);
	db_p_str(&p, reference);
	db_p_i64(&p, num);
	db_p_i64(&p, den);
	PGresult *r = db_run(db, &st_refund, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r) == 1 && strcmp(db_str(r, 0, 0), "applied") == 0 ?
	    (int)db_i64(r, 0, 1) : 0;
	PQclear(r);
	return n;
}

static int
one_count(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	PGresult *r = db_run(db, st, p);
	int n = r != NULL && PQntuples(r) == 1 ? (int)db_i64(r, 0, 0) : -1;

	PQclear(r);
	return n;
}

int
credits_balance(struct db *db, int64_t user_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	return one_count(db, &st_balance, &p);
}

int
credits_charges_today(struct db *db, int64_t user_id, const char *reason)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_str(&p, reason);
	return one_count(db, &st_today, &p);
}

int
credits_exists(struct db *db, const char *reason, const char *reference)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, reason);
	db_p_str(&p, reference);
	PGresult *r = db_run(db, &st_charged, &p);
	int n = r == NULL ? -1 : PQntuples(r) > 0;
	PQclear(r);
	return n;
}

int
credits_spend_today(struct db *db, double *usd)
{
	PGresult *r = db_run(db, &st_spend, NULL);
	if (r == NULL)
		return -1;
	*usd = strtod(db_str(r, 0, 0), NULL);
	PQclear(r);
	return 0;
}

int
credits_statement(struct db *db, int64_t user_id, int limit, cJSON **out)
{
	struct db_params p;

	*out = NULL;
	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_i64(&p, limit);
	PGresult *r = db_run(db, &st_statement, &p);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		*out = cJSON_Parse(db_str(r, 0, 0));
	PQclear(r);
	return found && *out != NULL ? 1 : 0;
}
