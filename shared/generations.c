/*
 * generations — see generations.h.
 */
#include "generations.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fal_models.h"
#include "log.h"

/* --- create --------------------------------------------------------------------- */

#define ACTIVE_COUNT \
    "(SELECT count(*) FROM generations x WHERE x.user_id = $1" \
    " AND x.status IN ('queued', 'submitting', 'running'))"
/* The generator follows what the avatar holds ($lora / $finetune: the
 * endpoints of fal_models.c's rows). */
#define ENDPOINT_OF(a, lora, ft) \
    "CASE WHEN " a ".diffusers_lora_file_url IS NOT NULL THEN " lora " ELSE " ft " END"

static struct db_stmt st_create = DB_STMT("gen_create",
    "INSERT INTO generations (user_id, avatar_id, chat_id, template_key, user_prompt, prompt,"
    " aspect_ratio, num_images, seed, endpoint, status_message_id)"
    " SELECT $1, a.id, $3, $4, $5, $6, $7, $8, $9, " ENDPOINT_OF("a", "$11", "$12") ","
    " nullif($13::bigint, 0)"
    " FROM avatars a WHERE a.id = $2 AND a.user_id = $1 AND a.status = 'completed'"
    " AND a.deleted_at IS NULL AND " ACTIVE_COUNT " < $10 RETURNING id");
static struct db_stmt st_repeat = DB_STMT("gen_repeat",
    "INSERT INTO generations (user_id, avatar_id, chat_id, template_key, user_prompt, prompt,"
    " aspect_ratio, num_images, seed, endpoint)"
    " SELECT g.user_id, g.avatar_id, $3, g.template_key, g.user_prompt, g.prompt,"
    "  g.aspect_ratio, g.num_images, $4, " ENDPOINT_OF("a", "$6", "$7")
    " FROM generated_images i JOIN generations g ON g.id = i.generation_id"
    " JOIN avatars a ON a.id = g.avatar_id"
    " WHERE i.id = $2 AND i.user_id = $1 AND i.deleted_at IS NULL AND a.status = 'completed'"
    " AND a.deleted_at IS NULL AND " ACTIVE_COUNT " < $5 RETURNING id");
static struct db_stmt st_active = DB_STMT("gen_active", "SELECT " ACTIVE_COUNT);

static int64_t
new_seed(void)
{
	return (int64_t)randombytes_uniform(2147483647U);
}

static enum gen_create
why_not(struct app_ctx *ctx, int64_t user_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	PGresult *r = db_run(&ctx->db, &st_active, &p);
	if (r == NULL)
		return GEN_DB_ERROR;
	int n = (int)db_i64(r, 0, 0);
	PQclear(r);
	return n >= ctx->cfg.gen_max_active ? GEN_TOO_MANY : GEN_NOT_READY;
}

static enum gen_create
created(struct app_ctx *ctx, PGresult *r, int64_t user_id, int64_t *id)
{
	if (r == NULL)
		return GEN_DB_ERROR;
	int ok = PQntuples(r) == 1;
	if (ok)
		*id = db_i64(r, 0, 0);
	PQclear(r);
	if (ok)
		log_info("generation %" PRId64 " queued", *id);
	return ok ? GEN_CREATED : why_not(ctx, user_id);
}

enum gen_create
generation_create(struct app_ctx *ctx, int64_t user_id, int64_t avatar_id, int64_t chat_id,
    const char *template_key, const char *user_prompt, const char *prompt, int aspect,
    int64_t status_mid, int64_t *id)
{
	struct db_params p;

	if (aspect < 0 || aspect >= FAL_ASPECTS)
		aspect = 0;
	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_i64(&p, avatar_id);
	db_p_i64(&p, chat_id);
	db_p_str(&p, template_key);
	db_p_str(&p, user_prompt);
	db_p_str(&p, prompt);
	db_p_str(&p, fal_aspects[aspect].ratio);
	db_p_i64(&p, ctx->cfg.gen_num_images);
	db_p_i64(&p, new_seed());
	db_p_i64(&p, ctx->cfg.gen_max_active);
	db_p_str(&p, fal_generator_for(FAL_WEIGHTS_LORA)->endpoint);
	db_p_str(&p, fal_generator_for(FAL_WEIGHTS_FINETUNE)->endpoint);
	db_p_i64(&p, status_mid);
	return created(ctx, db_run(&ctx->db, &st_create, &p), user_id, id);
}

