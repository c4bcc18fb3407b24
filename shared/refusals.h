/*
 * refusals — how many calls a route refused from one source address this
 * minute.  A public route records what it refuses (a capped summary) only
 * while the source stays under its limit; past it the route answers 429 and
 * stores and logs nothing, so one address cannot grow the database or the
 * log by knocking.  Rows are one per (route, source, minute) and pruned
 * after an hour.
 */
#ifndef AISHA_REFUSALS_H
#define AISHA_REFUSALS_H

#include "db.h"

/* Counts one more refused call; the count this minute including it, or -1. */
int refusals_count(struct db *db, const char *route, const char *source);
/* Drops counts older than an hour; how many, or -1. */
int refusals_prune(struct db *db);

#endif
