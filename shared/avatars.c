#include "avatars.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *const status_names[AV__COUNT] = {
	[AV_DRAFT] = "draft", [AV_PHOTOS] = "photos", [AV_READY] = "ready",
	[AV_QUEUED] = "queued", [AV_SUBMITTING] = "submitting",
	[AV_TRAINING] = "training", [AV_COMPLETED] = "completed",
	[AV_ERROR] = "error", [AV_CANCELLED] = "cancelled",
};

const char *
avatar_status_name(enum avatar_status s)
{
	return (unsigned)s < AV__COUNT ? status_names[s] : "draft";
}

const char *
training_type_name(enum training_type t)
{
	return t == TRAIN_STYLE ? "style" : "portrait";
}

static enum avatar_status
status_parse(const char *s)
{
	for (int i = 0; i < AV__COUNT; i++)
		if (s != NULL && strcmp(s, status_names[i]) == 0)
			return (enum avatar_status)i;
	return AV_DRAFT;
}

static struct db_stmt st_status = DB_STMT("avatar_status",
    "SELECT json_build_object("
    "  'id', a.id, 'user_id', a.user_id, 'name', a.name, 'status', a.status,"
    "  'training_type', a.training_type, 'gender', a.gender,"
    "  'training_progress', a.training_progress, 'fal_request_id', a.fal_request_id,"
    "  'fal_endpoint', a.fal_endpoint, 'attempts', a.attempts,"
    "  'photos', (SELECT count(*) FROM avatar_photos p WHERE p.avatar_id = a.id AND " PHOTO_COUNTED_SQL "),"
    "  'training_error', a.training_error, 'finetune_id', a.finetune_id,"
    "  'diffusers_lora_file_url', a.diffusers_lora_file_url,"
    "  'last_status_check', a.last_status_check, 'created_at', a.created_at,"
    "  'queued_at', a.queued_at, 'training_started_at', a.training_started_at,"
    "  'training_completed_at', a.training_completed_at)::text"
    " FROM avatars a WHERE a.id = $1 AND a.deleted_at IS NULL");

#define AVATAR_COLS \
    "a.id, a.user_id, a.name, a.status, a.training_type, coalesce(a.gender::text, ''),"  \
    " (SELECT count(*) FROM avatar_photos p WHERE p.avatar_id = a.id AND " PHOTO_COUNTED_SQL "), a.training_progress," \
    " coalesce(u.main_avatar_id = a.id, false), coalesce(a.progress_chat_id, 0),"      \
    " coalesce(a.progress_message_id, 0), to_char(a.created_at AT TIME ZONE 'UTC',"     \
    " 'YYYY-MM-DD HH24:MI'), coalesce(a.training_error, ''), coalesce(a.trigger_phrase, 'TOK')"

static struct db_stmt st_get = DB_STMT("avatar_get",
    "SELECT " AVATAR_COLS " FROM avatars a JOIN users u ON u.id = a.user_id"
    " WHERE a.id = $1 AND a.user_id = $2 AND a.deleted_at IS NULL");
static struct db_stmt st_list = DB_STMT("avatar_list",
    "SELECT " AVATAR_COLS " FROM avatars a JOIN users u ON u.id = a.user_id"
    " WHERE a.user_id = $1 AND a.deleted_at IS NULL"
    " ORDER BY a.created_at DESC, a.id DESC LIMIT $2");
static struct db_stmt st_for_gen = DB_STMT("avatar_for_generation",
    "SELECT " AVATAR_COLS " FROM avatars a JOIN users u ON u.id = a.user_id"
    " WHERE a.user_id = $1 AND a.status = 'completed' AND a.deleted_at IS NULL"
    " AND ($2::bigint = 0 OR a.id = $2)"
    " ORDER BY coalesce(a.id = u.main_avatar_id, false) DESC, a.training_completed_at DESC"
    " LIMIT $3");
static struct db_stmt st_create = DB_STMT("avatar_create",
    "INSERT INTO avatars (user_id, name) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM"
    " avatars b WHERE b.user_id = $1 AND b.deleted_at IS NULL AND lower(b.name) = lower($2))"
    " RETURNING id");
static struct db_stmt st_gender = DB_STMT("avatar_gender",
    "UPDATE avatars SET gender = $2::gender, updated_at = now()"
    " WHERE id = $1 AND status = 'draft'");
