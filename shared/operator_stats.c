#include "operator_stats.h"

#include <stdio.h>
#include <string.h>

static struct db_stmt st_users = DB_STMT("stats_users",
    "SELECT json_build_object('total', count(*), 'new_today',"
    " count(*) FILTER (WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC')"
    "  AT TIME ZONE 'UTC'), 'blocked', count(*) FILTER (WHERE is_blocked))::text FROM users");
/* finished trainings (completed or failed) per UTC day, type and outcome */
static struct db_stmt st_trainings = DB_STMT("stats_trainings_per_day",
    "SELECT coalesce(json_agg(json_build_object('day', d, 'type', t, 'outcome', o, 'n', n)"
    "  ORDER BY d, t, o), '[]')::text FROM (SELECT to_char(coalesce(training_completed_at,"
    "  updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') d, training_type::text t, status::text o,"
    "  count(*) n FROM avatars WHERE status IN ('completed', 'error') AND deleted_at IS NULL"
    "  AND coalesce(training_completed_at, updated_at) >= now() - make_interval(days => $1)"
    "  GROUP BY 1, 2, 3) x");
static struct db_stmt st_times = DB_STMT("stats_training_times",
    "SELECT coalesce(json_agg(json_build_object('type', t, 'endpoint', e, 'finished', f,"
    "  'completed', c, 'success_rate', round(c::numeric / nullif(f, 0), 3),"
    "  'median_s', m, 'p90_s', p) ORDER BY t, e), '[]')::text FROM (SELECT"
    "  training_type::text t, coalesce(fal_endpoint, '') e, count(*) f,"
    "  count(*) FILTER (WHERE status = 'completed') c,"
    "  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM"
    "   training_completed_at - training_started_at)) FILTER (WHERE status = 'completed'"
    "   AND training_started_at IS NOT NULL)::numeric, 1) m,"
    "  round(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM"
    "   training_completed_at - training_started_at)) FILTER (WHERE status = 'completed'"
    "   AND training_started_at IS NOT NULL)::numeric, 1) p"
    "  FROM avatars WHERE status IN ('completed', 'error') AND deleted_at IS NULL"
    "  AND coalesce(training_completed_at, updated_at) >= now() - make_interval(days => $1)"
    "  GROUP BY 1, 2) x");
static struct db_stmt st_generations = DB_STMT("stats_generations_per_day",
    "SELECT coalesce(json_agg(json_build_object('day', d, 'status', s, 'n', n)"
    "  ORDER BY d, s), '[]')::text FROM (SELECT to_char(created_at AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD') d, status::text s, count(*) n FROM generations"
    "  WHERE created_at >= now() - make_interval(days => $1) GROUP BY 1, 2) x");
static struct db_stmt st_credits = DB_STMT("stats_credits_per_day",
    "SELECT coalesce(json_agg(json_build_object('day', d, 'reason', r, 'credits', c, 'n', n)"
    "  ORDER BY d, r), '[]')::text FROM (SELECT to_char(created_at AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD') d, reason::text r, sum(delta) c, count(*) n FROM credit_entries"
    "  WHERE reason IN ('topup', 'refund', 'payment_refund')"
    "  AND created_at >= now() - make_interval(days => $1) GROUP BY 1, 2) x");

/* $1 training timeout, $2 claim timeout, $3 generation timeout (seconds) */
static struct db_stmt st_stuck = DB_STMT("attention_stuck",
    "SELECT coalesce(json_agg(x ORDER BY x.since), '[]')::text FROM ("
    " SELECT 'avatar' AS kind, a.id, u.telegram_id, a.status::text AS status,"
    "  coalesce(a.training_started_at, a.claimed_at) AS since, a.fal_request_id"
    "  FROM avatars a JOIN users u ON u.id = a.user_id WHERE a.deleted_at IS NULL AND"
    "  ((a.status = 'training' AND a.training_started_at < now() - make_interval(secs => $1))"
    "  OR (a.status = 'submitting' AND a.claimed_at < now() - make_interval(secs => $2)))"
    " UNION ALL SELECT 'generation', g.id, u.telegram_id, g.status::text, g.created_at,"
    "  g.fal_request_id FROM generations g JOIN users u ON u.id = g.user_id"
    "  WHERE g.status IN ('queued', 'submitting', 'running')"
    "  AND g.created_at < now() - make_interval(secs => $3)) x");
static struct db_stmt st_failed = DB_STMT("attention_failed",
    "SELECT coalesce(json_agg(x ORDER BY x.at DESC), '[]')::text FROM ("
    " SELECT 'avatar' AS kind, a.id, u.telegram_id, a.training_type::text AS type,"
    "  a.training_error AS error, coalesce(a.training_completed_at, a.updated_at) AS at"
    "  FROM avatars a JOIN users u ON u.id = a.user_id WHERE a.status = 'error'"
    "  AND a.deleted_at IS NULL AND coalesce(a.training_completed_at, a.updated_at) >"
    "  now() - interval '24 hours'"
    " UNION ALL SELECT 'generation', g.id, u.telegram_id, NULL, g.error, g.completed_at"
    "  FROM generations g JOIN users u ON u.id = g.user_id WHERE g.status = 'error'"
    "  AND g.completed_at > now() - interval '24 hours' LIMIT 200) x");
static struct db_stmt st_notes = DB_STMT("attention_notifications",
    "SELECT coalesce(json_agg(json_build_object('id', n.id, 'chat_id', n.chat_id, 'kind',"
    "  n.kind, 'status', n.status, 'attempts', n.attempts, 'last_error', n.last_error,"
    "  'created_at', n.created_at) ORDER BY n.id DESC), '[]')::text FROM (SELECT * FROM"
    "  notifications WHERE last_error IS NOT NULL AND (status = 'pending' OR"
    "  (status = 'dropped' AND created_at > now() - interval '24 hours'))"
    "  ORDER BY id DESC LIMIT 100) n");
