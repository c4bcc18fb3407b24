/*
 * photo_checks — every photo a person sends for an avatar is checked before
 * the training is paid for, off the request path: the upload turn stores
 * the photo from its PhotoSize and answers at once; the one photo checker
 * (`check-status --check-photos`, started by the turn when none runs — it
 * holds PHOTO_CHECKER_LOCK — and a pass of cron's `check-status --all`)
 * fetches the bytes from Telegram into memory (never to disk), decodes and
 * measures them (photo_quality.h) and keeps a verdict with the measures:
 * not a photo, a file too small (a photo's size came with it), too dark,
 * too bright, blurry, for a portrait no face or several (faces.h, where the
 * server has the face module), or a repeat of a photo of the same avatar
 * that passed (perceptual hashes a few bits apart).  Each rejection is written with the edit of the progress message
 * that shows it, in one transaction under the avatar's row lock (a photo
 * that passes shows nothing new: it was counted when it came).
 *
 * A photo whose bytes Telegram cannot give is tried again a minute later
 * (its claim runs out), five times, then called unreadable.  Rejected photos
 * stay listed but count for nothing: the training takes the photos that
 * passed, and Start waits until none is left to check (flow_create.c).
 */
#ifndef AISHA_PHOTO_CHECKS_H
#define AISHA_PHOTO_CHECKS_H

#include "app.h"

/* Checks photos as they come until none came for idle_seconds (0: one pass
 * over what waits now), for at most max_seconds when not 0 (cron's pass:
 * the rest waits for the next pass, so a burst of photos never holds up
 * its FAL polling); how many were checked, 0 at once when another checker
 * runs, -1 on a database error. */
int photo_checks_run(struct app_ctx *ctx, int idle_seconds, int max_seconds);

#endif