static struct db_stmt st_open_photos = DB_STMT("avatar_open_photos",
    "UPDATE avatars SET training_type = $2::training_type, status = 'photos',"
    " progress_chat_id = $3, progress_message_id = nullif($4::bigint, 0),"
    " updated_at = now() WHERE id = $1 AND status = 'draft'");
static struct db_stmt st_progress_msg = DB_STMT("avatar_progress_msg",
    "UPDATE avatars SET progress_chat_id = $2, progress_message_id = nullif($3::bigint, 0)"
    " WHERE id = $1");
static struct db_stmt st_transition = DB_STMT("avatar_transition",
    "UPDATE avatars SET status = $3::avatar_status, updated_at = now()"
    " WHERE id = $1 AND status = $2::avatar_status RETURNING id");
static struct db_stmt st_queue = DB_STMT("avatar_queue",
    "UPDATE avatars SET status = 'queued', queued_at = now(), next_attempt_at = now(),"
    " updated_at = now() WHERE id = $1 AND status = 'ready' RETURNING id");
static struct db_stmt st_requeue = DB_STMT("avatar_requeue",
    "UPDATE avatars SET status = 'queued', queued_at = now(), next_attempt_at = now(),"
    " attempts = 0, claimed_at = NULL, training_error = NULL, fal_request_id = NULL,"
    " training_progress = 0, updated_at = now()"
    " WHERE id = $1 AND status = 'error' AND deleted_at IS NULL RETURNING id");
static struct db_stmt st_discard = DB_STMT("avatar_discard",
    "DELETE FROM avatars WHERE id = $1 AND status IN ('draft', 'photos', 'ready')"
    " RETURNING id");
/* Deleting erases (schema/008_avatar_erasure.sql says what stays and why). */
static struct db_stmt st_delete = DB_STMT("avatar_delete",
    "UPDATE avatars SET deleted_at = now(), updated_at = now(), name = 'deleted',"
    " fal_request_id = NULL, gateway_request_id = NULL, diffusers_lora_file_url = NULL,"
    " config_file_url = NULL, finetune_id = NULL, trigger_phrase = NULL,"
    " finetune_comment = NULL, training_logs = NULL, training_error = NULL,"
    " webhook_url = NULL, status_url = NULL, response_url = NULL, cancel_url = NULL,"
    " fal_response_data = NULL, fal_endpoint = NULL, zip_path = NULL"
    " WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL"
    " AND status NOT IN ('submitting', 'training') RETURNING id");
static struct db_stmt st_delete_photos = DB_STMT("avatar_delete_photos",
    "DELETE FROM avatar_photos WHERE avatar_id = $1");
static struct db_stmt st_delete_trail = DB_STMT("avatar_delete_trail",
    "WITH e AS (DELETE FROM fal_events WHERE avatar_id = $1)"
    " DELETE FROM fal_webhook_tokens WHERE kind = 'avatar' AND job_id = $1");
static struct db_stmt st_delete_loras = DB_STMT("avatar_delete_loras",
    "UPDATE generations SET params = params - 'loras' - 'finetune_id'"
    " WHERE avatar_id = $1 AND params IS NOT NULL");
static struct db_stmt st_unset_main = DB_STMT("avatar_unset_main",
    "UPDATE users SET main_avatar_id = NULL WHERE id = $2 AND main_avatar_id = $1");
static struct db_stmt st_set_main = DB_STMT("avatar_set_main",
    "UPDATE users SET main_avatar_id = $1, updated_at = now() WHERE id = $2"
    " AND EXISTS (SELECT 1 FROM avatars WHERE id = $1 AND user_id = $2"
    "  AND status = 'completed' AND deleted_at IS NULL) RETURNING id");

static void
read_row(const PGresult *r, int i, struct avatar *a)
{
	const char *g = db_str(r, i, 5);

	memset(a, 0, sizeof(*a));
	a->id = db_i64(r, i, 0);
	a->user_id = db_i64(r, i, 1);
	snprintf(a->name, sizeof(a->name), "%s", db_str(r, i, 2));
	a->status = status_parse(db_str(r, i, 3));
	a->type = strcmp(db_str(r, i, 4), "style") == 0 ? TRAIN_STYLE : TRAIN_PORTRAIT;
	a->gender = strcmp(g, "male") == 0 ? 0 : strcmp(g, "female") == 0 ? 1 : -1;
	a->photos = (int)db_i64(r, i, 6);
	a->progress = (int)db_i64(r, i, 7);
	a->is_main = db_bool(r, i, 8);
	a->progress_chat_id = db_i64(r, i, 9);
	a->progress_message_id = db_i64(r, i, 10);
	snprintf(a->created, sizeof(a->created), "%s", db_str(r, i, 11));
	snprintf(a->error, sizeof(a->error), "%s", db_str(r, i, 12));
	snprintf(a->trigger, sizeof(a->trigger), "%s", db_str(r, i, 13));
}

