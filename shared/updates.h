/*
 * updates — owns the two tables about Telegram's updates as deliveries:
 * tg_updates (one row per update_id whose turn changed something: a
 * repeated delivery of it is a no-op; a turn that only answers leaves no
 * row, recent_updates.h) and
 * failed_updates (an update the bot could not handle for a permanent
 * reason, with its body cut at 64 KB; its update_id is claimed in the same
 * statement, so Telegram, answered 200, never re-sends it nor backs off the
 * whole webhook behind it).  Both are pruned by the startup checker.
 */
#ifndef AISHA_UPDATES_H
#define AISHA_UPDATES_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define FAILED_UPDATE_BODY_MAX 65536

/* The claim of update u's update_id, for a batch (db_begin_batch); after
 * it ran, updates_claim_take() says 1 for the first delivery, 0 a repeat. */
struct tg_update;
void updates_claim_call(const struct tg_update *u, struct db_call *c);
int updates_claim_take(struct db_call *c);
/* A person's update: the claim written by a turn that changes something,
 * in its transaction (whether one did is read when the turn opens:
 * turn_open.h). */
int updates_claim_late(struct db *db, const struct tg_update *u);

/* An update (update_id >= 0) that failed for good, with its body (valid
 * UTF-8); telegram_id 0 when unknown.  0 or -1 (a database failure: answer
 * 5xx). */
int updates_record_failed(struct db *db, int64_t update_id, const char *kind,
    int64_t telegram_id, const char *error, const char *body, size_t len);

/* Forgets dedupe rows after 7 days (Telegram keeps an update 24 hours) and
 * failed updates after 30; returns how many rows went, or -1. */
int updates_prune(struct db *db);

#endif
