/*
 * tg_files — a file a person sent, fetched from Telegram: getFile for its
 * path on the file server (a path with ".." or a size over the limit is
 * refused), then the bytes, at most max, into a stream the caller owns (a
 * work file for the training zip, memory for the photo checks).
 */
#ifndef AISHA_TG_FILES_H
#define AISHA_TG_FILES_H

#include <stddef.h>
#include <stdio.h>

#include "app.h"
#include "fal_job.h"

/* FAL_STEP_RETRY when Telegram may answer later, FAL_STEP_FAIL when the
 * file cannot be had (why says which). */
enum fal_step tg_file_fetch(struct app_ctx *ctx, const char *file_id, size_t max, FILE *out,
    char *why, size_t whylen);

#endif