enum gen_create
generation_repeat(struct app_ctx *ctx, int64_t user_id, int64_t image_id, int64_t chat_id,
    int64_t *id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_i64(&p, image_id);
	db_p_i64(&p, chat_id);
	db_p_i64(&p, new_seed());
	db_p_i64(&p, ctx->cfg.gen_max_active);
	db_p_str(&p, fal_generator_for(FAL_WEIGHTS_LORA)->endpoint);
	db_p_str(&p, fal_generator_for(FAL_WEIGHTS_FINETUNE)->endpoint);
	return created(ctx, db_run(&ctx->db, &st_repeat, &p), user_id, id);
}

/* --- the job's rows: the job's head (job.h), then its own -------------------- */
#define GEN_COLS \
    "g.id, g.user_id, g.chat_id, u.lang, g.attempts,"                                      \
    " coalesce(extract(epoch FROM g.claimed_at)::bigint, 0), g.status = 'running',"        \
    " coalesce(g.fal_request_id, ''), g.endpoint, 'generation:' || g.id,"                \
    " g.seed, coalesce(g.template_key, ''), g.aspect_ratio, g.avatar_id,"               \
    " left(coalesce(g.user_prompt, ''), 200), coalesce(g.status_message_id, 0)"
#define GEN_NCOLS (JOB_HEAD_NCOLS + 6)

static void
read_gen(const PGresult *r, int i, struct gen_job *g)
{
	const int c = JOB_HEAD_NCOLS;

	memset(g, 0, sizeof(*g));
	job_read(r, i, &g->j);
	g->seed = db_i64(r, i, c);
	snprintf(g->template_key, sizeof(g->template_key), "%s", db_str(r, i, c + 1));
	snprintf(g->aspect, sizeof(g->aspect), "%s", db_str(r, i, c + 2));
	g->avatar_id = db_i64(r, i, c + 3);
	snprintf(g->user_prompt, sizeof(g->user_prompt), "%s", db_str(r, i, c + 4));
	g->status_mid = db_i64(r, i, c + 5);
}

/* 1 with *g read from r's one row, 0 when r has none, -1 when r is NULL. */
static int
one_gen(PGresult *r, struct gen_job *g, void (*more)(const PGresult *r, struct gen_job *g))
{
	int found = r == NULL ? -1 : PQntuples(r) == 1;

	if (found == 1)
		read_gen(r, 0, g);
	if (found == 1 && more)
		more(r, g);
	PQclear(r);
	return found;
}

static struct db_stmt st_claim = DB_STMT("gen_claim",
    "UPDATE generations g SET status = 'submitting', claimed_at = now(),"
    " attempts = g.attempts + 1 FROM avatars a, users u"
    " WHERE g.id = $1 AND g.status = 'queued' AND a.id = g.avatar_id AND u.id = g.user_id"
    " RETURNING " GEN_COLS ", g.prompt, g.num_images, coalesce(a.diffusers_lora_file_url, ''),"
    "  coalesce(a.finetune_id, '')");
static struct db_stmt st_running = DB_STMT("gen_running",
    "UPDATE generations SET status = 'running', fal_request_id = $2, status_url = $3,"
    " response_url = $4, cancel_url = $5, params = $6::jsonb WHERE id = $1"
    " AND status = 'submitting'");
static struct db_stmt st_fail = DB_STMT("gen_fail",
    "UPDATE generations SET status = 'error', error = $2, completed_at = now()"
    " WHERE id = $1 AND status = 'submitting'");
