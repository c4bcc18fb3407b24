/*
 * db — lazy connect, per-connection statement preparation, one retry after
 * a lost connection when no transaction is open.
 */
#include "db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sbuf.h"

void
db_params_init(struct db_params *p)
{
	p->n = 0;
}

static void
db_p_add(struct db_params *p, const char *v)
{
	if (p->n >= DB_MAX_PARAMS)
		abort(); /* a programming error, not an input error */
	p->v[p->n++] = v;
}

void
db_p_str(struct db_params *p, const char *s)
{
	db_p_add(p, s);
}

void
db_p_i64(struct db_params *p, int64_t v)
{
	snprintf(p->num[p->n < DB_MAX_PARAMS ? p->n : 0], sizeof(p->num[0]),
	    "%" PRId64, v);
	db_p_add(p, p->num[p->n]);
}

void
db_p_bool(struct db_params *p, bool v)
{
	db_p_add(p, v ? "true" : "false");
}

void
db_p_null(struct db_params *p)
{
	db_p_add(p, NULL);
}

void
db_init(struct db *db, const char *conninfo)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = xstrdup(conninfo);
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	(void)db_settle(db);
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db->conninfo);
	memset(db, 0, sizeof(*db));
}

/* Closes a connection that is broken (or stuck).  Outside a transaction
 * the next statement opens a fresh one; inside, statements fail until the
 * caller rolls back (its transaction went with the connection). */
static void
db_drop(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->n_sent = 0;
	db->pipe_failed = false;
	db->unawaited = false;
	PQclear(db->unawaited_commit);
	db->unawaited_commit = NULL;
}

static void
db_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* NOTICEs (e.g. "relation exists, skipping") are not events */
}

int
db_connect(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	db_drop(db);
	db->in_tx = false;
	db->defer = false;
	db->conn = PQconnectdb(db->conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		/* libpq's message names host/socket, never the password */
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db->conn));
		log_error("db: cannot connect: %s", msg);
		snprintf(db->failed, sizeof(db->failed), "08001");
		snprintf(db->failed_msg, sizeof(db->failed_msg), "cannot connect");
		PQfinish(db->conn);
		db->conn = NULL;
		return -1;
	}
	PQsetNoticeProcessor(db->conn, db_notice, NULL);
	db->gen++;
	db->ro_session = false; /* a new session: PostgreSQL's default */
	return 0;
}

static void
db_note_failure(struct db *db, const PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char msg[256];

	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state ? state : "");
	const char *m = r ? PQresultErrorMessage(r) : "";
	snprintf(msg, sizeof(msg), "%s", m[0] ? m : PQerrorMessage(db->conn));
	msg[strcspn(msg, "\n")] = '\0'; /* one line: libpq's first */
	/* no SQLSTATE: the connection broke under the statement */
	snprintf(db->failed, sizeof(db->failed), "%s", state ? state : "08006");
	snprintf(db->failed_msg, sizeof(db->failed_msg), "%.199s", msg);
	if (strcmp(db->sqlstate, "23505") == 0)
		log_debug("db: %s: unique violation", what);
	else if (db->read_only && strcmp(db->sqlstate, "25006") == 0)
		log_debug("db: %s: a write outside the lock, refused", what);
	else
		log_error("db: %s failed (%s): %s", what, db->sqlstate, msg);
}

/* READ WRITE whatever the session's default (db_read_only()). */
static struct db_stmt st_begin = DB_STMT("db_begin", "BEGIN READ WRITE");
static struct db_stmt st_commit = DB_STMT("db_commit", "COMMIT");
static struct db_stmt st_rollback = DB_STMT("db_rollback", "ROLLBACK");
/* The session's default for the transactions of statements sent outside
 * one (db_read_only()): is_local false, so it outlives the statement. */
static struct db_stmt st_ro_on = DB_STMT("db_ro_on",
    "SELECT set_config('default_transaction_read_only', 'on', false)");
static struct db_stmt st_ro_off = DB_STMT("db_ro_off",
    "SELECT set_config('default_transaction_read_only', 'off', false)");

