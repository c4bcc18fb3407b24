/* db: the pipeline against a real PostgreSQL (AISHA_TEST_DATABASE_URL; the
 * integration suite runs this program with its database, and the unit run
 * without one skips it).  BEGIN goes with the first statement; writes after
 * db_defer() go with the next read or the COMMIT; a failure anywhere fails
 * the transaction and leaves the connection clean; a connection lost before
 * anything of a transaction ran is replaced and the statement run again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "db.h"

static struct db_stmt st_create = DB_STMT("t_create",
    "CREATE TABLE IF NOT EXISTS aisha_db_test (id int PRIMARY KEY, v int CHECK (v > 0))");
static struct db_stmt st_empty = DB_STMT("t_empty", "TRUNCATE aisha_db_test");
static struct db_stmt st_drop = DB_STMT("t_drop", "DROP TABLE aisha_db_test");
static struct db_stmt st_put = DB_STMT("t_put",
    "INSERT INTO aisha_db_test (id, v) VALUES ($1, $2) RETURNING id * 10");
static struct db_stmt st_count = DB_STMT("t_count", "SELECT count(*) FROM aisha_db_test");
static struct db_stmt st_pid = DB_STMT("t_pid", "SELECT pg_backend_pid()");
static struct db_stmt st_kill = DB_STMT("t_kill", "SELECT pg_terminate_backend($1::int)");
static struct db_stmt st_broken = DB_STMT("t_broken", "SELECT no_such_column FROM aisha_db_test");

static struct db db, other;

static int
setup(void **state)
{
	const char *url = getenv("AISHA_TEST_DATABASE_URL");

	(void)state;
	if (url == NULL || url[0] == '\0')
		return 0;
	db_init(&db, url);
	db_init(&other, url);
	assert_int_equal(db_exec(&db, &st_create, NULL), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (db.conninfo == NULL)
		return 0;
	(void)db_exec(&db, &st_drop, NULL);
	db_close(&db);
	db_close(&other);
	return 0;
}

static int
fresh(void **state)
{
	(void)state;
	if (db.conninfo != NULL)
		assert_int_equal(db_exec(&db, &st_empty, NULL), 0);
	return 0;
}

static void
need_db(void)
{
	if (db.conninfo == NULL)
		skip();
}

static int
put(int id, int v)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_i64(&p, v);
	return db_exec(&db, &st_put, &p);
}

/* The one number st answers on connection d. */
static int64_t
number(struct db *d, struct db_stmt *st, const struct db_params *p)
{
	PGresult *r = db_run(d, st, p);

	assert_non_null(r);
	int64_t n = db_i64(r, 0, 0);
	PQclear(r);
	return n;
}

static int64_t
count(void)
{
	return number(&db, &st_count, NULL);
}

static void
deferred_failure_fails_the_commit_and_keeps_nothing(void **state)
{
	(void)state;
	need_db();
	assert_int_equal(db_begin(&db), 0);
	assert_int_equal(count(), 0);
	db_defer(&db);
	assert_true(db_deferring(&db));
	assert_int_equal(put(1, 1), 0);
	assert_int_equal(put(2, -1), 0); /* only sent: the CHECK fails later */
	assert_int_equal(put(3, 1), 0);
	assert_int_equal(db_commit(&db), -1);
	assert_string_equal(db.failed, "23514");
	assert_false(db.in_tx);
	db_clear_failure(&db);
	/* the connection is clean: no aborted block left open */
	assert_int_equal(count(), 0);
	assert_int_equal(db_begin(&db), 0);
	db_defer(&db);
	assert_int_equal(put(4, 1), 0);
	assert_int_equal(db_commit(&db), 0);
	assert_int_equal(count(), 1);
}

static void
a_read_sees_the_deferred_writes_and_rollback_drops_them(void **state)
{
	(void)state;
	need_db();
	assert_int_equal(db_begin(&db), 0);
	db_defer(&db);
	assert_int_equal(put(5, 1), 0);
	assert_int_equal(put(6, 1), 0);
	assert_int_equal(count(), 2);
	db_rollback(&db);
	assert_false(db.in_tx);
	assert_int_equal(count(), 0);
}

static void
got(void *ud, const PGresult *r)
{
	*(int64_t *)ud = db_i64(r, 0, 0);
}

