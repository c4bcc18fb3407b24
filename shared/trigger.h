/*
 * trigger — starts a sibling program in the background, detached, so the
 * request that asked for it never waits: `start-training --avatar ID` (the
 * upload to FAL), `check-status --send` (the outbox's sender, outbox.h) and
 * `check-status --check-photos` (the photo checker, photo_checks.h).
 * If either never runs, cron does the same work a minute later: a trigger
 * is a shortcut, never the only path.
 */
#ifndef AISHA_TRIGGER_H
#define AISHA_TRIGGER_H

#include <stdint.h>

/* Fire and forget; logs when the program cannot be started. */
void trigger_training(int64_t avatar_id);
void trigger_sender(void);
void trigger_photo_checker(void);

#endif
