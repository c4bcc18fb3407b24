/*
 * trigger — a double fork: the intermediate child exits at once (we reap
 * it), the grandchild belongs to init, holds none of our descriptors (the
 * FastCGI socket on fd 0 included) and runs a sibling executable from our
 * own directory.
 */
#include "trigger.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sibling.h"

/* Runs the sibling program with args (argv[0] becomes its full path, so
 * an operator — and `make down` — can tell whose it is); detached; 0
 * started, -1 not. */
static int
spawn(const char *name, char *argv[])
{
	char path[PATH_MAX];

	if (sibling_path(name, path, sizeof(path)) != 0 || access(path, X_OK) != 0) {
		log_warn("trigger: %s not found next to this program", name);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("trigger: fork failed");
		return -1;
	}
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		setsid();
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		argv[0] = path;
		execv(path, argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

void
trigger_training(int64_t avatar_id)
{
	char id[24];
	char *argv[] = {"start-training", "--avatar", id, NULL};

	snprintf(id, sizeof(id), "%" PRId64, avatar_id);
	if (spawn("start-training", argv) == 0)
		log_info("trigger: start-training started for avatar %" PRId64, avatar_id);
	else
		log_warn("trigger: cron will start avatar %" PRId64, avatar_id);
}

void
trigger_sender(void)
{
	char *argv[] = {"check-status", "--send", NULL};

	if (spawn("check-status", argv) == 0)
		log_info("trigger: the outbox's sender started");
}

void
trigger_photo_checker(void)
{
	char *argv[] = {"check-status", "--check-photos", NULL};

	if (spawn("check-status", argv) == 0)
		log_info("trigger: the photo checker started");
}
