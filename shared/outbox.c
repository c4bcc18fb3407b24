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
#define OUTBOX_LOCK "4246"      /* held by the one sender */
#define OUTBOX_BATCH 256        /* rows of each kind claimed at once */
#define OUTBOX_IN_FLIGHT 512    /* calls in flight at once */
#define OUTBOX_PER_SECOND 30.0  /* messages, over all chats */
#define OUTBOX_POLL_MS 20       /* a running sender looks for rows this often */
#define OUTBOX_REWIND_MS 250    /* button answers claimed from the first again */

/* The row, and whether a sender runs (it holds OUTBOX_LOCK): when none does,
 * outbox_wake() starts one after the commit.  No NOTIFY: it would serialize
 * every commit that queues a row (PostgreSQL's notify queue lock); a running
 * sender looks for rows every OUTBOX_POLL_MS instead. */
static struct db_stmt st_enqueue = DB_STMT("outbox_enqueue",
    "WITH ins AS (INSERT INTO notifications (user_id, chat_id, kind, dedupe_key, avatar_id,"
    " generation_id, payload, ordered) VALUES (nullif($1::bigint, 0), $2, $3, $4,"
    " nullif($5::bigint, 0),"
    " nullif($6::bigint, 0), $7::jsonb, $8)"
    " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id)"
    " SELECT id, " DB_LOCK_FREE_SQL(OUTBOX_LOCK) " FROM ins");

/* A button's answer: its own unlogged table (schema 017). */
static struct db_stmt st_answer = DB_STMT("outbox_answer",
    "WITH ins AS (INSERT INTO callback_answers (chat_id, payload) VALUES ($1, $2)"
    " RETURNING id) SELECT id, " DB_LOCK_FREE_SQL(OUTBOX_LOCK) " FROM ins");

/* Set by an enqueue that found no sender; outbox_wake() acts on it. */
static bool nobody_sends;

/* Claims due rows, none claimed by another sender right now: up to $2
 * unordered ones (a callback query's answer: whenever due) and up to $3
 * messages — of a chat's only the oldest pending one, and only while the
 * chat got fewer than 3 in the last 3 s (Telegram: about one a second per
 * chat). */
#define CLAIMABLE \
    "m.status = 'pending' AND m.next_attempt_at <= now()" \
    " AND (m.claimed_until IS NULL OR m.claimed_until < now())" \
    " AND ($1::bigint = 0 OR m.id = $1)"
/* Button answers (callback_answers) are claimed from $4 up (the sender's
 * cursor: it skips the entries of rows it has already sent and deleted);
 * those the previous release queued in notifications as before. */
#define ANSWER_DUE \
    "a.next_attempt_at <= now() AND (a.claimed_until IS NULL OR a.claimed_until < now())"
