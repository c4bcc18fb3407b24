#include "monitor.h"

#include <stdio.h>
#include <string.h>

#include "credits.h"
#include "health.h"

static struct db_stmt st_avatars = DB_STMT("monitor_avatars",
    "SELECT status::text, training_type::text, count(*) FROM avatars GROUP BY 1, 2 ORDER BY 1, 2");
static struct db_stmt st_generations = DB_STMT("monitor_generations",
    "SELECT status::text, count(*) FROM generations GROUP BY 1 ORDER BY 1");
/* messages and button answers (callback_answers) waiting to go */
static struct db_stmt st_outbox = DB_STMT("monitor_outbox",
    "SELECT sum(n)::bigint, coalesce(extract(epoch FROM now() - min(oldest)), 0)::bigint"
    " FROM (SELECT count(*) AS n, min(created_at) AS oldest FROM notifications"
    "  WHERE status = 'pending'"
    " UNION ALL SELECT count(*), min(created_at) FROM callback_answers) q");
static struct db_stmt st_checkers = DB_STMT("monitor_checkers",
    "SELECT name, extract(epoch FROM last_run_at)::bigint, runs, failures,"
    " to_char(last_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " FROM checker_runs ORDER BY name");
/* the oldest job waiting to start, and the oldest in flight at FAL */
static struct db_stmt st_oldest = DB_STMT("monitor_oldest",
    "SELECT 'training', 'queued', min(updated_at) FROM avatars WHERE status = 'queued'"
    " UNION ALL SELECT 'training', 'in_flight', min(updated_at) FROM avatars"
    "  WHERE status IN ('submitting', 'training')"
    " UNION ALL SELECT 'generation', 'queued', min(created_at) FROM generations"
    "  WHERE status = 'queued'"
    " UNION ALL SELECT 'generation', 'in_flight', min(created_at) FROM generations"
    "  WHERE status IN ('submitting', 'running')");

static void
gauge_head(struct sbuf *out, const char *name, const char *help)
{
	sbuf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static int
jobs(struct app_ctx *ctx, struct sbuf *out)
{
	PGresult *r = db_run(&ctx->db, &st_avatars, NULL);

	if (r == NULL)
		return -1;
	gauge_head(out, "aisha_avatars", "avatars (trainings) by status and training type");
	for (int i = 0; i < PQntuples(r); i++)
		sbuf_addf(out, "aisha_avatars{status=\"%s\",type=\"%s\"} %s\n", PQgetvalue(r, i, 0),
		    PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
	PQclear(r);
	if ((r = db_run(&ctx->db, &st_generations, NULL)) == NULL)
		return -1;
	gauge_head(out, "aisha_generations", "picture jobs by status");
	for (int i = 0; i < PQntuples(r); i++)
		sbuf_addf(out, "aisha_generations{status=\"%s\"} %s\n", PQgetvalue(r, i, 0),
		    PQgetvalue(r, i, 1));
	PQclear(r);
	return 0;
}

static int
outbox_and_checkers(struct app_ctx *ctx, struct sbuf *out)
{
	PGresult *r = db_run(&ctx->db, &st_outbox, NULL);

	if (r == NULL)
		return -1;
	gauge_head(out, "aisha_notifications_pending",
	    "messages and button answers waiting in the outbox");
	sbuf_addf(out, "aisha_notifications_pending %s\n", PQgetvalue(r, 0, 0));
	gauge_head(out, "aisha_notifications_oldest_age_seconds",
	    "age of the oldest message or button answer waiting in the outbox");
	sbuf_addf(out, "aisha_notifications_oldest_age_seconds %s\n", PQgetvalue(r, 0, 1));
	PQclear(r);
	if ((r = db_run(&ctx->db, &st_checkers, NULL)) == NULL)
		return -1;
	gauge_head(out, "aisha_checker_last_run_timestamp_seconds", "when each cron pass last ran");
	for (int i = 0; i < PQntuples(r); i++)
		sbuf_addf(out, "aisha_checker_last_run_timestamp_seconds{checker=\"%s\"} %s\n",
		    PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	sbuf_addf(out, "# HELP aisha_checker_runs_total runs of each cron pass\n"
	    "# TYPE aisha_checker_runs_total counter\n");
	for (int i = 0; i < PQntuples(r); i++)
		sbuf_addf(out, "aisha_checker_runs_total{checker=\"%s\"} %s\n", PQgetvalue(r, i, 0),
		    PQgetvalue(r, i, 2));
	sbuf_addf(out, "# HELP aisha_checker_failures_total failed runs of each cron pass\n"
	    "# TYPE aisha_checker_failures_total counter\n");
	for (int i = 0; i < PQntuples(r); i++)
		sbuf_addf(out, "aisha_checker_failures_total{checker=\"%s\"} %s\n",
		    PQgetvalue(r, i, 0), PQgetvalue(r, i, 3));
	PQclear(r);
	return 0;
}

int
monitor_metrics(struct app_ctx *ctx, struct sbuf *out)
{
	struct health h;
	double spent = 0;

	bool ok = health_check(&ctx->db, ctx->cfg.checker_interval, &h);
	gauge_head(out, "aisha_up", "1 when /healthz would answer ok");
	sbuf_addf(out, "aisha_up %d\n", ok ? 1 : 0);
	if (!h.db_up || !h.schema_ok)
		return h.db_up ? 0 : -1;
	if (jobs(ctx, out) != 0 || outbox_and_checkers(ctx, out) != 0 ||
	    credits_spend_today(&ctx->db, &spent) != 0)
		return -1;
	gauge_head(out, "aisha_fal_spend_today_usd", "estimated FAL spend this UTC day");
	sbuf_addf(out, "aisha_fal_spend_today_usd %.4f\n", spent);
	gauge_head(out, "aisha_fal_budget_usd", "FAL_DAILY_BUDGET_USD (0: none)");
	sbuf_addf(out, "aisha_fal_budget_usd %.4f\n", ctx->cfg.fal_daily_budget_usd);
	return 0;
}

/* rows of (a, b, count) as {a: {b: count}} */
static cJSON *
nested_counts(const PGresult *r)
{
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; i < PQntuples(r); i++) {
		cJSON *in = cJSON_GetObjectItemCaseSensitive(o, PQgetvalue(r, i, 0));
		if (in == NULL)
			in = cJSON_AddObjectToObject(o, PQgetvalue(r, i, 0));
		cJSON_AddNumberToObject(in, PQgetvalue(r, i, 1), (double)db_i64(r, i, 2));
	}
	return o;
}

static int
overview_jobs(struct app_ctx *ctx, cJSON *o)
{
	PGresult *r = db_run(&ctx->db, &st_avatars, NULL);

	if (r == NULL)
		return -1;
	cJSON_AddItemToObject(o, "avatars", nested_counts(r));
	PQclear(r);
	if ((r = db_run(&ctx->db, &st_generations, NULL)) == NULL)
		return -1;
	cJSON *g = cJSON_AddObjectToObject(o, "generations");
	for (int i = 0; i < PQntuples(r); i++)
		cJSON_AddNumberToObject(g, PQgetvalue(r, i, 0), (double)db_i64(r, i, 1));
	PQclear(r);
	if ((r = db_run(&ctx->db, &st_oldest, NULL)) == NULL)
		return -1;
	cJSON *old = cJSON_AddObjectToObject(o, "oldest");
	for (int i = 0; i < PQntuples(r); i++) {
		char k[48];
		snprintf(k, sizeof(k), "%s_%s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		if (db_null(r, i, 2))
			cJSON_AddNullToObject(old, k);
		else
			cJSON_AddStringToObject(old, k, PQgetvalue(r, i, 2));
	}
	PQclear(r);
	return 0;
}

static int
overview_rest(struct app_ctx *ctx, cJSON *o)
{
	double spent = 0;
	PGresult *r = db_run(&ctx->db, &st_outbox, NULL);

	if (r == NULL)
		return -1;
	cJSON *n = cJSON_AddObjectToObject(o, "notifications");
	cJSON_AddNumberToObject(n, "pending", (double)db_i64(r, 0, 0));
	cJSON_AddNumberToObject(n, "oldest_age_s", (double)db_i64(r, 0, 1));
	PQclear(r);
	if ((r = db_run(&ctx->db, &st_checkers, NULL)) == NULL)
		return -1;
	cJSON *c = cJSON_AddObjectToObject(o, "checkers");
	for (int i = 0; i < PQntuples(r); i++) {
		cJSON *one = cJSON_AddObjectToObject(c, PQgetvalue(r, i, 0));
		cJSON_AddStringToObject(one, "last_run_at", PQgetvalue(r, i, 4));
		cJSON_AddNumberToObject(one, "runs", (double)db_i64(r, i, 2));
		cJSON_AddNumberToObject(one, "failures", (double)db_i64(r, i, 3));
	}
	PQclear(r);
	if (credits_spend_today(&ctx->db, &spent) != 0)
		return -1;
	cJSON *f = cJSON_AddObjectToObject(o, "fal");
	cJSON_AddStringToObject(f, "mode", ctx->cfg.fal_test_mode ? "test" : "live");
	cJSON_AddNumberToObject(f, "spend_today_usd", spent);
	cJSON_AddNumberToObject(f, "budget_usd", ctx->cfg.fal_daily_budget_usd);
	return 0;
}

cJSON *
monitor_overview(struct app_ctx *ctx)
{
	struct health h;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", health_check(&ctx->db, ctx->cfg.checker_interval, &h));
	if (!h.db_up || !h.schema_ok || overview_jobs(ctx, o) != 0 || overview_rest(ctx, o) != 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