static void
exec_then_shows_the_result_when_it_comes(void **state)
{
	struct db_params p;
	int64_t seen = 0;

	(void)state;
	need_db();
	db_params_init(&p);
	db_p_i64(&p, 7);
	db_p_i64(&p, 1);
	assert_int_equal(db_exec_then(&db, &st_put, &p, got, &seen), 0);
	assert_int_equal(seen, 70); /* no transaction: at once */
	assert_int_equal(db_begin(&db), 0);
	db_defer(&db);
	db_params_init(&p);
	db_p_i64(&p, 8);
	db_p_i64(&p, 1);
	seen = 0;
	assert_int_equal(db_exec_then(&db, &st_put, &p, got, &seen), 0);
	assert_int_equal(seen, 0); /* on its way */
	assert_int_equal(db_commit(&db), 0);
	assert_int_equal(seen, 80);
	assert_int_equal(count(), 2);
}

static void
a_failed_first_statement_rolls_back_cleanly(void **state)
{
	(void)state;
	need_db();
	assert_int_equal(db_begin(&db), 0);
	assert_null(db_run(&db, &st_broken, NULL));
	assert_string_equal(db.sqlstate, "42703");
	db_rollback(&db);
	db_clear_failure(&db);
	assert_int_equal(count(), 0);
	assert_int_equal(db_begin(&db), 0);
	assert_int_equal(put(9, 1), 0);
	assert_int_equal(db_commit(&db), 0);
	assert_int_equal(count(), 1);
}

static int64_t
backend_of(struct db *d)
{
	return number(d, &st_pid, NULL);
}

static void
kill_backend(int64_t pid)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, pid);
	assert_int_equal(db_exec(&other, &st_kill, &p), 0);
	/* the backend is gone once it no longer answers the other session */
	for (int i = 0; i < 200; i++) {
		static struct db_stmt alive = DB_STMT("t_alive",
		    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int");
		if (number(&other, &alive, &p) == 0)
			return;
	}
	fail_msg("backend %lld still there", (long long)pid);
}

static void
a_connection_lost_before_the_transaction_ran_is_replaced(void **state)
{
	(void)state;
	need_db();
	int64_t pid = backend_of(&db);
	kill_backend(pid);
	assert_int_equal(db_begin(&db), 0);
	assert_int_equal(put(10, 1), 0); /* BEGIN and this, again on a new connection */
	assert_int_equal(db_commit(&db), 0);
	assert_int_not_equal(backend_of(&db), pid);
	assert_int_equal(count(), 1);
}

static void
a_connection_lost_inside_a_transaction_fails_it(void **state)
{
	(void)state;
	need_db();
	assert_int_equal(db_begin(&db), 0);
	assert_int_equal(put(11, 1), 0);
	kill_backend(backend_of(&db));
	db_defer(&db);
	assert_int_equal(put(12, 1), 0);
	assert_int_equal(db_commit(&db), -1);
	assert_true(db_failure_transient(&db));
	db_rollback(&db);
	db_clear_failure(&db);
	assert_int_equal(count(), 0); /* and the next statement reconnects */
}

static void
too_many_statements_in_one_trip_fail_the_transaction(void **state)
{
	(void)state;
	need_db();
	assert_int_equal(db_begin(&db), 0);
	assert_int_equal(count(), 0);
	db_defer(&db);
	int rc = 0;
	for (int i = 0; i < DB_MAX_SENT + 2; i++)
		rc |= put(100 + i, 1);
	assert_int_equal(rc, -1);
	assert_int_equal(db_commit(&db), -1);
	db_clear_failure(&db);
	assert_int_equal(count(), 0);
}

static int64_t
count_other(void)
{
	/* statements are prepared per connection generation: the other
	 * connection has its own */
	static struct db_stmt st_count_other = DB_STMT("t_count_other",
	    "SELECT count(*) FROM aisha_db_test");

	return number(&other, &st_count_other, NULL);
}

static void
a_commit_not_waited_for_is_read_by_the_next_statement(void **state)
{
	(void)state;
	need_db();
	assert_int_equal(db_begin(&db), 0);
	assert_int_equal(put(13, 1), 0);
	assert_int_equal(db_commit_unawaited(&db, true), 0);
	assert_false(db.in_tx);
	/* committed by the server without anyone reading the answer (within
	 * 5 s: on a loaded machine its backend may wait for a core) */
	for (int i = 0; i < 5000 && count_other() != 1; i++)
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	assert_int_equal(count_other(), 1);
	assert_int_equal(count(), 1); /* reads the answer first, then runs */
	assert_false(db.unawaited);
	assert_int_equal(db_begin(&db), 0);
	db_defer(&db);
	assert_int_equal(put(14, 1), 0);
	assert_int_equal(db_commit_unawaited(&db, true), 0);
	assert_int_equal(db_settle(&db), 0);
	assert_int_equal(db_settle(&db), 0); /* nothing left to read */
	assert_int_equal(count(), 2);
}