#define ANSWER_CLAIMABLE ANSWER_DUE " AND $1::bigint = 0 AND a.id > $4::bigint"
static struct db_stmt st_claim = DB_STMT("outbox_claim",
    "WITH a AS (SELECT a.id FROM callback_answers a WHERE " ANSWER_CLAIMABLE
    "  ORDER BY a.id LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " ac AS (UPDATE callback_answers c SET claimed_until = now() + interval '60 seconds',"
    "  attempts = c.attempts + 1 FROM a WHERE c.id = a.id"
    "  RETURNING c.id, c.chat_id, c.payload, c.attempts),"
    " u AS (SELECT m.id FROM notifications m WHERE " CLAIMABLE " AND NOT m.ordered"
    "  ORDER BY m.id LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " o AS (SELECT m.id FROM notifications m WHERE " CLAIMABLE " AND m.ordered"
    "  AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.chat_id = m.chat_id"
    "   AND e.status = 'pending' AND e.ordered AND e.id < m.id)"
    "  AND (SELECT count(*) FROM notifications r WHERE r.chat_id = m.chat_id AND r.ordered"
    "   AND r.sent_at > now() - interval '3 seconds') < 3"
    "  ORDER BY m.id LIMIT $3 FOR UPDATE SKIP LOCKED),"
    " nc AS (UPDATE notifications n SET claimed_until = now() + interval '60 seconds',"
    "  attempts = n.attempts + 1"
    "  FROM (SELECT id FROM u UNION ALL SELECT id FROM o) c WHERE n.id = c.id"
    "  RETURNING n.id, n.chat_id, n.payload::text, n.attempts,"
    "   (SELECT is_blocked FROM users u WHERE u.id = n.user_id), n.ordered)"
    " SELECT id, chat_id, payload, attempts, false, false, true FROM ac"
    " UNION ALL SELECT *, false FROM nc");
/* A delivered message is kept as sent (its dedupe key must outlive a
 * repeated webhook), at once: a double is what a crash before this would
 * cost.  Callback queries' answers have nothing to keep (their update is
 * deduplicated): deleted, a round's in one statement. */
static struct db_stmt st_sent = DB_STMT("outbox_sent",
    "UPDATE notifications SET status = 'sent', sent_at = now(), claimed_until = NULL,"
    " last_error = NULL WHERE id = $1");
static struct db_stmt st_answered = DB_STMT("outbox_answered",
    "DELETE FROM notifications WHERE id = ANY ($1::bigint[])");
static struct db_stmt st_answers_gone = DB_STMT("outbox_answers_gone",
    "DELETE FROM callback_answers WHERE id = ANY ($1::bigint[])");
static struct db_stmt st_answer_retry = DB_STMT("outbox_answer_retry",
    "UPDATE callback_answers SET claimed_until = NULL,"
    " next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1");
static struct db_stmt st_answer_drop = DB_STMT("outbox_answer_drop",
    "DELETE FROM callback_answers WHERE id = $1");
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

/* The enqueue's answer: the new row's id (into *ud when not NULL), and
 * whether a sender runs. */
static void
enqueued(void *ud, const PGresult *r)
{
	bool queued = PQntuples(r) == 1;
	int64_t *id = ud;

	if (id != NULL)
		*id = queued ? db_i64(r, 0, 0) : 0;
	if (queued && db_bool(r, 0, 1))
		nobody_sends = true;
}

/* A row's payload as the sender reads it: {"method", ["image_ids"],
 * "params"} (params consumed); cJSON_free it. */
static char *
payload_json(const char *method, cJSON *params, const int64_t *image_ids, int n_images)
{
	cJSON *payload = cJSON_CreateObject();

	cJSON_AddStringToObject(payload, "method", method);
	if (n_images > 0) {
		cJSON *ids = cJSON_AddArrayToObject(payload, "image_ids");
		for (int i = 0; i < n_images; i++)
			cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)image_ids[i]));
	}
	cJSON_AddItemToObject(payload, "params", params);
	char *json = cJSON_PrintUnformatted(payload);
	cJSON_Delete(payload);
	return json;
}

int
outbox_enqueue(struct db *db, struct outbox_msg *m, int64_t *id)
{
	struct db_params p;
	char *json = payload_json(m->method, m->params, m->image_ids, m->n_images);

	m->params = NULL;
	db_params_init(&p);
	db_p_i64(&p, m->user_id);
	db_p_i64(&p, m->chat_id);
	db_p_str(&p, m->kind);
	db_p_str(&p, m->dedupe_key);
	db_p_i64(&p, m->avatar_id);
	db_p_i64(&p, m->generation_id);
	db_p_str(&p, json);
	db_p_bool(&p, true); /* (false: an answer the previous release queued) */
	bool later = db_deferring(db);
	*id = 0;
	int rc = db_exec_then(db, &st_enqueue, &p, enqueued, later ? NULL : id);
	cJSON_free(json);
	if (rc != 0)
		return -1;
	return later || *id != 0;
}

