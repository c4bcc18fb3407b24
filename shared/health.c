#include "health.h"

#include <stdio.h>
#include <string.h>

#include "schema.h"

static struct db_stmt st_version = DB_STMT("health_version",
    "SELECT coalesce(max(version), '') FROM schema_migrations");
/* since the status checker's last run, or the last migration before it */
static struct db_stmt st_checker = DB_STMT("health_checker",
    "SELECT extract(epoch FROM now() - coalesce("
    " (SELECT last_run_at FROM checker_runs WHERE name = 'status'),"
    " (SELECT max(applied_at) FROM schema_migrations)))::bigint");

bool
health_check(struct db *db, int checker_interval, struct health *h)
{
	memset(h, 0, sizeof(*h));
	h->want = schema_latest();
	h->checker_age = -1;
	PGresult *r = db_run(db, &st_version, NULL);
	if (r == NULL)
		return false;
	h->db_up = true;
	snprintf(h->schema, sizeof(h->schema), "%s", db_str(r, 0, 0));
	PQclear(r);
	h->schema_ok = strcmp(h->schema, h->want) >= 0;
	if (!h->schema_ok)
		return false;
	r = db_run(db, &st_checker, NULL);
	if (r == NULL)
		return false;
	h->checker_age = db_null(r, 0, 0) ? -1 : db_i64(r, 0, 0);
	PQclear(r);
	h->checker_ok = h->checker_age >= 0 &&
	    h->checker_age <= 3 * (int64_t)checker_interval;
	return h->checker_ok;
}