static struct db_stmt st_lock = DB_STMT("gen_lock",
    "SELECT " GEN_COLS " FROM generations g JOIN users u ON u.id = g.user_id"
    " WHERE g.fal_request_id = $1 FOR UPDATE OF g");
static struct db_stmt st_done = DB_STMT("gen_done",
    "UPDATE generations SET status = $2::generation_status, error = $3,"
    " fal_response_data = coalesce($4::jsonb, fal_response_data), completed_at = now(),"
    " last_status_check = now() WHERE id = $1 AND status = 'running'");
static struct db_stmt st_inflight = DB_STMT("gen_claim_inflight",
    "UPDATE generations g SET last_status_check = now() FROM users u"
    " WHERE u.id = g.user_id AND g.id IN (SELECT id FROM generations"
    "  WHERE status = 'running' AND (status_url IS NOT NULL OR fal_request_id LIKE 'test-%')"
    "  AND ($2::bigint = 0 OR id = $2)"
    "  AND (last_status_check IS NULL OR last_status_check"
    "   < least(now() - interval '10 seconds', to_timestamp($3::bigint)))"
    "  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " RETURNING " GEN_COLS ", coalesce(g.status_url, ''), coalesce(g.response_url, ''),"
    "  extract(epoch FROM now() - coalesce(g.claimed_at, g.created_at))::int");
static struct db_stmt st_timed_out = DB_STMT("gen_timed_out",
    "SELECT fal_request_id FROM generations WHERE status = 'running'"
    " AND created_at < now() - make_interval(secs => $1) ORDER BY id LIMIT 500");
static struct db_stmt st_due = DB_STMT("gen_each_due",
    "SELECT id FROM generations WHERE status = 'queued'"
    " AND created_at < now() - make_interval(secs => $1) ORDER BY id LIMIT 100");
/* Never submitted (the worker died before or while submitting). */
static struct db_stmt st_unsent = DB_STMT("gen_expire_unsent",
    "UPDATE generations g SET status = 'error', error = $2, completed_at = now()"
    " FROM users u WHERE u.id = g.user_id AND g.id IN (SELECT id FROM generations"
    "  WHERE status IN ('queued', 'submitting')"
    "  AND created_at < now() - make_interval(secs => $1) ORDER BY id LIMIT 500"
    "  FOR UPDATE SKIP LOCKED)"
    " RETURNING " GEN_COLS);

/* --- the job's transitions ------------------------------------------------------ */

static void
read_claim(const PGresult *r, struct gen_job *g)
{
	const int c = GEN_NCOLS;

	snprintf(g->prompt, sizeof(g->prompt), "%s", db_str(r, 0, c));
	g->num_images = (int)db_i64(r, 0, c + 1);
	snprintf(g->lora_url, sizeof(g->lora_url), "%s", db_str(r, 0, c + 2));
	snprintf(g->finetune_id, sizeof(g->finetune_id), "%s", db_str(r, 0, c + 3));
}

int
generation_claim(struct db *db, int64_t id, struct gen_job *g)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	return one_gen(db_run(db, &st_claim, &p), g, read_claim);
}

int
generation_mark_running(struct db *db, int64_t id, const struct fal_submitted *s,
    const char *params)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, s->request_id);
	db_p_str(&p, s->status_url[0] ? s->status_url : NULL);
	db_p_str(&p, s->response_url[0] ? s->response_url : NULL);
	db_p_str(&p, s->cancel_url[0] ? s->cancel_url : NULL);
	db_p_str(&p, params);
	return db_exec(db, &st_running, &p);
}

int
generation_fail_start(struct db *db, int64_t id, const char *why)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, why);
	return db_exec(db, &st_fail, &p);
}

/* A failed job queued again by the operator: counted from now (its start and
 * its timeout go by created_at); its charge's reference is unchanged, so it
 * is not charged again (nor refunded twice). */
