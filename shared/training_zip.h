/*
 * training_zip — an avatar's photos as the zip a trainer downloads: every
 * photo fetched from Telegram (getFile, then the file itself, 20 MB at
 * most) straight to a work file on disk, probed (image_probe.h: a JPEG, PNG
 * or WebP of a sane size, whatever its name or MIME type said; anything
 * else is left out), and stored into a zip published under MEDIA_DIR with a
 * 128-bit random name, so only FAL, which is given the URL, can find it.
 * Memory stays small whatever the photos weigh: nothing is held whole.
 *
 * MEDIA_DIR is 0700 and every file in it 0600 (lighttpd, which serves the
 * zip to FAL, runs as the same user).  A zip lives until FAL has been
 * running the training for a minute (its runner downloads the zip first)
 * or the training ends (training.c), and the sweep removes any file of
 * ours the database does not know (a crash between publish and store).
 */
#ifndef AISHA_TRAINING_ZIP_H
#define AISHA_TRAINING_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "fal_job.h"
#include "sbuf.h"

/* Publishes avatar aid's photos; url and path are filled.  FAL_STEP_RETRY
 * when Telegram, the database or the disk may do better later. */
enum fal_step training_zip_build(struct app_ctx *ctx, int64_t aid, struct sbuf *url,
    struct sbuf *path, char *why, size_t whylen);
/* Removes a zip we published (nothing outside MEDIA_DIR). */
void training_zip_remove(const struct config *c, const char *path);
/* Removes our files in MEDIA_DIR older than older_than seconds that known()
 * says nothing refers to (known: 1 known, 0 not, -1 cannot tell; work files
 * are never known).  How many, or -1. */
int training_zip_sweep(const struct config *c, int older_than,
    int (*known)(void *ud, const char *path), void *ud);

#endif
