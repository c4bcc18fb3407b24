#include "outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tg_api.h"
#include "users.h"

#define OUTBOX_MAX_ATTEMPTS 30

static struct db_stmt st_enqueue = DB_STMT("outbox_enqueue",
    "INSERT INTO notifications (user_id, chat_id, kind, dedupe_key, avatar_id,"
    " generation_id, payload) VALUES ($1, $2, $3, $4, nullif($5::bigint, 0),"
    " nullif($6::bigint, 0), $7::jsonb)"
    " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id");

/* Claims due rows: the oldest pending one of each chat, none claimed by
 * another sender right now. */
static struct db_stmt st_claim = DB_STMT("outbox_claim",
    "UPDATE notifications n SET claimed_until = now() + interval '60 seconds',"
    " attempts = n.attempts + 1"
    " WHERE n.id IN (SELECT m.id FROM notifications m"
    "  WHERE m.status = 'pending' AND m.next_attempt_at <= now()"
    "  AND (m.claimed_until IS NULL OR m.claimed_until < now())"
    "  AND ($1::bigint = 0 OR m.id = $1)"
    "  AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.chat_id = m.chat_id"
    "   AND e.status = 'pending' AND e.id < m.id)"
    "  ORDER BY m.id LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " RETURNING n.id, n.chat_id, n.payload::text, n.attempts,"
    "  (SELECT is_blocked FROM users u WHERE u.id = n.user_id)");
static struct db_stmt st_sent = DB_STMT("outbox_sent",
    "UPDATE notifications SET status = 'sent', sent_at = now(), claimed_until = NULL,"
    " last_error = NULL WHERE id = $1");
static struct db_stmt st_retry = DB_STMT("outbox_retry",
    "UPDATE notifications SET claimed_until = NULL, last_error = $3,"
    " next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1");
static struct db_stmt st_drop = DB_STMT("outbox_drop",
    "UPDATE notifications SET status = 'dropped', claimed_until = NULL, last_error = $2"
    " WHERE id = $1");
static struct db_stmt st_file_id = DB_STMT("outbox_file_id",
    "UPDATE generated_images SET tg_file_id = coalesce(tg_file_id, $2) WHERE id = $1");
static struct db_stmt st_drop_chat = DB_STMT("outbox_drop_chat",
    "UPDATE notifications SET status = 'dropped', claimed_until = NULL,"
    " last_error = 'user blocked the bot' WHERE chat_id = $1 AND status = 'pending'");

int
outbox_enqueue(struct db *db, struct outbox_msg *m, int64_t *id)
{
	struct db_params p;
	cJSON *payload = cJSON_CreateObject();

	cJSON_AddStringToObject(payload, "method", m->method);
	if (m->n_images > 0) {
		cJSON *ids = cJSON_AddArrayToObject(payload, "image_ids");
		for (int i = 0; i < m->n_images; i++)
			cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)m->image_ids[i]));
	}
	cJSON_AddItemToObject(payload, "params", m->params);
	m->params = NULL;
	char *json = cJSON_PrintUnformatted(payload);
	cJSON_Delete(payload);
	db_params_init(&p);
	db_p_i64(&p, m->user_id);
	db_p_i64(&p, m->chat_id);
	db_p_str(&p, m->kind);
	db_p_str(&p, m->dedupe_key);
	db_p_i64(&p, m->avatar_id);
	db_p_i64(&p, m->generation_id);
	db_p_str(&p, json);
	PGresult *r = db_run(db, &st_enqueue, &p);
	cJSON_free(json);
	if (r == NULL)
		return -1;
	int queued = PQntuples(r) == 1;
	*id = queued ? db_i64(r, 0, 0) : 0;
	PQclear(r);
	return queued;
}

static void
mark(struct db *db, struct db_stmt *st, int64_t id, const char *a, const char *b)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	if (a != NULL)
		db_p_str(&p, a);
	if (b != NULL)
		db_p_str(&p, b);
	if (db_exec(db, st, &p) != 0)
		log_error("outbox: notification %" PRId64 " state not stored", id);
}

static int
backoff_seconds(int attempts)
{
	int s = 5;

	for (int i = 1; i < attempts && s < 600; i++)
		s *= 2;
	return s > 600 ? 600 : s;
}

