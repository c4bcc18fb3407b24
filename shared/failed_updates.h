/*
 * failed_updates — owns the table of updates the bot could not handle for
 * a permanent reason.  Such an update is recorded here (with its body, cut
 * at 64 KB) and its update_id claimed in tg_updates in the same statement,
 * so a repeated delivery is ignored and Telegram, answered 200, never
 * re-sends it nor backs off the whole webhook behind it.
 */
#ifndef AISHA_FAILED_UPDATES_H
#define AISHA_FAILED_UPDATES_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define FAILED_UPDATE_BODY_MAX 65536

/* update_id < 0 when the body had none we could read; telegram_id 0 when
 * unknown.  0 or -1 (a database failure: answer 5xx). */
int failed_update_record(struct db *db, int64_t update_id, const char *kind,
    int64_t telegram_id, const char *error, const char *body, size_t len);

/* The update_id of a body the parser refused, when it has a usable one. */
int64_t failed_update_id(const char *body, size_t len);

#endif
