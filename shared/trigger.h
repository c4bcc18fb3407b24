/*
 * trigger — starts `start-training --avatar ID` in the background, detached,
 * so the Telegram request that queued the avatar never waits for the upload
 * to FAL.  If this process dies first, cron's startup checker finds the
 * avatar still queued and starts it: the trigger is a shortcut, never the
 * only path.
 */
#ifndef AISHA_TRIGGER_H
#define AISHA_TRIGGER_H

#include <stdint.h>

/* Fire and forget; logs when the program cannot be started. */
void trigger_training(int64_t avatar_id);

#endif
