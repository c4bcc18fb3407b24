/*
 * training_zip — an avatar's photos as the zip a trainer downloads: every
 * photo fetched from Telegram (getFile, then the file itself, 20 MB at
 * most) straight to a work file on disk, probed (image_probe.h: a JPEG, PNG
 * or WebP of a sane size, whatever its name or MIME type said; anything
 * else is left out), zipped, and the zip kept in the database as a large
 * object under a 128-bit random name (schema/013), so any node serves it —
 * GET /media/<name>.zip, streamed a chunk at a time — and only FAL, which
 * is given the URL, can find it.  Memory stays small whatever the photos
 * weigh: nothing is held whole.
 *
 * MEDIA_DIR holds only work files (0700, each 0600), removed as soon as the
 * zip is stored.  A zip lives until FAL has been running the training for
 * a minute (its runner downloads the zip first) or the training ends
 * (training.c): clearing avatars.zip_path drops its data in the same
 * transaction.  The sweep removes work files a crash left behind.
 */
#ifndef AISHA_TRAINING_ZIP_H
#define AISHA_TRAINING_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "fal_job.h"
#include "sbuf.h"

/* Publishes avatar aid's photos (it must be being submitted); url and path
 * (the zip's name, as avatars.zip_path keeps it) are filled.  FAL_STEP_RETRY
 * when Telegram, the database or the disk may do better later. */
enum fal_step training_zip_build(struct app_ctx *ctx, int64_t aid, struct sbuf *url,
    struct sbuf *path, char *why, size_t whylen);
/* Removes zip data no avatar refers to; how many, or -1. */
int training_zip_sweep_data(struct db *db);
/* GET /media/<name>.zip: the zip streamed from the database, or 404. */
void training_zip_serve(struct app_ctx *ctx, const char *name, struct http_resp *resp);
/* Removes our files in MEDIA_DIR older than older_than seconds that known()
 * says nothing refers to (known: 1 known, 0 not, -1 cannot tell; work files
 * are never known).  How many, or -1. */
int training_zip_sweep(const struct config *c, int older_than,
    int (*known)(void *ud, const char *path), void *ud);

#endif