/* The largest PhotoSize's file_id of a sent message, or NULL. */
static const char *
sent_file_id(const cJSON *message)
{
	const cJSON *photo = cJSON_GetObjectItemCaseSensitive(message, "photo");
	const cJSON *largest = cJSON_GetArrayItem(photo, cJSON_GetArraySize(photo) - 1);
	const cJSON *fid = cJSON_GetObjectItemCaseSensitive(largest, "file_id");

	return cJSON_IsString(fid) && strlen(fid->valuestring) <= 256 ? fid->valuestring : NULL;
}

/* Sent photos' file_ids, so re-sending them later costs nothing. */
static void
keep_file_id(struct db *db, const cJSON *payload, const cJSON *result)
{
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(payload, "image_ids");
	int n = cJSON_GetArraySize(ids);

	for (int i = 0; i < n; i++) {
		const cJSON *id = cJSON_GetArrayItem(ids, i);
		const char *fid = sent_file_id(cJSON_IsArray(result) ? cJSON_GetArrayItem(result, i) : result);
		struct db_params p;
		if (!cJSON_IsNumber(id) || fid == NULL)
			continue;
		db_params_init(&p);
		db_p_i64(&p, (int64_t)id->valuedouble);
		db_p_str(&p, fid);
		(void)db_exec(db, &st_file_id, &p);
	}
}

/* Sends one claimed row; returns 1 when it was delivered. */
static int
send_one(struct app_ctx *ctx, int64_t id, int64_t chat_id, const char *payload,
    int attempts, bool blocked)
{
	cJSON *j = cJSON_Parse(payload);
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(j, "method");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "params");
	struct tg_reply r;
	char secs[16];
	int sent = 0;

	if (blocked) {
		mark(&ctx->db, &st_drop, id, "user blocked the bot", NULL);
		goto out;
	}
	if (!cJSON_IsString(method) || !cJSON_IsObject(params)) {
		mark(&ctx->db, &st_drop, id, "unreadable payload", NULL);
		goto out;
	}
	switch (tg_call(ctx->tg, method->valuestring, params, &r)) {
	case TG_OK:
		mark(&ctx->db, &st_sent, id, NULL, NULL);
		keep_file_id(&ctx->db, j, r.result);
		log_info("outbox: notification %" PRId64 " delivered to chat %" PRId64, id, chat_id);
		sent = 1;
		break;
	case TG_BLOCKED:
		log_info("outbox: chat %" PRId64 " blocked the bot; its messages are dropped", chat_id);
		(void)users_mark_blocked(&ctx->db, chat_id);
		mark(&ctx->db, &st_drop, id, r.description, NULL);
		{
			struct db_params p;
			db_params_init(&p);
			db_p_i64(&p, chat_id);
			(void)db_exec(&ctx->db, &st_drop_chat, &p);
		}
		break;
	case TG_BAD:
		mark(&ctx->db, &st_drop, id, r.description, NULL);
		break;
	case TG_RETRY:
	case TG_NO_TOKEN:
		if (attempts >= OUTBOX_MAX_ATTEMPTS) {
			mark(&ctx->db, &st_drop, id, "gave up after many attempts", NULL);
			break;
		}
		snprintf(secs, sizeof(secs), "%d", r.retry_after > 0 ? r.retry_after :
		    backoff_seconds(attempts));
		mark(&ctx->db, &st_retry, id, secs, r.description[0] ? r.description : "no answer");
		break;
	}
	tg_reply_free(&r);
out:
	cJSON_Delete(j);
	return sent;
}

int
outbox_deliver(struct app_ctx *ctx, int64_t only_id, int limit)
{
	struct db_params p;
	int sent = 0;

	while (limit > 0) {
		db_params_init(&p);
		db_p_i64(&p, only_id);
		db_p_i64(&p, limit < 50 ? limit : 50);
		PGresult *r = db_run(&ctx->db, &st_claim, &p);
		if (r == NULL)
			return sent;
		int n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			sent += send_one(ctx, db_i64(r, i, 0), db_i64(r, i, 1), db_str(r, i, 2),
			    (int)db_i64(r, i, 3), db_bool(r, i, 4));
			if (i + 1 < n) {
				struct timespec ts = {0, 35 * 1000 * 1000}; /* ≈ 30 messages/s */
				nanosleep(&ts, NULL);
			}
		}
		PQclear(r);
		if (n == 0 || only_id != 0)
			break;
		limit -= n;
	}
	return sent;
}

static struct db_stmt st_prune = DB_STMT("outbox_prune",
    "DELETE FROM notifications WHERE status <> 'pending'"
    " AND created_at < now() - interval '90 days'");

int
outbox_prune(struct db *db)
{
	return db_affected(db, &st_prune, NULL);
}