/* Runs st with (id) or (id, other) and reports whether a row came back. */
static int
run_returning(struct db *db, struct db_stmt *st, int64_t id, const char *other,
    int64_t other_i, bool use_i)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	if (use_i)
		db_p_i64(&p, other_i);
	else if (other != NULL)
		db_p_str(&p, other);
	PGresult *r = db_run(db, st, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r) > 0 ? 1 : 0;
	PQclear(r);
	return n;
}

int
avatar_status_json(struct db *db, int64_t id, cJSON **out)
{
	struct db_params p;

	*out = NULL;
	db_params_init(&p);
	db_p_i64(&p, id);
	PGresult *r = db_run(db, &st_status, &p);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		*out = cJSON_Parse(db_str(r, 0, 0));
	PQclear(r);
	if (found && *out == NULL)
		abort(); /* PostgreSQL's JSON always parses */
	return found;
}

int
avatar_get(struct db *db, int64_t id, int64_t user_id, struct avatar *a)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_i64(&p, user_id);
	PGresult *r = db_run(db, &st_get, &p);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		read_row(r, 0, a);
	PQclear(r);
	return found;
}

int
avatar_list(struct db *db, int64_t user_id, struct avatar *out, int max)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_i64(&p, max);
	PGresult *r = db_run(db, &st_list, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	for (int i = 0; i < n && i < max; i++)
		read_row(r, i, &out[i]);
	PQclear(r);
	return n < max ? n : max;
}

static int
for_gen(struct db *db, int64_t user_id, int64_t id, struct avatar *out, int max)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_i64(&p, id);
	db_p_i64(&p, max);
	PGresult *r = db_run(db, &st_for_gen, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r) < max ? PQntuples(r) : max;
	for (int i = 0; i < n; i++)
		read_row(r, i, &out[i]);
	PQclear(r);
	return n;
}

int
avatar_for_generation(struct db *db, int64_t user_id, int64_t id, struct avatar *a)
{
	return for_gen(db, user_id, id, a, 1);
}

int
avatar_list_trained(struct db *db, int64_t user_id, struct avatar *out, int max)
{
	return for_gen(db, user_id, 0, out, max);
}

int
avatar_create(struct db *db, int64_t user_id, const char *name, int64_t *id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_str(&p, name);
	PGresult *r = db_run(db, &st_create, &p);
	if (r == NULL)
		return -1;
	int made = PQntuples(r) == 1;
	*id = made ? db_i64(r, 0, 0) : 0;
	PQclear(r);
	return made;
}

int
avatar_set_gender(struct db *db, int64_t id, int gender)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, gender == 1 ? "female" : "male");
	return db_exec(db, &st_gender, &p);
}

int
avatar_open_photos(struct db *db, int64_t id, enum training_type t, int64_t chat_id,
    int64_t message_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, training_type_name(t));
	db_p_i64(&p, chat_id);
	db_p_i64(&p, message_id);
	return db_exec(db, &st_open_photos, &p);
}

int
avatar_set_progress_message(struct db *db, int64_t id, int64_t chat_id, int64_t message_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_i64(&p, chat_id);
	db_p_i64(&p, message_id);
	return db_exec(db, &st_progress_msg, &p);
}

int
avatar_transition(struct db *db, int64_t id, enum avatar_status from,
    enum avatar_status to)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, avatar_status_name(from));
	db_p_str(&p, avatar_status_name(to));
	PGresult *r = db_run(db, &st_transition, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r) > 0;
	PQclear(r);
	return n;
}

static struct db_stmt st_op_list = DB_STMT("avatar_operator_list",
    "SELECT json_build_object('id', a.id, 'telegram_id', u.telegram_id, 'name', a.name,"
    "  'status', a.status, 'training_type', a.training_type, 'attempts', a.attempts,"
    "  'training_error', a.training_error, 'fal_request_id', a.fal_request_id,"
    "  'created_at', a.created_at, 'updated_at', a.updated_at)::text"
    " FROM avatars a JOIN users u ON u.id = a.user_id WHERE a.deleted_at IS NULL"
    " AND ($1::text IS NULL OR a.status::text = $1)"
    " AND ($2::text IS NULL OR a.training_type::text = $2)"
    " AND ($3::bigint = 0 OR a.id < $3) ORDER BY a.id DESC LIMIT $4");

