/*
 * node_file — a small file every worker of a node maps ($AISHA_VAR_DIR/run/
 * NAME), for state the processes share without the database: the metrics'
 * counters, the answered updates.  The file begins with a 64-bit magic; a
 * new file (all zeros) or one of another layout gets the caller's magic and
 * zeros.  The name should carry the layout's version, so an upgraded build
 * never shares a file with an older layout.
 */
#ifndef AISHA_NODE_FILE_H
#define AISHA_NODE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The mapping of size bytes, or NULL (no var_dir, or it cannot be mapped). */
void *node_file_map(const char *var_dir, const char *name, size_t size, uint64_t magic);

#endif
