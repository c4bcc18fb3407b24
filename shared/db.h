/*
 * db — the one PostgreSQL connection of a process.
 *
 * SQL lives next to the module that owns the table as a named statement
 * (struct db_stmt); db_run() prepares it on first use per connection and runs
 * it with PQexecPrepared — always with parameters, never with text built from
 * input.  The connection is opened lazily and re-opened after the database
 * restarts: a statement that finds the connection broken outside a
 * transaction reconnects and runs once more; inside a transaction the error
 * goes to the caller, who rolls back and answers 5xx so the sender retries.
 */
#ifndef AISHA_DB_H
#define AISHA_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

struct db_stmt {
	const char *name; /* unique per process: the prepared statement's name */
	const char *sql;
	unsigned prepared_gen; /* connection generation it was prepared on */
};

#define DB_STMT(n, s) {n, s, 0}
/* SQL: true when no session holds advisory lock k (a bigint literal) — how
 * a statement that queues work also asks whether the one process that does
 * that work runs (the outbox's sender, the photo checker), with no round
 * trip of its own. */
#define DB_LOCK_FREE_SQL(k) \
    "CASE WHEN pg_try_advisory_lock(" k ") THEN pg_advisory_unlock(" k ") ELSE false END"

/* A statement sent in the open pipeline, its result not yet read. */
struct db_sent {
	struct db_stmt *st;
	bool prepare;   /* its PQsendPrepare, not the statement */
	PGresult **out; /* where the result goes (NULL: cleared after fn) */
	void (*fn)(void *ud, const PGresult *r);
	void *ud;
};
#define DB_MAX_SENT 48

struct db {
	char *conninfo;
	PGconn *conn;
	unsigned gen;   /* incremented on every successful (re)connect */
	bool in_tx;
	bool tx_unstarted; /* BEGIN sent, nothing after it yet */
	bool defer;        /* db_defer() in this transaction */
	bool pipe_failed;  /* a statement could not be sent: the pipeline fails */
	int n_sent;
	struct db_sent sent[DB_MAX_SENT];
	bool unawaited;            /* db_commit_unawaited(): its answer not read */
	PGresult *unawaited_commit;
	bool read_only;  /* db_read_only() */
	bool refused;    /* ... and a statement failed since */
	bool ro_session; /* the session's transactions default to read-only */
	int writes;     /* statements other than SELECT run or sent since BEGIN,
	                 * those of db_begin_batch() not counted */
	char sqlstate[6]; /* of the last failure, "" otherwise */
	/* The last failure, kept until db_clear_failure(): its SQLSTATE (class
	 * 08 for a lost or refused connection) and message. */
	char failed[6];
	char failed_msg[200];
};

/* Parameters for one statement: values are copied, NULL means SQL NULL. */
#define DB_MAX_PARAMS 24
struct db_params {
	const char *v[DB_MAX_PARAMS];
	char num[DB_MAX_PARAMS][24];
	int n;
};

void db_params_init(struct db_params *p);
void db_p_str(struct db_params *p, const char *s); /* NULL -> SQL NULL */
void db_p_i64(struct db_params *p, int64_t v);
void db_p_bool(struct db_params *p, bool v);
void db_p_null(struct db_params *p);

void db_init(struct db *db, const char *conninfo);
void db_close(struct db *db);
/* Connects if needed; 0 when the connection is usable. */
int db_connect(struct db *db);

/*
 * Runs st.  Returns the result (PQclear it) when it succeeded, NULL after
 * logging the failure (db->sqlstate tells which: "23505" unique violation…).
 */
PGresult *db_run(struct db *db, struct db_stmt *st, const struct db_params *p);
/* db_run for statements whose rows are not needed: 0 or -1.  In a
 * transaction after db_defer() the statement is only sent: 0 then means
 * "on its way", and a failure fails the transaction's next statement that
 * waits for rows, or its commit. */
int db_exec(struct db *db, struct db_stmt *st, const struct db_params *p);
/* db_exec, and fn sees the result when it comes (at once, or after
 * db_defer() with the round trip that reads it): rows a caller wants to
 * know about without waiting for them. */
int db_exec_then(struct db *db, struct db_stmt *st, const struct db_params *p,
    void (*fn)(void *ud, const PGresult *r), void *ud);