int
outbox_answer(struct db *db, int64_t chat_id, const char *method, cJSON *params)
{
	struct db_params p;
	char *json = payload_json(method, params, NULL, 0);

	db_params_init(&p);
	db_p_i64(&p, chat_id);
	db_p_str(&p, json);
	int rc = db_exec_then(db, &st_answer, &p, enqueued, NULL);
	cJSON_free(json);
	return rc;
}

/* A newer state of the same thing (its kind, avatar and chat) replaces the
 * rows that have not gone yet; one in flight is left to finish. */
static struct db_stmt st_supersede = DB_STMT("outbox_supersede",
    "DELETE FROM notifications WHERE chat_id = $1 AND status = 'pending'"
    " AND kind = $2 AND avatar_id = $3"
    " AND (claimed_until IS NULL OR claimed_until < now())");

int
outbox_replace(struct db *db, struct outbox_msg *m, int64_t *id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, m->chat_id);
	db_p_str(&p, m->kind);
	db_p_i64(&p, m->avatar_id);
	if (db_exec(db, &st_supersede, &p) != 0) {
		cJSON_Delete(m->params);
		m->params = NULL;
		return -1;
	}
	return outbox_enqueue(db, m, id);
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
	bool answer; /* a row of callback_answers */
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
	c->answer = db_bool(r, i, 6);
	c->method = cJSON_GetObjectItemCaseSensitive(c->payload, "method");
	c->params = cJSON_GetObjectItemCaseSensitive(c->payload, "params");
}

/* A row that will not go: a message is kept as dropped with why; a
 * button's answer has nothing to keep. */
static void
drop(struct db *db, const struct claimed *c, const char *why)
{
	if (!c->answer) {
		mark(db, &st_drop, c->id, why, NULL);
		return;
	}
	log_warn("outbox: button answer %" PRId64 " to chat %" PRId64 " dropped: %s", c->id,
	    c->chat_id, why);
	mark(db, &st_answer_drop, c->id, NULL, NULL);
}

static void
retry(struct db *db, const struct claimed *c, const char *secs, const char *why)
{
	if (c->answer)
		mark(db, &st_answer_retry, c->id, secs, NULL);
	else
		mark(db, &st_retry, c->id, secs, why);
}

/* A row that cannot or must not go out: settled without a call. */
static bool
settle_unsendable(struct db *db, const struct claimed *c)
{
	if (c->blocked) {
		drop(db, c, "user blocked the bot");
		return true;
	}
	if (!cJSON_IsString(c->method) || !cJSON_IsObject(c->params)) {
		drop(db, c, "unreadable payload");
		return true;
	}
	return false;
}

/* What Telegram answered for a sent row; 1 when it was delivered.  A
 * delivered answer's id joins answered[0] (callback_answers) or, queued by
 * the previous release, answered[1] ("{1,2,3}"), deleted by the caller. */