int
avatar_operator_list(struct db *db, const char *status, const char *type, int64_t before,
    int limit, cJSON *items)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, status);
	db_p_str(&p, type);
	db_p_i64(&p, before);
	db_p_i64(&p, limit);
	PGresult *r = db_run(db, &st_op_list, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(items, cJSON_Parse(db_str(r, i, 0)));
	PQclear(r);
	return n;
}

int
avatar_queue(struct db *db, int64_t id, bool retry)
{
	return run_returning(db, retry ? &st_requeue : &st_queue, id, NULL, 0, false);
}

int
avatar_discard(struct db *db, int64_t id)
{
	return run_returning(db, &st_discard, id, NULL, 0, false);
}

int
avatar_delete(struct db *db, int64_t id, int64_t user_id)
{
	struct db_params p;
	int n = run_returning(db, &st_delete, id, NULL, user_id, true);

	if (n != 1)
		return n;
	db_params_init(&p);
	db_p_i64(&p, id);
	if (run_returning(db, &st_unset_main, id, NULL, user_id, true) < 0 ||
	    db_exec(db, &st_delete_photos, &p) != 0 || db_exec(db, &st_delete_trail, &p) != 0 ||
	    db_exec(db, &st_delete_loras, &p) != 0)
		return -1;
	return n;
}

int
avatar_set_main(struct db *db, int64_t id, int64_t user_id)
{
	return run_returning(db, &st_set_main, id, NULL, user_id, true);
}

static struct db_stmt st_lock_photos = DB_STMT("avatar_lock_photos_open",
    "SELECT status = 'photos' FROM avatars WHERE id = $1 FOR UPDATE");
static struct db_stmt st_progress_read = DB_STMT("avatar_photo_progress",
    "SELECT coalesce(a.progress_chat_id, 0), coalesce(a.progress_message_id, 0),"
    " a.status = 'photos', a.training_type = 'style' FROM avatars a WHERE a.id = $1");

int
avatar_lock_photos_open(struct db *db, int64_t id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	PGresult *r = db_run(db, &st_lock_photos, &p);
	if (r == NULL)
		return -1;
	int open = PQntuples(r) == 1 && db_bool(r, 0, 0);
	PQclear(r);
	return open;
}

int
avatar_photo_progress(struct db *db, int64_t id, struct avatar_photo_progress *out)
{
	struct db_params p;

	memset(out, 0, sizeof(*out));
	db_params_init(&p);
	db_p_i64(&p, id);
	PGresult *r = db_run(db, &st_progress_read, &p);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found) {
		out->chat_id = db_i64(r, 0, 0);
		out->message_id = db_i64(r, 0, 1);
		out->open = db_bool(r, 0, 2);
		out->style = db_bool(r, 0, 3);
	}
	PQclear(r);
	return found;
}

/* --- the training lifecycle's transitions --------------------------------------- */

/* One column list (and one reader) for an avatar being trained and its
 * owner, whatever statement returns it: the job's head (job.h), then its own. */
#define JOB_COLS \
    "a.id, a.user_id, u.telegram_id, u.lang, a.attempts,"                                  \
    " coalesce(extract(epoch FROM a.claimed_at)::bigint, 0), a.status = 'training',"       \
    " coalesce(a.fal_request_id, ''), coalesce(a.fal_endpoint, ''),"                      \
    " 'avatar:' || a.id || ':'"                                                          \
    "  || coalesce((extract(epoch FROM a.queued_at) * 1000000)::bigint, 0),"             \
    " a.name, a.training_type = 'style', coalesce(a.progress_message_id, 0),"             \
    " coalesce(a.zip_path, '')"
#define JOB_NCOLS (JOB_HEAD_NCOLS + 4)

static void
read_job(const PGresult *r, int i, struct avatar_job *a)
{
	const int c = JOB_HEAD_NCOLS;

	memset(a, 0, sizeof(*a));
	job_read(r, i, &a->j);
	snprintf(a->name, sizeof(a->name), "%s", db_str(r, i, c));
	a->style = db_bool(r, i, c + 1);
	a->progress_mid = db_i64(r, i, c + 2);
	snprintf(a->zip_path, sizeof(a->zip_path), "%s", db_str(r, i, c + 3));
}

