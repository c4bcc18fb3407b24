#include "maintenance.h"

#include "avatars.h"
#include "credits.h"
#include "fal_events.h"
#include "fal_verify.h"
#include "jobs.h"
#include "log.h"
#include "outbox.h"
#include "refusals.h"
#include "training_zip.h"
#include "updates.h"
#include "webhook_tokens.h"

/* A generation still queued this long (a lost trigger, or one that waited
 * for the budget) is started by the status pass. */
#define GEN_START_AFTER 30
/* Cron's passes are the outbox's backstop: when no sender runs they send
 * what is due for this long at most, then leave the rest to the on-demand
 * sender (its own process, not holding up FAL polling). */
#define CRON_SEND_SECONDS 10

/* Today's estimated FAL spend against the budget, for the operator. */
static int
budget(struct app_ctx *ctx, cJSON *summary)
{
	double spent = 0, limit = ctx->cfg.fal_daily_budget_usd;

	if (credits_spend_today(&ctx->db, &spent) != 0)
		return -1;
	cJSON_AddNumberToObject(summary, "fal_spend_today_usd", spent);
	cJSON_AddNumberToObject(summary, "fal_budget_usd", limit);
	cJSON_AddBoolToObject(summary, "fal_budget_spent", limit > 0 && spent >= limit);
	if (limit > 0 && spent >= limit)
		log_warn("FAL budget: %.2f of %.2f USD spent today; new jobs wait", spent, limit);
	return 0;
}

static struct db_stmt st_checker_run = DB_STMT("checker_run",
    "INSERT INTO checker_runs AS c (name, last_run_at, last_ok_at, failures)"
    " VALUES ($1, now(), CASE WHEN $2::boolean THEN now() END,"
    "  CASE WHEN $2::boolean THEN 0 ELSE 1 END)"
    " ON CONFLICT (name) DO UPDATE SET last_run_at = now(),"
    "  last_ok_at = coalesce(EXCLUDED.last_ok_at, c.last_ok_at), runs = c.runs + 1,"
    "  failures = c.failures + EXCLUDED.failures");

/* One run of a pass, for /healthz and /metrics. */
static void
record_run(struct app_ctx *ctx, const char *name, int rc)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, name);
	db_p_bool(&p, rc == 0);
	if (db_exec(&ctx->db, &st_checker_run, &p) < 0)
		log_warn("checker %s: its run could not be recorded", name);
}

static int status_pass(struct app_ctx *ctx, cJSON *summary);

int
maintenance_status_pass(struct app_ctx *ctx, cJSON *summary)
{
	int rc = status_pass(ctx, summary);

	record_run(ctx, "status", rc);
	return rc;
}

static int
status_pass(struct app_ctx *ctx, cJSON *summary)
{
	struct fal_poll_counts t, g;
	int started = fal_job_start_due(ctx, &job_generation, GEN_START_AFTER);
	int rc = started < 0 ? -1 : 0;

	rc |= fal_job_poll_all(ctx, &job_training, 0, &t);
	rc |= fal_job_poll_all(ctx, &job_generation, 0, &g);
	int expired = fal_job_expire(ctx, &job_generation);
	if (expired < 0)
		rc = -1;
	cJSON_AddNumberToObject(summary, "checked", t.checked);
	cJSON_AddNumberToObject(summary, "completed", t.completed);
	cJSON_AddNumberToObject(summary, "failed", t.failed);
	cJSON_AddNumberToObject(summary, "generations_checked", g.checked);
	cJSON_AddNumberToObject(summary, "generations_completed", g.completed);
	cJSON_AddNumberToObject(summary, "generations_timed_out", expired < 0 ? 0 : expired);
	cJSON_AddNumberToObject(summary, "generations_started", started < 0 ? 0 : started);
	rc |= budget(ctx, summary);
	int sent = outbox_serve(ctx, 0, CRON_SEND_SECONDS);
	cJSON_AddNumberToObject(summary, "notifications_sent", sent);
	if (sent)
		log_info("status pass: %d notifications sent", sent);
	return rc ? -1 : 0;
}

/* A published zip of a finished (or deleted) avatar: removed, forgotten. */
struct sweep {
	struct app_ctx *ctx;
	int done;
};

static void
clean_zip(void *ud, int64_t id, const char *name)
{
	struct sweep *s = ud;

	(void)name; /* its data goes with zip_path (schema/013) */
	s->done += avatar_forget_zip(&s->ctx->db, id) == 0;
}

static int
zip_known(void *ud, const char *path)
{
	return avatar_zip_known(ud, path);
}

/* The zips of finished avatars, then any file of ours in MEDIA_DIR that no
 * avatar refers to and no claim can still be publishing. */
static int
clean_zips(struct app_ctx *ctx)
{
	struct sweep s = {ctx, 0};

	if (avatar_each_finished_zip(&ctx->db, clean_zip, &s) < 0)
		return -1;
	int orphans = training_zip_sweep(&ctx->cfg, ctx->cfg.claim_timeout + 300, zip_known,
	    &ctx->db);
	int data = training_zip_sweep_data(&ctx->db);
	return orphans < 0 || data < 0 ? -1 : s.done + orphans + data;
}

static int
count_of(int n, int *rc)
{
	if (n < 0)
		*rc = -1;
	return n < 0 ? 0 : n;
}

static int startup_pass(struct app_ctx *ctx, cJSON *summary);

int
maintenance_startup(struct app_ctx *ctx, cJSON *summary)
{
	int rc = startup_pass(ctx, summary);

	record_run(ctx, "startup", rc);
	return rc;
}

static int
startup_pass(struct app_ctx *ctx, cJSON *summary)
{
	int rc = 0;
	int requeued = count_of(avatar_requeue_crashed(&ctx->db, ctx->cfg.claim_timeout), &rc);
	int timed_out = count_of(fal_job_expire(ctx, &job_training), &rc);
	int zips = count_of(clean_zips(ctx), &rc);
	int pruned = count_of(updates_prune(&ctx->db), &rc) +
	    count_of(fal_events_prune(&ctx->db), &rc) +
	    count_of(webhook_tokens_prune(&ctx->db), &rc) +
	    count_of(refusals_prune(&ctx->db), &rc) +
	    count_of(fal_signatures_prune(&ctx->db), &rc) +
	    count_of(outbox_prune(&ctx->db), &rc);
	int sent = outbox_serve(ctx, 0, CRON_SEND_SECONDS);

	cJSON_AddNumberToObject(summary, "requeued", requeued);
	cJSON_AddNumberToObject(summary, "timed_out", timed_out);
	cJSON_AddNumberToObject(summary, "zips_removed", zips);
	cJSON_AddNumberToObject(summary, "rows_pruned", pruned);
	cJSON_AddNumberToObject(summary, "notifications_sent", sent);
	log_info("startup check: %d requeued, %d timed out, %d zips removed, %d rows pruned,"
	    " %d notifications sent", requeued, timed_out, zips, pruned, sent);
	return rc;
}
