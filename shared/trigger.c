/*
 * trigger — a double fork: the intermediate child exits at once (we reap
 * it), the grandchild belongs to init, holds none of our descriptors (the
 * FastCGI socket on fd 0 included) and runs the sibling executable
 * start-training from our own directory.
 */
#include "trigger.h"

#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

static int
sibling_path(const char *name, char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = '\0';
	return snprintf(out, len, "%s/%s", dirname(self), name) < (int)len ? 0 : -1;
}

void
trigger_training(int64_t avatar_id)
{
	char path[PATH_MAX], id[24];

	if (sibling_path("start-training", path, sizeof(path)) != 0 || access(path, X_OK) != 0) {
		log_warn("trigger: start-training not found next to this program; cron will start avatar %" PRId64,
		    avatar_id);
		return;
	}
	snprintf(id, sizeof(id), "%" PRId64, avatar_id);
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("trigger: fork failed; cron will start avatar %" PRId64, avatar_id);
		return;
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
		execl(path, "start-training", "--avatar", id, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	log_info("trigger: start-training started for avatar %" PRId64, avatar_id);
}