static struct db_stmt st_train_claim = DB_STMT("avatar_claim_for_training",
    "UPDATE avatars a SET status = 'submitting', claimed_at = now(),"
    " attempts = a.attempts + 1, updated_at = now()"
    " FROM users u WHERE a.id = $1 AND u.id = a.user_id AND a.status = 'queued'"
    " AND a.deleted_at IS NULL AND (a.next_attempt_at IS NULL OR a.next_attempt_at <= now())"
    " AND (SELECT count(*) FROM avatars b WHERE b.status = 'submitting'"
    "  AND b.claimed_at > now() - make_interval(secs => $3)) < $2"
    " RETURNING " JOB_COLS);
/* One claim at a time counts the others (START_TRAINING_MAX_PARALLEL). */
static struct db_stmt st_train_claim_lock = DB_STMT("avatar_claim_lock",
    "SELECT pg_advisory_xact_lock(4245)");

static struct db_stmt st_train_exists = DB_STMT("avatar_exists",
    "SELECT 1 FROM avatars WHERE id = $1 AND deleted_at IS NULL");

static struct db_stmt st_train_settings = DB_STMT("avatar_store_settings",
    "UPDATE avatars SET fal_endpoint = $2, learning_rate = nullif($3::float8, 0), steps = $4,"
    " trigger_phrase = $5, multiresolution_training = $6, subject_crop = $7,"
    " create_masks = $8, captioning = $9, finetune_type = $10::finetune_type,"
    " finetune_comment = nullif($11, ''), fal_priority = $12::fal_priority,"
    " updated_at = now() WHERE id = $1 AND status = 'submitting'");

static struct db_stmt st_train_store = DB_STMT("avatar_mark_training",
    "UPDATE avatars SET status = 'training', fal_request_id = $2, gateway_request_id = $3,"
    " status_url = $4, response_url = $5, cancel_url = $6, webhook_url = $7, zip_path = $8,"
    " fal_response_data = $9::jsonb, training_started_at = now(), training_progress = 0,"
    " in_progress_since = NULL,"
    " training_error = NULL, last_status_check = NULL, progress_edited_at = now(),"
    " updated_at = now() WHERE id = $1 AND status = 'submitting'");

static struct db_stmt st_train_give_back = DB_STMT("avatar_give_back",
    "UPDATE avatars SET status = 'queued', claimed_at = NULL, training_error = $2,"
    " next_attempt_at = now() + make_interval(secs => $3), updated_at = now(),"
    " zip_path = NULL WHERE id = $1 AND status = 'submitting'");

static struct db_stmt st_train_fail = DB_STMT("avatar_fail_start",
    "UPDATE avatars SET status = 'error', training_error = $2, claimed_at = NULL,"
    " zip_path = NULL, updated_at = now() WHERE id = $1 AND status = 'submitting'");

/* 1 with *a read from r's one row, 0 when r has none, -1 when r is NULL. */
static int
one_job(PGresult *r, struct avatar_job *a)
{
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		read_job(r, 0, a);
	PQclear(r);
	return found;
}

int
avatar_claim_for_training(struct db *db, int64_t id, int max_parallel, int claim_timeout,
    struct avatar_job *a)
{
	struct db_params p;

	if (db_exec(db, &st_train_claim_lock, NULL) != 0)
		return -1;
	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_i64(&p, max_parallel);
	db_p_i64(&p, claim_timeout);
	return one_job(db_run(db, &st_train_claim, &p), a);
}

int
avatar_exists(struct db *db, int64_t id)
{
	return run_returning(db, &st_train_exists, id, NULL, 0, false);
}

int
avatar_store_settings(struct db *db, int64_t id, const struct fal_train_params *tp)
{
	struct db_params p;
	char lr[32];

	snprintf(lr, sizeof(lr), "%.10g", tp->learning_rate);
	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, tp->endpoint);
	db_p_str(&p, lr);
	db_p_i64(&p, tp->steps);
	db_p_str(&p, tp->trigger);
	db_p_bool(&p, tp->multiresolution);
	db_p_bool(&p, tp->subject_crop);
	db_p_bool(&p, tp->create_masks);
	db_p_bool(&p, tp->captioning);
	db_p_str(&p, tp->finetune_type);
	db_p_str(&p, tp->finetune_comment);
	db_p_str(&p, tp->priority);
	return db_exec(db, &st_train_settings, &p);
}

