/*
 * health — what /healthz (and /metrics) say about this stack: the database
 * answers, its schema is the one this build was made for (no migration
 * pending), and the status checker has run within three of its intervals
 * (CHECKER_INTERVAL; counted from the last migration until its first run).
 */
#ifndef AISHA_HEALTH_H
#define AISHA_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

struct health {
	bool db_up;
	char schema[8];      /* the database's newest applied version, "" unknown */
	const char *want;    /* this build's newest */
	bool schema_ok;
	int64_t checker_age; /* seconds since the status checker last ran; -1 unknown */
	bool checker_ok;
};

/* Fills h (checker_interval: CHECKER_INTERVAL); true when all is well. */
bool health_check(struct db *db, int checker_interval, struct health *h);

#endif
