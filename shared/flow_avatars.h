/*
 * flow_avatars — "My avatars": the list with status and progress, details,
 * set as main, delete (with confirmation) and retry a failed training.
 * Every button carries the avatar id and is checked against its owner and
 * current status; a button that no longer fits gets the stale notice.
 */
#ifndef AISHA_FLOW_AVATARS_H
#define AISHA_FLOW_AVATARS_H

#include "turn.h"
#include "callback.h"

int flow_avatars_list(struct turn *t);
int flow_avatars_button(struct turn *t, const struct cb *cb);

#endif