int
avatar_mark_training(struct db *db, int64_t id, const struct fal_submitted *sub,
    const char *webhook, const char *zip_path, const char *answer)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, sub->request_id);
	db_p_str(&p, sub->gateway_request_id[0] ? sub->gateway_request_id : NULL);
	db_p_str(&p, sub->status_url[0] ? sub->status_url : NULL);
	db_p_str(&p, sub->response_url[0] ? sub->response_url : NULL);
	db_p_str(&p, sub->cancel_url[0] ? sub->cancel_url : NULL);
	db_p_str(&p, webhook);
	db_p_str(&p, zip_path);
	db_p_str(&p, answer);
	return db_exec(db, &st_train_store, &p);
}

int
avatar_give_back(struct db *db, int64_t id, const char *why, int secs)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, why);
	db_p_i64(&p, secs);
	return db_exec(db, &st_train_give_back, &p);
}

int
avatar_fail_start(struct db *db, int64_t id, const char *why)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, why);
	return db_exec(db, &st_train_fail, &p);
}

static struct db_stmt st_lock_request = DB_STMT("avatar_lock_by_request",
    "SELECT " JOB_COLS
    " FROM avatars a JOIN users u ON u.id = a.user_id WHERE a.fal_request_id = $1"
    " FOR UPDATE OF a");
/* A completion for one of our avatars whose submission outcome we never
 * learned (the submitter died between FAL's answer and storing it): the
 * webhook's token proves we sent this request for this avatar. */
static struct db_stmt st_adopt = DB_STMT("avatar_adopt",
    "UPDATE avatars SET status = 'training', fal_request_id = $1, claimed_at = NULL,"
    " training_started_at = coalesce(training_started_at, now()), updated_at = now()"
    " WHERE id = $2 AND status IN ('queued', 'submitting') AND fal_request_id IS NULL"
    " AND attempts > 0 RETURNING id");
static struct db_stmt st_completed = DB_STMT("avatar_mark_completed",
    "UPDATE avatars SET status = 'completed', diffusers_lora_file_url = nullif($2, ''),"
    " config_file_url = nullif($3, ''), finetune_id = nullif($4, ''),"
    " training_logs = coalesce($5, training_logs), fal_response_data = coalesce($6::jsonb,"
    " fal_response_data), training_progress = 100, training_completed_at = now(),"
    " last_status_check = now(), training_error = NULL, updated_at = now()"
    " WHERE id = $1 AND status = 'training'");
static struct db_stmt st_errored = DB_STMT("avatar_mark_errored",
    "UPDATE avatars SET status = 'error', training_error = $2,"
    " training_logs = coalesce($3, training_logs), fal_response_data = coalesce($4::jsonb,"
    " fal_response_data), training_completed_at = now(), last_status_check = now(),"
    " updated_at = now() WHERE id = $1 AND status = 'training'");

/* 1 when request_id became avatar aid's request, 0 when it did not, -1. */
static int
adopt(struct db *db, const char *request_id, int64_t aid)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, request_id);
	db_p_i64(&p, aid);
	PGresult *r = db_run(db, &st_adopt, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	PQclear(r);
	if (n == 1)
		log_warn("avatar %" PRId64 ": adopted FAL request %s (its submitter died before"
		    " storing it)", aid, request_id);
	return n;
}

static struct db_stmt st_cancel_queued = DB_STMT("avatar_cancel_queued",
    "UPDATE avatars a SET status = 'error', training_error = $2, claimed_at = NULL,"
    " training_completed_at = now(), updated_at = now()"
    " FROM users u WHERE a.id = $1 AND u.id = a.user_id AND a.status = 'queued'"
    " AND a.deleted_at IS NULL RETURNING " JOB_COLS);

int
avatar_cancel_queued(struct db *db, int64_t id, const char *why, struct avatar_job *a)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, why);
	return one_job(db_run(db, &st_cancel_queued, &p), a);
}

int
avatar_lock_by_request(struct db *db, const char *request_id, int64_t expect_avatar,
    struct avatar_job *a)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, request_id);
	PGresult *r = db_run(db, &st_lock_request, &p);
	bool adopted = false;
	if (r != NULL && PQntuples(r) == 0 && expect_avatar != 0 &&
	    adopt(db, request_id, expect_avatar) == 1) {
		PQclear(r);
		r = db_run(db, &st_lock_request, &p);
		adopted = true;
	}
	int n = one_job(r, a);
	a->j.adopted = adopted;
	return n;
}

