/*
 * refusals — see refusals.h.
 */
#include "refusals.h"

static struct db_stmt st_count = DB_STMT("refusals_count",
    "INSERT INTO refused_calls (route, source, minute, n)"
    " VALUES ($1, left($2, 64), date_trunc('minute', now()), 1)"
    " ON CONFLICT (route, source, minute) DO UPDATE SET n = refused_calls.n + 1"
    " RETURNING n");
static struct db_stmt st_prune = DB_STMT("refusals_prune",
    "DELETE FROM refused_calls WHERE minute < now() - interval '1 hour'");

int
refusals_count(struct db *db, const char *route, const char *source)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, route);
	db_p_str(&p, source && *source ? source : "unknown");
	PGresult *r = db_run(db, &st_count, &p);
	int n = r != NULL && PQntuples(r) == 1 ? (int)db_i64(r, 0, 0) : -1;

	PQclear(r);
	return n;
}

int
refusals_prune(struct db *db)
{
	return db_affected(db, &st_prune, NULL);
}