static struct db_stmt st_requeue = DB_STMT("gen_requeue",
    "UPDATE generations SET status = 'queued', error = NULL, fal_request_id = NULL,"
    " status_url = NULL, response_url = NULL, cancel_url = NULL, fal_response_data = NULL,"
    " attempts = 0, claimed_at = NULL, next_attempt_at = now(), completed_at = NULL,"
    " last_status_check = NULL, created_at = now()"
    " WHERE id = $1 AND status = 'error' RETURNING id");

static struct db_stmt st_exists = DB_STMT("gen_exists",
    "SELECT 1 FROM generations WHERE id = $1");

int
generation_exists(struct db *db, int64_t id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	PGresult *r = db_run(db, &st_exists, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	PQclear(r);
	return n;
}

int
generation_requeue(struct db *db, int64_t id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	PGresult *r = db_run(db, &st_requeue, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	PQclear(r);
	return n;
}

static struct db_stmt st_cancel_queued = DB_STMT("gen_cancel_queued",
    "UPDATE generations g SET status = 'error', error = $2, completed_at = now()"
    " FROM users u WHERE g.id = $1 AND u.id = g.user_id AND g.status = 'queued'"
    " RETURNING " GEN_COLS);

int
generation_cancel_queued(struct db *db, int64_t id, const char *why, struct job *j)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, why);
	return one_gen(db_run(db, &st_cancel_queued, &p), (struct gen_job *)j, NULL);
}

int
generation_lock_by_request(struct db *db, const char *request_id, struct gen_job *g)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, request_id);
	return one_gen(db_run(db, &st_lock, &p), g, NULL);
}

int
generation_mark_done(struct db *db, int64_t id, bool ok, const char *error, const char *json)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, ok ? "completed" : "error");
	db_p_str(&p, ok ? NULL : error);
	db_p_str(&p, json);
	return db_exec(db, &st_done, &p);
}

int
generation_claim_inflight(struct db *db, int limit, int64_t only_id, int64_t since,
    void **rows)
{
	struct db_params p;

	*rows = NULL;
	db_params_init(&p);
	db_p_i64(&p, limit);
	db_p_i64(&p, only_id);
	db_p_i64(&p, since);
	PGresult *r = db_run(db, &st_inflight, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	struct gen_job *g = xcalloc((size_t)(n ? n : 1), sizeof(*g));
	for (int i = 0; i < n; i++) {
		read_gen(r, i, &g[i]);
		snprintf(g[i].j.status_url, sizeof(g[i].j.status_url), "%s", db_str(r, i, GEN_NCOLS));
		snprintf(g[i].j.response_url, sizeof(g[i].j.response_url), "%s",
		    db_str(r, i, GEN_NCOLS + 1));
		g[i].j.elapsed = (int)db_i64(r, i, GEN_NCOLS + 2);
	}
	PQclear(r);
	*rows = g;
	return n;
}

int
generation_each_timed_out(struct db *db, int secs, void (*fn)(void *ud, const char *request_id),
    void *ud)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, secs);
	return db_each(db, &st_timed_out, &p, 0, fn, ud);
}

int
generation_expire_unsent(struct db *db, int secs, const char *why,
    int (*fn)(void *ud, struct job *j), void *ud)
{
	struct db_params p;
	struct gen_job g;

	db_params_init(&p);
	db_p_i64(&p, secs);
	db_p_str(&p, why);
	PGresult *r = db_run(db, &st_unsent, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r), rc = n;
	for (int i = 0; i < n && rc >= 0; i++) {
		read_gen(r, i, &g);
		if (fn(ud, &g.j) != 0)
			rc = -1;
	}
	PQclear(r);
	return rc;
}

int
generation_each_due(struct db *db, int older_than, int (*fn)(void *ud, int64_t id), void *ud)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, older_than);
	return db_each_id(db, &st_due, &p, fn, ud);
}
