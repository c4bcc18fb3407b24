#include "node_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void *
node_file_map(const char *var_dir, const char *name, size_t size, uint64_t magic)
{
	char path[4096];
	struct stat st;
	void *p = MAP_FAILED;

	if (var_dir == NULL || *var_dir == '\0')
		return NULL;
	snprintf(path, sizeof(path), "%s/run/%s", var_dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	/* one process sizes and stamps it at a time */
	if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 &&
	    (st.st_size == (off_t)size || ftruncate(fd, (off_t)size) == 0))
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED && *(uint64_t *)p != magic) {
		memset(p, 0, size);
		*(uint64_t *)p = magic;
	}
	(void)flock(fd, LOCK_UN);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}