int
avatar_mark_completed(struct db *db, int64_t id, const struct fal_result *r, const char *logs,
    const char *json)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, r->lora_url);
	db_p_str(&p, r->config_url);
	db_p_str(&p, r->finetune_id);
	db_p_str(&p, logs);
	db_p_str(&p, json);
	return db_exec(db, &st_completed, &p);
}

int
avatar_mark_errored(struct db *db, int64_t id, const char *error, const char *logs,
    const char *json)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, error);
	db_p_str(&p, logs);
	db_p_str(&p, json);
	return db_exec(db, &st_errored, &p);
}

/* --- trainings in flight (the poller) ------------------------------------------ */

static struct db_stmt st_inflight = DB_STMT("avatar_claim_inflight",
    "UPDATE avatars a SET last_status_check = now() FROM users u"
    " WHERE u.id = a.user_id AND a.id IN (SELECT id FROM avatars"
    "  WHERE status = 'training' AND fal_request_id IS NOT NULL"
    "  AND ($2::bigint = 0 OR id = $2)"
    "  AND (last_status_check IS NULL OR id = $2 OR last_status_check"
    "   < least(now() - interval '15 seconds', to_timestamp($3::bigint)))"
    "  ORDER BY last_status_check NULLS FIRST, id LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " RETURNING " JOB_COLS ", coalesce(a.status_url, ''), coalesce(a.response_url, ''),"
    "  extract(epoch FROM now() - a.training_started_at)::int, a.training_progress,"
    "  coalesce(extract(epoch FROM now() - a.progress_edited_at)::int, 100000)");
static struct db_stmt st_record_progress = DB_STMT("avatar_record_progress",
    "UPDATE avatars SET training_logs = coalesce(nullif($2, ''), training_logs),"
    " training_progress = greatest(training_progress, $3::int),"
    " in_progress_since = CASE WHEN $4 THEN coalesce(in_progress_since, now())"
    "  ELSE in_progress_since END,"
    " progress_edited_at = CASE WHEN $5 THEN now() ELSE progress_edited_at END"
    " WHERE id = $1 AND status = 'training'");
static struct db_stmt st_take_zip = DB_STMT("avatar_take_zip",
    "UPDATE avatars a SET zip_path = NULL FROM (SELECT id, zip_path FROM avatars"
    "  WHERE id = $1 AND zip_path IS NOT NULL AND ($2::int < 0"
    "   OR in_progress_since <= now() - make_interval(secs => $2)) FOR UPDATE) o"
    " WHERE a.id = o.id RETURNING o.zip_path");

static void
read_inflight(const PGresult *r, int i, struct avatar_job *a)
{
	const int c = JOB_NCOLS;

	read_job(r, i, a);
	snprintf(a->j.status_url, sizeof(a->j.status_url), "%s", db_str(r, i, c));
	snprintf(a->j.response_url, sizeof(a->j.response_url), "%s", db_str(r, i, c + 1));
	a->j.elapsed = (int)db_i64(r, i, c + 2);
	a->progress = (int)db_i64(r, i, c + 3);
	a->since_edit = (int)db_i64(r, i, c + 4);
}

int
avatar_claim_inflight(struct db *db, int limit, int64_t only_id, int64_t since,
    void **rows)
{
	struct db_params p;
	struct avatar_job *out;

	*rows = NULL;
	db_params_init(&p);
	db_p_i64(&p, limit);
	db_p_i64(&p, only_id);
	db_p_i64(&p, since);
	PGresult *r = db_run(db, &st_inflight, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	out = xcalloc((size_t)(n ? n : 1), sizeof(*out));
	for (int i = 0; i < n; i++)
		read_inflight(r, i, &out[i]);
	PQclear(r);
	*rows = out;
	return n;
}

int
avatar_record_progress(struct db *db, int64_t id, const char *logs, int progress,
    bool running, bool edited)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, logs);
	db_p_i64(&p, progress);
	db_p_bool(&p, running);
	db_p_bool(&p, edited);
	if (edited)
		return db_affected(db, &st_record_progress, &p);
	return db_exec(db, &st_record_progress, &p);
}

int
avatar_take_zip(struct db *db, int64_t id, int running_for, char *out, size_t outlen)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_i64(&p, running_for);
	PGresult *r = db_run(db, &st_take_zip, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	if (n == 1)
		snprintf(out, outlen, "%s", db_str(r, 0, 0));
	PQclear(r);
	return n;
}

