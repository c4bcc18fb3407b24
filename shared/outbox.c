#include "outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tg_api.h"
#include "trigger.h"
#include "users.h"

#define OUTBOX_MAX_ATTEMPTS 30
#define OUTBOX_BATCH 256        /* rows of each kind claimed (calls in flight) at once */
#define OUTBOX_PER_SECOND 30.0  /* messages, over all chats */
#define OUTBOX_RECHECK_MS 1000  /* an idle sender looks for retries due this often */
#define OUTBOX_LOCK "4246"      /* held by the one sender */

/* The row, and a wake-up for the sender when the transaction commits. */
static struct db_stmt st_enqueue = DB_STMT("outbox_enqueue",
    "WITH ins AS (INSERT INTO notifications (user_id, chat_id, kind, dedupe_key, avatar_id,"
    " generation_id, payload, ordered) VALUES ($1, $2, $3, $4, nullif($5::bigint, 0),"
    " nullif($6::bigint, 0), $7::jsonb, $8)"
    " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id)"
    " SELECT id, pg_notify('" OUTBOX_CHANNEL "', '') FROM ins");

/* Claims due rows, none claimed by another sender right now: up to $2
 * unordered ones (a callback query's answer: whenever due) and up to $3
 * messages — of a chat's only the oldest pending one, and only while the
 * chat got fewer than 3 in the last 3 s (Telegram: about one a second per
 * chat). */
#define CLAIMABLE \
    "m.status = 'pending' AND m.next_attempt_at <= now()" \
    " AND (m.claimed_until IS NULL OR m.claimed_until < now())" \
    " AND ($1::bigint = 0 OR m.id = $1)"
static struct db_stmt st_claim = DB_STMT("outbox_claim",
    "UPDATE notifications n SET claimed_until = now() + interval '60 seconds',"
    " attempts = n.attempts + 1"
    " WHERE n.id IN (SELECT m.id FROM notifications m WHERE " CLAIMABLE
    "  AND NOT m.ordered ORDER BY m.id LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " OR n.id IN (SELECT m.id FROM notifications m WHERE " CLAIMABLE " AND m.ordered"
    "  AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.chat_id = m.chat_id"
    "   AND e.status = 'pending' AND e.ordered AND e.id < m.id)"
    "  AND (SELECT count(*) FROM notifications r WHERE r.chat_id = m.chat_id AND r.ordered"
    "   AND r.sent_at > now() - interval '3 seconds') < 3"
    "  ORDER BY m.id LIMIT $3 FOR UPDATE SKIP LOCKED)"
    " RETURNING n.id, n.chat_id, n.payload::text, n.attempts,"
    "  (SELECT is_blocked FROM users u WHERE u.id = n.user_id), n.ordered");
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
	db_p_bool(&p, !m->unordered);
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

/* A claimed row, parsed for sending. */
struct claimed {
	int64_t id, chat_id;
	int attempts;
	bool blocked, ordered;
	cJSON *payload;
	const cJSON *method, *params;
};

static void
claimed_read(const PGresult *r, int i, struct claimed *c)
{
	c->id = db_i64(r, i, 0);
	c->chat_id = db_i64(r, i, 1);
	c->payload = cJSON_Parse(db_str(r, i, 2));
	c->attempts = (int)db_i64(r, i, 3);
	c->blocked = db_bool(r, i, 4);
	c->ordered = db_bool(r, i, 5);
	c->method = cJSON_GetObjectItemCaseSensitive(c->payload, "method");
	c->params = cJSON_GetObjectItemCaseSensitive(c->payload, "params");
}

/* A row that cannot or must not go out: settled without a call. */
static bool
settle_unsendable(struct db *db, const struct claimed *c)
{
	if (c->blocked) {
		mark(db, &st_drop, c->id, "user blocked the bot", NULL);
		return true;
	}
	if (!cJSON_IsString(c->method) || !cJSON_IsObject(c->params)) {
		mark(db, &st_drop, c->id, "unreadable payload", NULL);
		return true;
	}
	return false;
}

/* What Telegram answered for a sent row; 1 when it was delivered. */
static int
settle(struct app_ctx *ctx, const struct claimed *c, struct tg_reply *r)
{
	char secs[16];

	switch (r->res) {
	case TG_OK:
		mark(&ctx->db, &st_sent, c->id, NULL, NULL);
		keep_file_id(&ctx->db, c->payload, r->result);
		log_info("outbox: notification %" PRId64 " delivered to chat %" PRId64, c->id,
		    c->chat_id);
		return 1;
	case TG_BLOCKED:
		log_info("outbox: chat %" PRId64 " blocked the bot; its messages are dropped",
		    c->chat_id);
		(void)users_mark_blocked(&ctx->db, c->chat_id);
		mark(&ctx->db, &st_drop, c->id, r->description, NULL);
		{
			struct db_params p;
			db_params_init(&p);
			db_p_i64(&p, c->chat_id);
			(void)db_exec(&ctx->db, &st_drop_chat, &p);
		}
		return 0;
	case TG_BAD:
		mark(&ctx->db, &st_drop, c->id, r->description, NULL);
		return 0;
	case TG_RETRY:
	case TG_NO_TOKEN:
		if (c->attempts >= OUTBOX_MAX_ATTEMPTS) {
			mark(&ctx->db, &st_drop, c->id, "gave up after many attempts", NULL);
			return 0;
		}
		snprintf(secs, sizeof(secs), "%d", r->retry_after > 0 ? r->retry_after :
		    backoff_seconds(c->attempts));
		mark(&ctx->db, &st_retry, c->id, secs, r->description[0] ? r->description :
		    "no answer");
		return 0;
	}
	return 0;
}

/* Telegram's overall limit: about 30 messages a second (a callback query's
 * answer is not a message).  Tokens refill continuously up to a second's
 * worth; a batch claims no more messages than there are tokens. */
struct bucket {
	double tokens;
	struct timespec at;
};

static double
bucket_fill(struct bucket *b)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (b->at.tv_sec == 0)
		b->tokens = OUTBOX_PER_SECOND;
	else
		b->tokens += OUTBOX_PER_SECOND * ((double)(now.tv_sec - b->at.tv_sec) +
		    (double)(now.tv_nsec - b->at.tv_nsec) / 1e9);
	if (b->tokens > OUTBOX_PER_SECOND)
		b->tokens = OUTBOX_PER_SECOND;
	b->at = now;
	return b->tokens;
}

