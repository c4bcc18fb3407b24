/*
 * training_zip — an avatar's photos as the zip a trainer downloads: every
 * photo fetched from Telegram (getFile, then the file itself, 20 MB at
 * most) and written into a zip published under MEDIA_DIR with a 128-bit
 * random name, so only FAL, which is given the URL, can find it.  The
 * published zip is removed once the training has ended (maintenance.c).
 */
#ifndef AISHA_TRAINING_ZIP_H
#define AISHA_TRAINING_ZIP_H

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

#endif
