/*
 * sibling — see sibling.h.
 */
#include "sibling.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

int
sibling_path(const char *name, char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = '\0';
	return snprintf(out, len, "%s/%s", dirname(self), name) < (int)len ? 0 : -1;
}
