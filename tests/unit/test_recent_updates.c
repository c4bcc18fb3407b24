/* recent_updates: the node's table of updates answered without a write —
 * seen by every process that maps it, forgetting by slot, a note taken
 * back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "recent_updates.h"

static char dir[64];

static int
setup(void **state)
{
	char run[96];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/aisha-recent-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(run, sizeof(run), "%s/run", dir);
	if (mkdir(run, 0700) != 0)
		return -1;
	recent_updates_open(dir);
	return 0;
}

static int
teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/run/recent-updates-v1.shm", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/run", dir);
	rmdir(path);
	rmdir(dir);
	return 0;
}

static void
noted_is_seen_and_forgotten_when_taken_back(void **state)
{
	(void)state;
	assert_false(recent_updates_seen(900000001));
	recent_updates_note(900000001);
	assert_true(recent_updates_seen(900000001));
	assert_false(recent_updates_seen(900000002));
	recent_updates_forget(900000001);
	assert_false(recent_updates_seen(900000001));
	/* ids Telegram never sends are never noted */
	recent_updates_note(0);
	assert_false(recent_updates_seen(0));
	recent_updates_note(-5);
	assert_false(recent_updates_seen(-5));
}

/* A note made by another process (another worker of the node) is seen. */
static void
another_process_sees_the_note(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		recent_updates_note(900000010);
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(recent_updates_seen(900000010));
}

/* It holds the last few thousand: a stream of newer ids pushes an old one
 * out, while the newest are all still there. */
static void
holds_the_latest_thousands(void **state)
{
	(void)state;
	recent_updates_note(800000000);
	for (int64_t id = 800000001; id <= 800100000; id++)
		recent_updates_note(id);
	assert_false(recent_updates_seen(800000000));
	int kept = 0;
	for (int64_t id = 800099001; id <= 800100000; id++)
		kept += recent_updates_seen(id);
	assert_true(kept >= 900); /* consecutive ids spread over the slots */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(noted_is_seen_and_forgotten_when_taken_back),
		cmocka_unit_test(another_process_sees_the_note),
		cmocka_unit_test(holds_the_latest_thousands),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
