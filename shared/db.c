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
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->in_tx = false;
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
	return 0;
}

static void
db_note_failure(struct db *db, const PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char msg[256];

	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state ? state : "");
	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db->conn));
	/* no SQLSTATE: the connection broke under the statement */
	snprintf(db->failed, sizeof(db->failed), "%s", state ? state : "08006");
	snprintf(db->failed_msg, sizeof(db->failed_msg), "%.199s", msg);
	if (strcmp(db->sqlstate, "23505") == 0)
		log_debug("db: %s: unique violation", what);
	else
		log_error("db: %s failed (%s): %s", what, db->sqlstate, msg);
}

static struct db_stmt st_begin = DB_STMT("db_begin", "BEGIN");
static struct db_stmt st_commit = DB_STMT("db_commit", "COMMIT");
static struct db_stmt st_rollback = DB_STMT("db_rollback", "ROLLBACK");
static struct db_stmt st_ping = DB_STMT("db_ping", "SELECT 1");

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

PGresult *
db_run(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	db->sqlstate[0] = '\0';
	if (db->conn == NULL && db->in_tx) {
		snprintf(db->failed, sizeof(db->failed), "08003");
		return NULL;
	}
	if (db_connect(db) != 0)
		return NULL;
	PGresult *r = db_try(db, st, p);
	if (r != NULL && strncmp(st->sql, "SELECT", 6) != 0)
		db->writes++;
	if (r == NULL && !db->in_tx && PQstatus(db->conn) != CONNECTION_OK) {
		log_warn("db: connection lost, reconnecting");
		if (db_connect(db) == 0)
			r = db_try(db, st, p);
	}
	if (r == NULL && db->conn != NULL && PQstatus(db->conn) != CONNECTION_OK)
		db_drop(db);
	return r;
}

int
db_exec(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	PGresult *r = db_run(db, st, p);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
db_affected(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	PGresult *r = db_run(db, st, p);
	int n = r == NULL ? -1 : atoi(PQcmdTuples(r));

	PQclear(r);
	return n;
}


int
db_begin(struct db *db)
{
	if (db_exec(db, &st_begin, NULL) != 0)
		return -1;
	db->writes = 0;
	db->in_tx = true;
	return 0;
}

static void
batch_clear(struct db_call *calls, int n)
{
	for (int i = 0; i < n; i++) {
		PQclear(calls[i].r);
		calls[i].r = NULL;
	}
}

/* Reads the result of one pipelined query (and the NULL that ends it). */
static PGresult *
batch_result(struct db *db, const char *what, bool *ok)
{
	PGresult *r = PQgetResult(db->conn), *end;
	ExecStatusType s = PQresultStatus(r);

	if (r == NULL || (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)) {
		if (*ok && s != PGRES_PIPELINE_ABORTED)
			db_note_failure(db, r, what);
		*ok = false;
	}
	while (r != NULL && (end = PQgetResult(db->conn)) != NULL)
		PQclear(end);
	return r;
}

/* Leaves pipeline mode; a connection that cannot (results still pending
 * after a failure) is dropped. */
static int
leave_pipeline(struct db *db)
{
	if (PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF || PQexitPipelineMode(db->conn) == 1)
		return 0;
	db_drop(db);
	return -1;
}

static bool
send_prepared(struct db *db, struct db_stmt *st, const struct db_params *p)
{
	return PQsendQueryPrepared(db->conn, st->name, p ? p->n : 0, p ? p->v : NULL,
	    NULL, NULL, 0) == 1;
}

/*
 * Sends lead (a statement without parameters: BEGIN, a setting) and then
 * calls[0..n-1] as one pipeline, and reads every result; 0 when all
 * succeeded.  When lead is BEGIN, "in transaction" follows its result.
 */
static int
pipeline_try(struct db *db, struct db_stmt *lead, struct db_call *calls, int n)
{
	bool ok = db_prepare(db, lead) == 0;

	for (int i = 0; ok && i < n; i++)
		ok = db_prepare(db, calls[i].st) == 0;
	if (!ok || PQenterPipelineMode(db->conn) != 1)
		return -1;
	ok = send_prepared(db, lead, NULL);
	for (int i = 0; ok && i < n; i++)
		ok = send_prepared(db, calls[i].st, &calls[i].p);
	if (!ok || PQpipelineSync(db->conn) != 1) {
		db_note_failure(db, NULL, "pipeline");
		(void)leave_pipeline(db);
		return -1;
	}
	PQclear(batch_result(db, lead->name, &ok));
	if (lead == &st_begin)
		db->in_tx = ok;
	for (int i = 0; i < n; i++)
		calls[i].r = batch_result(db, calls[i].st->name, &ok);
	PGresult *sync = PQgetResult(db->conn);
	if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
		ok = false;
	PQclear(sync);
	if (leave_pipeline(db) != 0)
		ok = false;
	return ok ? 0 : -1;
}

int
db_begin_batch(struct db *db, struct db_call *calls, int n)
{
	db->sqlstate[0] = '\0';
	for (int attempt = 0; attempt < 2; attempt++) {
		if (db_connect(db) != 0)
			return -1;
		db->writes = 0;
		if (pipeline_try(db, &st_begin, calls, n) == 0)
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

static struct db_stmt st_nowait = DB_STMT("db_commit_nowait",
    "SELECT set_config('synchronous_commit', 'off', true)");

int
db_commit_nowait(struct db *db)
{
	struct db_call commit = {&st_commit, {.n = 0}, NULL};

	if (db->conn == NULL || !db->in_tx)
		return -1;
	int ok = pipeline_try(db, &st_nowait, &commit, 1) == 0 &&
	    strcmp(PQcmdStatus(commit.r), "COMMIT") == 0;
	PQclear(commit.r);
	db->in_tx = false;
	if (db->conn != NULL && PQstatus(db->conn) != CONNECTION_OK)
		db_drop(db);
	return ok ? 0 : -1;
}

int
db_commit(struct db *db)
{
	PGresult *r = db_run(db, &st_commit, NULL);
	int ok = r != NULL && strcmp(PQcmdStatus(r), "COMMIT") == 0;

	/* A failed transaction "commits" as ROLLBACK: that is a failure. */
	if (r != NULL)
		PQclear(r);
	db->in_tx = false;
	return ok ? 0 : -1;
}

void
db_rollback(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		(void)db_exec(db, &st_rollback, NULL);
	db->in_tx = false;
}

int
db_ping(struct db *db)
{
	return db_exec(db, &st_ping, NULL);
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