static int
settle(struct app_ctx *ctx, const struct claimed *c, struct tg_reply *r, struct sbuf *answered)
{
	char secs[16];

	switch (r->res) {
	case TG_OK:
		if (!c->ordered) {
			struct sbuf *a = &answered[c->answer ? 0 : 1];
			sbuf_addf(a, "%s%" PRId64, a->len ? "," : "{", c->id);
			return 1;
		}
		mark(&ctx->db, &st_sent, c->id, NULL, NULL);
		keep_file_id(&ctx->db, c->payload, r->result);
		log_info("outbox: notification %" PRId64 " delivered to chat %" PRId64, c->id,
		    c->chat_id);
		return 1;
	case TG_BLOCKED:
		log_info("outbox: chat %" PRId64 " blocked the bot; its messages are dropped",
		    c->chat_id);
		(void)users_mark_blocked(&ctx->db, c->chat_id);
		drop(&ctx->db, c, r->description);
		{
			struct db_params p;
			db_params_init(&p);
			db_p_i64(&p, c->chat_id);
			(void)db_exec(&ctx->db, &st_drop_chat, &p);
		}
		return 0;
	case TG_BAD:
		drop(&ctx->db, c, r->description);
		return 0;
	case TG_RETRY:
	case TG_NO_TOKEN:
		if (c->attempts >= OUTBOX_MAX_ATTEMPTS) {
			drop(&ctx->db, c, "gave up after many attempts");
			return 0;
		}
		snprintf(secs, sizeof(secs), "%d", r->retry_after > 0 ? r->retry_after :
		    backoff_seconds(c->attempts));
		retry(&ctx->db, c, secs, r->description[0] ? r->description : "no answer");
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

/* One call in flight: its row and the call. */
struct slot {
	struct claimed c;
	struct tg_flight t;
	bool busy;
};

/* The calls in flight on kept-alive connections, and what was delivered
 * since it was last stored. */
struct flights {
	struct http_flow *flow;
	struct slot slots[OUTBOX_IN_FLIGHT];
	int busy, sent, answers;
	struct sbuf answered[2]; /* delivered answers' ids, not yet deleted (settle) */
	/* Button answers are claimed above this id: the highest claimed two
	 * claims ago (an answer queued before the claim before last has had
	 * time to commit); from the start again every OUTBOX_REWIND_MS, for
	 * retries and for a turn slow to commit. */
	int64_t cursor, last_high, high;
	struct timespec rewound;
};

static struct flights *
flights_new(void)
{
	struct flights *f = xcalloc(1, sizeof(*f));

	f->flow = http_flow_new();
	return f;
}

/* Deletes the delivered button answers of one table, in one statement. */
static void
answered_store(struct app_ctx *ctx, struct db_stmt *st, struct sbuf *ids)
{
	struct db_params p;

	if (ids->len == 0)
		return;
	sbuf_addc(ids, '}');
	db_params_init(&p);
	db_p_str(&p, sbuf_str(ids));
	if (db_exec(&ctx->db, st, &p) != 0)
		log_error("outbox: answered rows %s not deleted", sbuf_str(ids));
	sbuf_free(ids);
}

static void
flights_store(struct app_ctx *ctx, struct flights *f)
{
	if (f->answers == 0)
		return;
	answered_store(ctx, &st_answers_gone, &f->answered[0]);
	answered_store(ctx, &st_answered, &f->answered[1]);
	log_info("outbox: %d button answers delivered", f->answers);
	f->answers = 0;
}

/* Settles s's finished (or never started) call and frees the slot. */
static void
finish(struct app_ctx *ctx, struct flights *f, struct slot *s)
{
	int ok = settle(ctx, &s->c, &s->t.reply, f->answered);

	f->sent += ok;
	f->answers += ok && !s->c.ordered;
	tg_reply_free(&s->t.reply);
	cJSON_Delete(s->c.payload);
	s->c.payload = NULL;
	if (s->busy)
		f->busy--;
	s->busy = false;
}

static long long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Takes back the calls that finish within timeout_ms, then stores what
 * they delivered. */
static void
collect(struct app_ctx *ctx, struct flights *f, int timeout_ms)
{
	struct tg_flight *t;
	struct timespec from;
	long long left = timeout_ms;

	clock_gettime(CLOCK_MONOTONIC, &from);
	while (f->busy > 0 && (t = tg_flight_next(f->flow, (int)left)) != NULL) {
		finish(ctx, f, t->tag);
		if ((left = timeout_ms - ms_since(&from)) <= 0)
			left = 0;
		if (left == 0 && timeout_ms > 0)
			break;
	}
	flights_store(ctx, f);
}

static void
flights_free(struct app_ctx *ctx, struct flights *f)
{
	while (f->busy > 0)
		collect(ctx, f, 1000);
	http_flow_free(f->flow);
	free(f);
}

/* Starts the call of a claimed row (or settles one that must not go). */
static void
start(struct app_ctx *ctx, struct flights *f, struct slot *s)
{
	if (settle_unsendable(&ctx->db, &s->c)) {
		cJSON_Delete(s->c.payload);
		s->c.payload = NULL;
		return;
	}
	s->t = (struct tg_flight){.method = s->c.method->valuestring, .params = s->c.params,
		.tag = s};
	if (tg_flight_start(ctx->tg, f->flow, &s->t) != 0) {
		finish(ctx, f, s);
		return;
	}
	s->busy = true;
	f->busy++;
}

/* Claims up to limit due rows — messages only while b has tokens, and no
 * more than free slots — and starts their calls; how many were claimed, -1
 * on a database error. */
static int
claim(struct app_ctx *ctx, struct flights *f, struct bucket *b, int64_t only_id, int limit)
{
	struct db_params p;
	int room = OUTBOX_IN_FLIGHT - f->busy, msgs = (int)bucket_fill(b);

	if (limit > room / 3)
		limit = room / 3; /* of each kind: all three fit */
	if (limit <= 0)
		return 0;
	if (f->rewound.tv_sec == 0 || ms_since(&f->rewound) >= OUTBOX_REWIND_MS) {
		clock_gettime(CLOCK_MONOTONIC, &f->rewound);
		f->cursor = f->last_high = f->high = 0;
	}
	db_params_init(&p);
	db_p_i64(&p, only_id);
	db_p_i64(&p, limit);
	db_p_i64(&p, msgs < limit ? msgs : limit);
	db_p_i64(&p, f->cursor);
	PGresult *r = db_run(&ctx->db, &st_claim, &p);
	int n = r == NULL ? -1 : PQntuples(r), k = 0;
	f->cursor = f->last_high;
	f->last_high = f->high;
	for (int i = 0; i < n; i++) {
		while (f->slots[k].busy)
			k++;
		struct slot *s = &f->slots[k];
		claimed_read(r, i, &s->c);
		if (s->c.ordered)
			b->tokens -= 1.0;
		if (s->c.answer && s->c.id > f->high)
			f->high = s->c.id;
		start(ctx, f, s);
	}
	PQclear(r);
	return n;
}

int
outbox_deliver(struct app_ctx *ctx, int64_t only_id, int limit)
{
	struct bucket b = {0};
	struct flights *f = flights_new();
	int n;

	while (limit > 0 && (n = claim(ctx, f, &b, only_id, limit)) > 0) {
		limit -= n;
		while (f->busy > 0)
			collect(ctx, f, 200);
		if (only_id != 0)
			break;
	}
	n = f->sent;
	flights_free(ctx, f);
	return n;
}

static struct db_stmt st_sender_lock = DB_STMT("outbox_sender_lock",
    "SELECT pg_try_advisory_lock(" OUTBOX_LOCK ")");
/* The claims walk the pending indexes in order: a plain index scan marks
 * the entries of rows already sent as dead, so the next claim skips them; a
 * bitmap scan (which the planner likes for a small queue) revisits every
 * one until vacuum — tens of thousands a claim under load. */
static struct db_stmt st_sender_plan = DB_STMT("outbox_sender_plan",
    "SET enable_bitmapscan = off");
static struct db_stmt st_sender_unlock = DB_STMT("outbox_sender_unlock",
    "SELECT pg_advisory_unlock(" OUTBOX_LOCK ")");
/* (each kind of pending row through its own index) */
static struct db_stmt st_due = DB_STMT("outbox_due",
    "SELECT EXISTS (SELECT 1 FROM notifications m WHERE " CLAIMABLE " AND m.ordered)"
    " OR EXISTS (SELECT 1 FROM notifications m WHERE " CLAIMABLE " AND NOT m.ordered)"
    " OR EXISTS (SELECT 1 FROM callback_answers a WHERE $1::bigint = 0 AND " ANSWER_DUE ")");

void
outbox_wake(struct app_ctx *ctx)
{
	(void)ctx;
	if (nobody_sends)
		trigger_sender();
	nobody_sends = false;
}

/* Whether a row is due now (the sender would claim it). */
static bool
anything_due(struct app_ctx *ctx)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, 0); /* any row */
	PGresult *r = db_run(&ctx->db, &st_due, &p);
	bool due = r != NULL && PQntuples(r) == 1 && db_bool(r, 0, 0);
	PQclear(r);
	return due;
}