static struct db_stmt st_updates = DB_STMT("attention_failed_updates",
    "SELECT coalesce(json_agg(json_build_object('id', f.id, 'update_id', f.update_id, 'kind',"
    "  f.kind, 'telegram_id', f.telegram_id, 'error', f.error, 'created_at', f.created_at)"
    "  ORDER BY f.id DESC), '[]')::text FROM (SELECT * FROM failed_updates"
    "  WHERE created_at > now() - interval '24 hours' ORDER BY id DESC LIMIT 100) f");

static struct db_stmt st_people = DB_STMT("people_search",
    "SELECT coalesce(json_agg(json_build_object('telegram_id', u.telegram_id, 'username',"
    "  u.username, 'first_name', u.first_name, 'balance', u.balance, 'lang', u.lang,"
    "  'blocked', u.is_blocked, 'created_at', u.created_at,"
    "  'avatars', (SELECT count(*) FROM avatars a WHERE a.user_id = u.id"
    "   AND a.deleted_at IS NULL)) ORDER BY u.id), '[]')::text FROM (SELECT * FROM users"
    "  WHERE ($1::bigint IS NOT NULL AND telegram_id = $1)"
    "  OR ($2::text IS NOT NULL AND lower(username) LIKE lower($2) || '%' ESCAPE '\\')"
    "  ORDER BY id LIMIT 20) u");

/* Runs st and adds its one JSON cell to o as key; -1 when it failed. */
static int
add_json(struct db *db, struct db_stmt *st, const struct db_params *p, cJSON *o,
    const char *key)
{
	PGresult *r = db_run(db, st, p);
	cJSON *v = r ? cJSON_Parse(db_str(r, 0, 0)) : NULL;

	PQclear(r);
	if (v == NULL)
		return -1;
	cJSON_AddItemToObject(o, key, v);
	return 0;
}

static void
answer(struct http_resp *resp, cJSON *o, int rc)
{
	if (rc != 0) {
		cJSON_Delete(o);
		http_resp_error(resp, HTTP_503, "unavailable", "the database does not answer");
	} else {
		http_resp_json(resp, HTTP_200, o);
	}
}

static void
stats(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	long long days;
	struct db_params p;

	if (!app_query_id(req->query, "days", 30, 366, &days)) {
		http_resp_error(resp, HTTP_400, "bad_query", "days is 1..366");
		return;
	}
	db_params_init(&p);
	db_p_i64(&p, days);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "days", (double)days);
	int rc = add_json(&ctx->db, &st_users, NULL, o, "users") |
	    add_json(&ctx->db, &st_trainings, &p, o, "trainings_per_day") |
	    add_json(&ctx->db, &st_times, &p, o, "trainings_by_type") |
	    add_json(&ctx->db, &st_generations, &p, o, "generations_per_day") |
	    add_json(&ctx->db, &st_credits, &p, o, "credits_per_day");
	answer(resp, o, rc);
}

static void
attention(struct app_ctx *ctx, struct http_resp *resp)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, ctx->cfg.fal_training_timeout);
	db_p_i64(&p, ctx->cfg.claim_timeout);
	db_p_i64(&p, ctx->cfg.gen_timeout);
	cJSON *o = cJSON_CreateObject();
	int rc = add_json(&ctx->db, &st_stuck, &p, o, "stuck") |
	    add_json(&ctx->db, &st_failed, NULL, o, "failed_24h") |
	    add_json(&ctx->db, &st_notes, NULL, o, "notifications_failing") |
	    add_json(&ctx->db, &st_updates, NULL, o, "failed_updates");
	answer(resp, o, rc);
}

/* q: a Telegram id, or a username (with or without @; a prefix matches). */
static void
people(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	char q[80], like[170];
	long long id;
	struct db_params p;
	size_t n = 0;

	if (http_query_get(req->query, "q", q, sizeof(q)) != 0 || q[0] == '\0') {
		http_resp_error(resp, HTTP_400, "bad_query", "q is a Telegram id or a username");
		return;
	}
	const char *name = q[0] == '@' ? q + 1 : q;
	for (const char *c = name; *c && n + 2 < sizeof(like); c++) {
		if (*c == '%' || *c == '_' || *c == '\\')
			like[n++] = '\\';
		like[n++] = *c;
	}
	like[n] = '\0';
	db_params_init(&p);
	if (app_parse_id(q, &id) == 0)
		db_p_i64(&p, id);
	else
		db_p_null(&p);
	db_p_str(&p, like[0] ? like : NULL);
	cJSON *o = cJSON_CreateObject();
	answer(resp, o, add_json(&ctx->db, &st_people, &p, o, "people"));
}

bool
operator_stats_serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	enum { NONE, STATS, ATTENTION, PEOPLE } which = NONE;

	if (strcmp(req->path, "/api/stats") == 0)
		which = STATS;
	else if (strcmp(req->path, "/api/attention") == 0)
		which = ATTENTION;
	else if (strcmp(req->path, "/api/people") == 0)
		which = PEOPLE;
	if (which == NONE)
		return false;
	if (!app_method_is(req, "GET", resp) || app_require_admin(ctx, req, resp) != 0)
		return true;
	if (which == STATS)
		stats(ctx, req, resp);
	else if (which == ATTENTION)
		attention(ctx, resp);
	else
		people(ctx, req, resp);
	return true;
}