/* Runs st; how many rows it inserted, updated or deleted, or -1. */
int db_affected(struct db *db, struct db_stmt *st, const struct db_params *p);
/* Runs st and calls fn with the id in column 0 of each row; the number of
 * rows for which fn returned > 0, or -1. */
int db_each_id(struct db *db, struct db_stmt *st, const struct db_params *p,
    int (*fn)(void *ud, int64_t id), void *ud);
/* Runs st and calls fn with column col of each row; the row count or -1. */
int db_each(struct db *db, struct db_stmt *st, const struct db_params *p, int col,
    void (*fn)(void *ud, const char *value), void *ud);

/*
 * BEGIN: sent with the transaction's first statement, in its round trip
 * (-1 only when there is no connection).  Statements go out as a libpq
 * pipeline whenever more than one is ready: BEGIN and the first; the
 * writes sent after db_defer() and the next read or the COMMIT.
 */
int db_begin(struct db *db);
/*
 * While on, statements run outside any transaction, each in a read-only
 * one of its own: PostgreSQL refuses a write, a SELECT … FOR UPDATE or a
 * function that writes (SQLSTATE 25006, logged at debug), and db_begin()
 * is refused.  db_refused() then says so — whatever the caller made of
 * the failure.  For a turn run without its lock (bot.c).  The session's
 * default is switched before the next statement (a round trip, seldom
 * taken: every transaction begins READ WRITE whatever the default).
 */
void db_read_only(struct db *db, bool on);
/* Whether a statement failed (or db_begin() was refused) since
 * db_read_only(db, true). */
bool db_refused(const struct db *db);
/* From here to the end of the transaction db_exec() only sends: the
 * writes whose failure can only mean "roll the whole transaction back"
 * go with the statement after them, in its round trip. */
void db_defer(struct db *db);
bool db_deferring(const struct db *db);

/*
 * One statement for db_begin_batch(): the module that owns the SQL fills st
 * and p; r holds the result afterwards (the caller PQclears it).
 */
struct db_call {
	struct db_stmt *st;
	struct db_params p;
	PGresult *r;
};
/*
 * BEGIN and then calls[0..n-1] inside the new transaction, in one round trip.  0 with every result set and the transaction
 * open; -1 with no result kept and no transaction open.
 */
int db_begin_batch(struct db *db, struct db_call *calls, int n);
int db_commit(struct db *db);
/*
 * COMMIT without waiting for the write-ahead log to reach the disk (it does
 * within a fraction of a second).  Only for transactions whose loss in a
 * database crash would lose nothing anyone relies on: see bot_process().
 */
int db_commit_nowait(struct db *db);
/*
 * db_commit_nowait() whose answer is not waited for: the COMMIT goes out
 * and the connection's next statement (or db_settle()) reads its answer —
 * the round trip a person would wait for is not taken.  Only for a
 * transaction whose loss would lose nothing anyone relies on (see
 * bot_process); a failure is logged when it is read.  wrote: false for a
 * transaction that wrote nothing (its commit has nothing to wait for).
 */
int db_commit_unawaited(struct db *db, bool wrote);
/* Reads the answer of a db_commit_unawaited(): 0 when it committed (or
 * there was none), -1 when not. */
int db_settle(struct db *db);
void db_rollback(struct db *db);
/*
 * A part of the transaction whose failure the rest survives: db_savepoint()
 * before it (sent with the part's first statement), db_undo_part() after
 * it failed — the transaction is as it was before the part; db->sqlstate
 * still names the part's failure.  0 or -1 (then only a rollback is left).
 */
int db_savepoint(struct db *db);
int db_undo_part(struct db *db);
void db_clear_failure(struct db *db);
/*
 * Whether the failure kept since db_clear_failure() may pass by itself (the
 * connection, a serialization failure or deadlock, a lock or statement
 * timeout, the server shutting down or out of resources): then the sender
 * should try again.  false for a permanent one (a constraint, bad data, a
 * bug) and when no database failure happened.
 */
bool db_failure_transient(const struct db *db);

/* Result accessors: NULL / 0 / false for SQL NULL. */
const char *db_str(const PGresult *r, int row, int col);
int64_t db_i64(const PGresult *r, int row, int col);
bool db_bool(const PGresult *r, int row, int col);
bool db_null(const PGresult *r, int row, int col);

#endif
