/*
 * sibling — the path of a file next to the running program (another of
 * Aisha's programs, an optional module), found from /proc/self/exe so it
 * holds wherever a release is installed.
 */
#ifndef AISHA_SIBLING_H
#define AISHA_SIBLING_H

#include <stddef.h>

/* 0 and out set, or -1 when the program's own path cannot be read or the
 * result does not fit. */
int sibling_path(const char *name, char *out, size_t len);

#endif