/* The sender holds the lock for its session; 1 when this one got it. */
static int
become_sender(struct app_ctx *ctx, unsigned *gen)
{
	PGresult *r = db_run(&ctx->db, &st_sender_lock, NULL);
	int won = r != NULL && PQntuples(r) == 1 && db_bool(r, 0, 0);

	PQclear(r);
	if (won && db_exec(&ctx->db, &st_sender_plan, NULL) != 0)
		won = 0;
	*gen = ctx->db.gen;
	return won;
}

/* Idle: gives the lock up, then looks once more after a moment — a row
 * queued by someone who saw this sender still running is not left for
 * cron.  1 when there is work again and this one is the sender again. */
static int
retire(struct app_ctx *ctx, unsigned *gen)
{
	struct timespec settle = {0, 100 * 1000000L};

	(void)db_exec(&ctx->db, &st_sender_unlock, NULL);
	nanosleep(&settle, NULL);
	return anything_due(ctx) && become_sender(ctx, gen);
}

/* Until ms after the last claim (then the claim is now), takes back the
 * calls that finish: a running sender looks for rows this often, and
 * claims batches, not single rows. */
static void
until_next_claim(struct app_ctx *ctx, struct flights *f, struct timespec *last, long ms)
{
	struct timespec now;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long left_ns = (long long)ms * 1000000 - ((long long)(now.tv_sec -
		    last->tv_sec) * 1000000000 + (now.tv_nsec - last->tv_nsec));
		if (last->tv_sec == 0 || left_ns <= 0)
			break;
		if (f->busy > 0) {
			collect(ctx, f, (int)((left_ns + 999999) / 1000000));
			continue;
		}
		struct timespec ts = {(time_t)(left_ns / 1000000000), (long)(left_ns % 1000000000)};
		nanosleep(&ts, NULL);
	}
	*last = now;
}