/* Claims up to limit due rows and sends them at once; how many were
 * claimed (-1 on a database error), *sent how many were delivered. */
static int
deliver_batch(struct app_ctx *ctx, struct bucket *b, int64_t only_id, int limit, int *sent)
{
	struct db_params p;
	struct claimed *c = xcalloc(2 * OUTBOX_BATCH, sizeof(*c));
	struct tg_batch_call *calls = xcalloc(2 * OUTBOX_BATCH, sizeof(*calls));
	int *at = xcalloc(2 * OUTBOX_BATCH, sizeof(*at)), nc = 0;
	int msgs = (int)bucket_fill(b);

	if (limit > OUTBOX_BATCH)
		limit = OUTBOX_BATCH;
	db_params_init(&p);
	db_p_i64(&p, only_id);
	db_p_i64(&p, limit);
	db_p_i64(&p, msgs < limit ? msgs : limit);
	PGresult *r = db_run(&ctx->db, &st_claim, &p);
	int n = r == NULL ? -1 : PQntuples(r);
	if (n < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		claimed_read(r, i, &c[i]);
		if (c[i].ordered)
			b->tokens -= 1.0;
		if (settle_unsendable(&ctx->db, &c[i]))
			continue;
		calls[nc] = (struct tg_batch_call){.method = c[i].method->valuestring,
			.params = c[i].params};
		at[nc++] = i;
	}
	PQclear(r);
	tg_call_many(ctx->tg, calls, (size_t)nc, 2 * OUTBOX_BATCH);
	/* one commit for the whole batch's outcomes (a failed BEGIN: each alone) */
	bool tx = nc > 1 && db_begin(&ctx->db) == 0;
	for (int k = 0; k < nc; k++) {
		*sent += settle(ctx, &c[at[k]], &calls[k].reply);
		tg_reply_free(&calls[k].reply);
	}
	if (tx && db_commit(&ctx->db) != 0)
		log_error("outbox: a batch's outcomes not stored; its rows go again after their claim");
	for (int i = 0; i < n; i++)
		cJSON_Delete(c[i].payload);
out:
	free(c);
	free(calls);
	free(at);
	return n;
}

int
outbox_deliver(struct app_ctx *ctx, int64_t only_id, int limit)
{
	struct bucket b = {0};
	int sent = 0, n;

	while (limit > 0 && (n = deliver_batch(ctx, &b, only_id, limit, &sent)) > 0 &&
	    only_id == 0)
		limit -= n;
	return sent;
}

static struct db_stmt st_nobody_sends = DB_STMT("outbox_nobody_sends",
    "SELECT CASE WHEN pg_try_advisory_lock(" OUTBOX_LOCK ")"
    " THEN pg_advisory_unlock(" OUTBOX_LOCK ") ELSE false END");
static struct db_stmt st_sender_lock = DB_STMT("outbox_sender_lock",
    "SELECT pg_try_advisory_lock(" OUTBOX_LOCK ")");
static struct db_stmt st_listen = DB_STMT("outbox_listen", "LISTEN " OUTBOX_CHANNEL);

void
outbox_wake(struct app_ctx *ctx)
{
	PGresult *r = db_run(&ctx->db, &st_nobody_sends, NULL);

	if (r != NULL && PQntuples(r) == 1 && db_bool(r, 0, 0))
		trigger_sender();
	PQclear(r);
}

/* The sender holds the lock for its session; 1 when this one got it. */
static int
become_sender(struct app_ctx *ctx, unsigned *gen)
{
	PGresult *r = db_run(&ctx->db, &st_sender_lock, NULL);
	int won = r != NULL && PQntuples(r) == 1 && db_bool(r, 0, 0);

	PQclear(r);
	if (won && db_exec(&ctx->db, &st_listen, NULL) != 0)
		won = 0;
	*gen = ctx->db.gen;
	return won;
}

int
outbox_serve(struct app_ctx *ctx, int idle_seconds)
{
	struct bucket b = {0};
	unsigned gen;
	int sent = 0;
	time_t last = time(NULL);

	if (!become_sender(ctx, &gen))
		return 0; /* another one sends */
	log_info("outbox: sender up");
	while (time(NULL) - last < idle_seconds) {
		int n = deliver_batch(ctx, &b, 0, OUTBOX_BATCH, &sent);
		if (ctx->db.gen != gen && !become_sender(ctx, &gen))
			break; /* reconnected, and another took over meanwhile */
		if (n > 0) {
			last = time(NULL);
			continue;
		}
		/* out of message tokens: they come back at 30 a second */
		int wait = n < 0 ? 1000 : b.tokens < 1.0 ? 50 : OUTBOX_RECHECK_MS;
		if (db_wait_notify(&ctx->db, wait) < 0) {
			struct timespec ts = {1, 0};
			nanosleep(&ts, NULL); /* the database is away: db_run reconnects */
		}
	}
	log_info("outbox: sender idle for %d s after %d sent; done", idle_seconds, sent);
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