/* Prepares st on this connection if it is not yet; 0 or -1. */
static int
db_prepare(struct db *db, struct db_stmt *st)
{
	if (st->prepared_gen == db->gen)
		return 0;
	PGresult *r = PQprepare(db->conn, st->name, st->sql, 0, NULL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		db_note_failure(db, r, st->name);
	PQclear(r);
	if (ok)
		st->prepared_gen = db->gen;
	return ok ? 0 : -1;
}

static PGresult *
db_try(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	if (db_prepare(db, st) != 0)
		return NULL;
	PGresult *r = PQexecPrepared(db->conn, st->name, p ? p->n : 0,
	    p ? p->v : NULL, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(r);
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return r;
	db_note_failure(db, r, st->name);
	PQclear(r);
	return NULL;
}

/* --- the pipeline: statements sent, their results read in one round trip ---------- */

static bool
is_write(const struct db_stmt *st)
{
	return strncmp(st->sql, "SELECT", 6) != 0 && st != &st_begin && st != &st_commit &&
	    st != &st_rollback;
}

/* Forgets what was sent: the connection went with it. */
static void
pipe_forget(struct db *db)
{
	db->n_sent = 0;
	db->pipe_failed = false;
}

static int
pipe_push(struct db *db, struct db_stmt *st, bool prepare, PGresult **out,
    void (*fn)(void *, const PGresult *), void *ud)
{
	if (db->n_sent >= DB_MAX_SENT) {
		log_error("db: more than %d statements in one round trip (%s)", DB_MAX_SENT,
		    st->name);
		db->pipe_failed = true;
		return -1;
	}
	db->sent[db->n_sent++] = (struct db_sent){st, prepare, out, fn, ud};
	return 0;
}

/* Adds st (prepared first when this connection has not seen it) to the
 * pipeline; its result is stored in *out (when out is not NULL) or shown to
 * fn when the pipeline is read.  -1 when it cannot be sent (the pipeline
 * then fails as a whole). */
static int
pipe_send(struct db *db, struct db_stmt *st, const struct db_params *p, PGresult **out,
    void (*fn)(void *, const PGresult *), void *ud)
{
	if (out != NULL)
		*out = NULL;
	if (db->pipe_failed)
		return -1;
	if (PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF && PQenterPipelineMode(db->conn) != 1)
		goto broken;
	if (st->prepared_gen != db->gen) {
		if (PQsendPrepare(db->conn, st->name, st->sql, 0, NULL) != 1 ||
		    pipe_push(db, st, true, NULL, NULL, NULL) != 0)
			goto broken;
		st->prepared_gen = db->gen;
	}
	if (PQsendQueryPrepared(db->conn, st->name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL,
	    0) != 1 || pipe_push(db, st, false, out, fn, ud) != 0)
		goto broken;
	if (is_write(st))
		db->writes++;
	return 0;
broken:
	if (!db->pipe_failed)
		db_note_failure(db, NULL, st->name);
	db->pipe_failed = true;
	return -1;
}

/* The result of one pipelined query (the NULL that ends it read too);
 * NULL, with *ok false, when it failed.  The first failure is noted;
 * the statements after it come back "aborted" and are not. */
static PGresult *
pipe_result(struct db *db, const struct db_sent *s, bool *ok)
{
	PGresult *r = PQgetResult(db->conn), *end;
	ExecStatusType st = PQresultStatus(r);

	while (r != NULL && (end = PQgetResult(db->conn)) != NULL)
		PQclear(end);
	if (r != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
		return r;
	if (*ok && st != PGRES_PIPELINE_ABORTED)
		db_note_failure(db, r, s->st->name);
	if (s->prepare)
		s->st->prepared_gen = 0;
	*ok = false;
	PQclear(r);
	return NULL;
}

/* Sends the end of the pipeline (a sync point) and flushes it; -1 with the
 * connection dropped when it cannot. */
static int
pipe_sync(struct db *db)
{
	if (PQpipelineSync(db->conn) == 1 && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (!db->pipe_failed)
		db_note_failure(db, NULL, "pipeline");
	db_drop(db);
	return -1;
}

/* Reads every result of a synced pipeline, in order: into each statement's
 * *out or to its fn.  0 when all succeeded; on a failure every *out is
 * NULL.  The connection leaves pipeline mode (or is dropped when it
 * cannot). */
static int
pipe_read(struct db *db)
{
	bool ok = !db->pipe_failed;
	int n = db->n_sent;

	for (int i = 0; i < n && PQstatus(db->conn) == CONNECTION_OK; i++) {
		struct db_sent *s = &db->sent[i];
		PGresult *r = pipe_result(db, s, &ok);
		if (r != NULL && s->fn != NULL)
			s->fn(s->ud, r);
		if (r != NULL && s->out != NULL)
			*s->out = r;
		else
			PQclear(r);
	}
	PGresult *sync = PQgetResult(db->conn);
	if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
		ok = false;
	PQclear(sync);
	for (int i = 0; !ok && i < n; i++)
		if (db->sent[i].out != NULL) {
			PQclear(*db->sent[i].out);
			*db->sent[i].out = NULL;
		}
	pipe_forget(db);
	if (PQexitPipelineMode(db->conn) != 1) {
		db_drop(db);
		return -1;
	}
	return ok ? 0 : -1;
}

/* Sends what the pipeline holds and reads every result. */
static int
pipe_collect(struct db *db)
{
	return pipe_sync(db) == 0 ? pipe_read(db) : -1;
}

static void tx_ended(struct db *db);

int
db_settle(struct db *db)
{
	if (!db->unawaited)
		return 0;
	db->unawaited = false;
	if (db->conn == NULL)
		return -1;
	db->in_tx = true; /* until the answer says it ended */
	int rc = pipe_read(db);
	if (rc == 0 && strcmp(PQcmdStatus(db->unawaited_commit), "COMMIT") != 0)
		rc = -1;
	PQclear(db->unawaited_commit);
	db->unawaited_commit = NULL;
	if (rc != 0)
		log_error("db: a commit not waited for failed (%s)", db->failed);
	tx_ended(db);
	return rc;
}

/* st after what the pipeline holds, all in one round trip; its result. */
static PGresult *
pipe_run(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	PGresult *r = NULL;

	if (pipe_send(db, st, p, &r, NULL, NULL) != 0 || pipe_collect(db) != 0) {
		if (db->n_sent > 0)
			(void)pipe_collect(db);
		return NULL;
	}
	return r;
}

/* --- statements ------------------------------------------------------------------------ */

/* Whether a lost connection may be replaced and st run again: nothing of
 * a transaction would be lost (none open, or only its BEGIN sent). */
static bool
replayable(const struct db *db)
{
	return !db->in_tx || db->tx_unstarted;
}

/* The session's default made what db_read_only() asked, outside a
 * transaction, in a round trip of its own: the statement after it must
 * start a transaction of the new kind.  A process switches seldom (a turn
 * under the lock begins READ WRITE whatever the default).  0 or -1. */
static int
ro_switch(struct db *db)
{
	struct db_stmt *st = db->read_only ? &st_ro_on : &st_ro_off;
	PGresult *r = db->n_sent > 0 ? pipe_run(db, st, NULL) : db_try(db, st, NULL);

	if (r == NULL)
		return -1;
	PQclear(r);
	db->ro_session = db->read_only;
	return 0;
}

static PGresult *
db_once(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	if (!db->in_tx && db->ro_session != db->read_only && ro_switch(db) != 0)
		return NULL;
	if (db->n_sent > 0)
		return pipe_run(db, st, p);
	PGresult *r = db_try(db, st, p);
	if (r != NULL && is_write(st))
		db->writes++;
	return r;
}

PGresult *
db_run(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	(void)db_settle(db);
	db->sqlstate[0] = '\0';
	if (db->conn == NULL && db->in_tx) {
		snprintf(db->failed, sizeof(db->failed), "08003");
		return NULL;
	}
	if (db_connect(db) != 0)
		return NULL;
	bool again = replayable(db), tx = db->in_tx;
	PGresult *r = db_once(db, st, p);
	db->tx_unstarted = false;
	if (r == NULL && again && (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)) {
		log_warn("db: connection lost, reconnecting");
		db_drop(db);
		db->in_tx = false;
		if (db_connect(db) == 0 && (!tx || db_begin(db) == 0))
			r = db_once(db, st, p);
		db->tx_unstarted = false;
	}
	if (r == NULL && db->conn != NULL && PQstatus(db->conn) != CONNECTION_OK)
		db_drop(db);
	if (r == NULL && db->read_only)
		db->refused = true;
	return r;
}

int
db_exec_then(struct db *db, struct db_stmt *st, const struct db_params *p,
    void (*fn)(void *ud, const PGresult *r), void *ud)
{
	if (db->defer && db->in_tx && db->conn != NULL) {
		db->sqlstate[0] = '\0';
		return pipe_send(db, st, p, NULL, fn, ud);
	}
	PGresult *r = db_run(db, st, p);
	if (r == NULL)
		return -1;
	if (fn != NULL)
		fn(ud, r);
	PQclear(r);
	return 0;
}

int
db_exec(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	return db_exec_then(db, st, p, NULL, NULL);
}

int
db_affected(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	PGresult *r = db_run(db, st, p);
	int n = r == NULL ? -1 : atoi(PQcmdTuples(r));

	PQclear(r);
	return n;
}

/* --- transactions ---------------------------------------------------------------------- */

int
db_begin(struct db *db)
{
	(void)db_settle(db);
	db->sqlstate[0] = '\0';
	if (db->read_only) {
		db->refused = true;
		snprintf(db->failed, sizeof(db->failed), "25006");
		snprintf(db->failed_msg, sizeof(db->failed_msg), "a transaction outside the lock");
		return -1;
	}
	if (db_connect(db) != 0)
		return -1;
	if (db->n_sent > 0)
		(void)pipe_collect(db); /* not expected: a transaction left half sent */
	db->writes = 0;
	db->defer = false;
	if (db->conn == NULL || pipe_send(db, &st_begin, NULL, NULL, NULL, NULL) != 0) {
		if (db->conn != NULL && db->n_sent > 0)
			(void)pipe_collect(db);
		return -1;
	}
	db->in_tx = true;
	db->tx_unstarted = true;
	return 0;
}

void
db_read_only(struct db *db, bool on)
{
	db->read_only = on;
	db->refused = false;
	if (on)
		db->writes = 0;
}

bool
db_refused(const struct db *db)
{
	return db->refused;
}

void
db_defer(struct db *db)
{
	if (db->in_tx)
		db->defer = true;
}

bool
db_deferring(const struct db *db)
{
	return db->defer && db->in_tx;
}

static void
batch_clear(struct db_call *calls, int n)
{
	for (int i = 0; i < n; i++) {
		PQclear(calls[i].r);
		calls[i].r = NULL;
	}
}

static int
batch_try(struct db *db, struct db_call *calls, int n)
{
	if (db_begin(db) != 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (pipe_send(db, calls[i].st, &calls[i].p, &calls[i].r, NULL, NULL) != 0)
			break;
	db->tx_unstarted = false;
	db->writes = 0; /* the batch's own are its caller's to count (db.h) */
	return pipe_collect(db);
}

int
db_begin_batch(struct db *db, struct db_call *calls, int n)
{
	db->sqlstate[0] = '\0';
	for (int attempt = 0; attempt < 2; attempt++) {
		if (batch_try(db, calls, n) == 0)
			return 0;
		batch_clear(calls, n);
		if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
			db_rollback(db);
			return -1;
		}
		/* the database restarted while this connection sat idle: once more */
		log_warn("db: connection lost, reconnecting");
		db_drop(db);
		db->in_tx = false;
	}
	return -1;
}

/* After a transaction's end was sent: a block the server still holds open
 * (its COMMIT or ROLLBACK skipped after an earlier failure in the same
 * round trip) is rolled back, so the connection is clean for the next. */
static void
tx_ended(struct db *db)
{
	db->in_tx = false;
	db->defer = false;
	db->tx_unstarted = false;
	if (db->conn == NULL)
		return;
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db_drop(db);
		return;
	}
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
		PGresult *r = db_try(db, &st_rollback, NULL);
		if (r == NULL)
			db_drop(db);
		PQclear(r);
	}
}

static int
commit_with(struct db *db, struct db_stmt *lead)
{
	PGresult *r = NULL;

	if (db->conn == NULL || !db->in_tx) {
		tx_ended(db);
		return -1;
	}
	if (lead != NULL && pipe_send(db, lead, NULL, NULL, NULL, NULL) != 0)
		r = NULL;
	else if (db->n_sent > 0 || lead != NULL)
		r = pipe_run(db, &st_commit, NULL);
	else
		r = db_try(db, &st_commit, NULL);
	/* A failed transaction "commits" as ROLLBACK: that is a failure. */
	int ok = r != NULL && strcmp(PQcmdStatus(r), "COMMIT") == 0;
	if (r == NULL && db->conn != NULL && db->n_sent > 0)
		(void)pipe_collect(db);
	PQclear(r);
	tx_ended(db);
	return ok ? 0 : -1;
}

static struct db_stmt st_nowait = DB_STMT("db_commit_nowait",
    "SELECT set_config('synchronous_commit', 'off', true)");

int
db_commit_nowait(struct db *db)
{
	return commit_with(db, &st_nowait);
}

int
db_commit_unawaited(struct db *db, bool wrote)
{
	if (db->conn == NULL || !db->in_tx) {
		tx_ended(db);
		return -1;
	}
	if ((wrote && pipe_send(db, &st_nowait, NULL, NULL, NULL, NULL) != 0) ||
	    pipe_send(db, &st_commit, NULL, &db->unawaited_commit, NULL, NULL) != 0 ||
	    pipe_sync(db) != 0) {
		if (db->conn != NULL && db->n_sent > 0)
			(void)pipe_collect(db);
		tx_ended(db);
		return -1;
	}
	db->unawaited = true;
	db->in_tx = false;
	db->defer = false;
	db->tx_unstarted = false;
	return 0;
}

int
db_commit(struct db *db)
{
	db->sqlstate[0] = '\0';
	return commit_with(db, NULL);
}

void
db_rollback(struct db *db)
{
	(void)db_settle(db);
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
		PQclear(db->n_sent > 0 ? pipe_run(db, &st_rollback, NULL) :
		    db_try(db, &st_rollback, NULL));
	}
	tx_ended(db);
}

static struct db_stmt st_savepoint = DB_STMT("db_savepoint", "SAVEPOINT aisha_part");
static struct db_stmt st_undo_part = DB_STMT("db_undo_part", "ROLLBACK TO SAVEPOINT aisha_part");

int
db_savepoint(struct db *db)
{
	if (db->conn == NULL || !db->in_tx)
		return -1;
	db->sqlstate[0] = '\0';
	return pipe_send(db, &st_savepoint, NULL, NULL, NULL, NULL);
}

int
db_undo_part(struct db *db)
{
	char failed[sizeof(db->sqlstate)];

	snprintf(failed, sizeof(failed), "%s", db->sqlstate);
	if (db->conn != NULL && db->n_sent > 0)
		(void)pipe_collect(db);
	PGresult *r = db->conn != NULL && db->in_tx ? db_try(db, &st_undo_part, NULL) : NULL;
	int rc = r != NULL ? 0 : -1;

	PQclear(r);
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", failed);
	return rc;
}

const char *
db_str(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int64_t
db_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool
db_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

bool
db_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) != 0;
}

void
db_clear_failure(struct db *db)
{
	db->failed[0] = '\0';
	db->failed_msg[0] = '\0';
}

bool
db_failure_transient(const struct db *db)
{
	static const char *const classes[] = {"08", "40", "53", "57", "58"};
	const char *s = db->failed;

	if (s[0] == '\0')
		return false;
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strncmp(s, classes[i], 2) == 0)
			return true;
	/* lock_not_available (lock_timeout) */
	return strcmp(s, "55P03") == 0;
}

int
db_each(struct db *db, struct db_stmt *st, const struct db_params *p, int col,
    void (*fn)(void *ud, const char *value), void *ud)
{
	PGresult *r = db_run(db, st, p);

	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	for (int i = 0; i < n; i++)
		fn(ud, db_str(r, i, col));
	PQclear(r);
	return n;
}

int
db_each_id(struct db *db, struct db_stmt *st, const struct db_params *p,
    int (*fn)(void *ud, int64_t id), void *ud)
{
	PGresult *r = db_run(db, st, p);
	int done = 0;

	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		done += fn(ud, db_i64(r, i, 0)) > 0;
	PQclear(r);
	return done;
}