/* The sender stopped at its time limit: gives the lock up and, when rows
 * are still due, starts the on-demand sender to go on with them. */
static void
hand_over(struct app_ctx *ctx)
{
	(void)db_exec(&ctx->db, &st_sender_unlock, NULL);
	if (anything_due(ctx))
		trigger_sender();
}

int
outbox_serve(struct app_ctx *ctx, int idle_seconds, int max_seconds)
{
	struct bucket b = {0};
	struct timespec claimed_at = {0, 0};
	unsigned gen;
	time_t last = time(NULL), end = last + max_seconds;

	if (!become_sender(ctx, &gen))
		return 0; /* another one sends */
	log_info("outbox: sender up");
	struct flights *f = flights_new();
	for (;;) {
		int n = claim(ctx, f, &b, 0, OUTBOX_BATCH);
		if (ctx->db.gen != gen && !become_sender(ctx, &gen))
			break; /* reconnected, and another took over meanwhile */
		if (max_seconds > 0 && time(NULL) >= end) {
			while (f->busy > 0)
				collect(ctx, f, 200);
			hand_over(ctx);
			break;
		}
		if (n > 0 || f->busy > 0)
			last = time(NULL);
		else if (time(NULL) - last >= idle_seconds) {
			if (!retire(ctx, &gen))
				break;
			last = time(NULL);
		}
		/* the database away: db_run reconnects */
		until_next_claim(ctx, f, &claimed_at, n < 0 ? 1000 : OUTBOX_POLL_MS);
	}
	int sent = f->sent;
	flights_free(ctx, f);
	log_info("outbox: sender done after %d sent (idle %d s, at most %d s)", sent,
	    idle_seconds, max_seconds);
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