static struct db_stmt st_due = DB_STMT("avatar_each_due",
    "SELECT id FROM avatars WHERE status = 'queued' AND deleted_at IS NULL"
    " AND coalesce(next_attempt_at, now()) <= now()"
    " AND (queued_at < now() - make_interval(secs => $1) OR attempts > 0)"
    " ORDER BY queued_at LIMIT 100");

int
avatar_each_due(struct db *db, int older_than, int (*fn)(void *ud, int64_t id), void *ud)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, older_than);
	return db_each_id(db, &st_due, &p, fn, ud);
}

/* --- the startup checker's rows --------------------------------------------------- */

static struct db_stmt st_crashed = DB_STMT("avatar_requeue_crashed",
    "UPDATE avatars SET status = 'queued', claimed_at = NULL, next_attempt_at = now(),"
    " zip_path = NULL, updated_at = now() WHERE status = 'submitting'"
    " AND claimed_at < now() - make_interval(secs => $1) RETURNING id");
static struct db_stmt st_timed_out = DB_STMT("avatar_each_timed_out",
    "SELECT a.id, a.fal_request_id FROM avatars a WHERE a.status = 'training'"
    " AND a.training_started_at < now() - make_interval(secs => $1) LIMIT 1000");
static struct db_stmt st_zip_paths = DB_STMT("avatar_each_finished_zip",
    "SELECT id, zip_path FROM avatars WHERE zip_path IS NOT NULL"
    " AND (status IN ('completed', 'error', 'cancelled') OR deleted_at IS NOT NULL)"
    " AND updated_at < now() - interval '10 minutes' LIMIT 1000");
static struct db_stmt st_zip_known = DB_STMT("avatar_zip_known",
    "SELECT 1 FROM avatars WHERE zip_path = $1");
static struct db_stmt st_zip_forget = DB_STMT("avatar_forget_zip",
    "UPDATE avatars SET zip_path = NULL WHERE id = $1");

int
avatar_requeue_crashed(struct db *db, int older_than)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, older_than);
	PGresult *r = db_run(db, &st_crashed, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	for (int i = 0; i < n; i++)
		log_warn("avatar %s: claim crashed; back in the queue", db_str(r, i, 0));
	PQclear(r);
	return n;
}

int
avatar_each_timed_out(struct db *db, int older_than, void (*fn)(void *ud, const char *request_id),
    void *ud)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, older_than);
	return db_each(db, &st_timed_out, &p, 1, fn, ud);
}

int
avatar_each_finished_zip(struct db *db, void (*fn)(void *ud, int64_t id, const char *path),
    void *ud)
{
	PGresult *r = db_run(db, &st_zip_paths, NULL);

	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	for (int i = 0; i < n; i++)
		fn(ud, db_i64(r, i, 0), db_str(r, i, 1));
	PQclear(r);
	return n;
}

int
avatar_zip_known(struct db *db, const char *path)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, path);
	PGresult *r = db_run(db, &st_zip_known, &p);
	int n = r == NULL ? -1 : PQntuples(r) > 0;

	PQclear(r);
	return n;
}

static struct db_stmt st_zip_attach = DB_STMT("avatar_attach_zip",
    "UPDATE avatars SET zip_oid = $2::oid, zip_path = $3"
    " WHERE id = $1 AND status = 'submitting' RETURNING id");
/* a zip FAL may still fetch: its training is being submitted or runs */
static struct db_stmt st_zip_of = DB_STMT("avatar_zip_of",
    "SELECT zip_oid FROM avatars WHERE zip_path = $1 AND zip_oid IS NOT NULL"
    " AND status IN ('submitting', 'training') AND deleted_at IS NULL");

int
avatar_attach_zip(struct db *db, int64_t id, const char *oid, const char *name)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, oid);
	db_p_str(&p, name);
	PGresult *r = db_run(db, &st_zip_attach, &p);
	int n = r == NULL ? -1 : PQntuples(r);
	PQclear(r);
	return n;
}

int
avatar_zip_of(struct db *db, const char *name, char *oid, size_t len)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, name);
	PGresult *r = db_run(db, &st_zip_of, &p);
	int n = r == NULL ? -1 : PQntuples(r) == 1;
	if (n == 1)
		snprintf(oid, len, "%s", db_str(r, 0, 0));
	PQclear(r);
	return n;
}

int
avatar_forget_zip(struct db *db, int64_t id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	return db_exec(db, &st_zip_forget, &p);
}