static void
a_failed_commit_not_waited_for_is_told_and_leaves_the_connection_clean(void **state)
{
	(void)state;
	need_db();
	assert_int_equal(db_begin(&db), 0);
	db_defer(&db);
	assert_int_equal(put(15, 1), 0);
	assert_int_equal(put(16, -1), 0);
	assert_int_equal(db_commit_unawaited(&db, true), 0); /* only sent */
	assert_int_equal(db_settle(&db), -1);
	assert_string_equal(db.failed, "23514");
	db_clear_failure(&db);
	assert_int_equal(count(), 0);
	assert_int_equal(db_begin(&db), 0);
	assert_int_equal(put(17, 1), 0);
	assert_int_equal(db_commit_unawaited(&db, true), 0);
	db_rollback(&db); /* outside a transaction: reads the answer, rolls nothing back */
	assert_int_equal(count(), 1);
}

static void
a_read_only_connection_refuses_writes_and_says_so(void **state)
{
	(void)state;
	need_db();
	assert_int_equal(put(20, 1), 0);
	db_read_only(&db, true);
	assert_int_equal(count(), 1); /* reads run */
	assert_false(db_refused(&db));
	assert_int_not_equal(put(21, 1), 0); /* the first statement after the switch too */
	assert_string_equal(db.failed, "25006");
	assert_true(db_refused(&db));
	db_clear_failure(&db);
	assert_int_equal(db_begin(&db), -1); /* no transaction either */
	assert_false(db.in_tx);
	assert_int_equal(count(), 1);
	db_read_only(&db, false);
	assert_false(db_refused(&db));
	assert_int_equal(put(22, 1), 0); /* outside a transaction: writes again */
	db_read_only(&db, true);
	assert_int_equal(count(), 2);
	db_read_only(&db, false);
	assert_int_equal(db_begin(&db), 0); /* READ WRITE whatever the default */
	assert_int_equal(put(23, 1), 0);
	assert_int_equal(db_commit(&db), 0);
	assert_int_equal(count_other(), 3);
}

static void
a_failed_part_undone_leaves_the_rest_of_the_transaction(void **state)
{
	(void)state;
	need_db();
	assert_int_equal(db_begin(&db), 0);
	assert_int_equal(put(30, 1), 0);
	assert_int_equal(db_savepoint(&db), 0); /* sent with the part's statement */
	assert_int_not_equal(put(31, -1), 0);
	assert_string_equal(db.sqlstate, "23514");
	assert_int_equal(db_undo_part(&db), 0);
	assert_string_equal(db.sqlstate, "23514"); /* still names the part's failure */
	assert_int_equal(put(32, 1), 0);
	assert_int_equal(db_savepoint(&db), 0); /* a part that succeeds is kept */
	assert_int_equal(put(33, 1), 0);
	assert_int_equal(db_commit(&db), 0);
	assert_int_equal(count_other(), 3);
	assert_int_equal(db_savepoint(&db), -1); /* outside a transaction: none */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(deferred_failure_fails_the_commit_and_keeps_nothing, fresh),
		cmocka_unit_test_setup(a_read_sees_the_deferred_writes_and_rollback_drops_them,
		    fresh),
		cmocka_unit_test_setup(exec_then_shows_the_result_when_it_comes, fresh),
		cmocka_unit_test_setup(a_failed_first_statement_rolls_back_cleanly, fresh),
		cmocka_unit_test_setup(a_connection_lost_before_the_transaction_ran_is_replaced,
		    fresh),
		cmocka_unit_test_setup(a_connection_lost_inside_a_transaction_fails_it, fresh),
		cmocka_unit_test_setup(too_many_statements_in_one_trip_fail_the_transaction, fresh),
		cmocka_unit_test_setup(a_commit_not_waited_for_is_read_by_the_next_statement, fresh),
		cmocka_unit_test_setup(
		    a_failed_commit_not_waited_for_is_told_and_leaves_the_connection_clean, fresh),
		cmocka_unit_test_setup(a_read_only_connection_refuses_writes_and_says_so, fresh),
		cmocka_unit_test_setup(a_failed_part_undone_leaves_the_rest_of_the_transaction,
		    fresh),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
