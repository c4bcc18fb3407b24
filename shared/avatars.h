/*
 * avatars — reading and changing avatar rows.  State changes are
 * conditional UPDATEs on the current status, so two callers racing for the
 * same transition cannot both win.
 */
#ifndef AISHA_AVATARS_H
#define AISHA_AVATARS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "db.h"

/* The operator's view of one avatar: 1 found (*out set), 0 none, -1 error. */
int avatar_status_json(struct db *db, int64_t id, cJSON **out);

#endif
