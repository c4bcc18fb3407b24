/*
 * photos — which photos an avatar accepts, and storing them exactly once.
 *
 * photo_check() is a pure function of the update and the limits: the largest
 * PhotoSize of a photo, or an image document (JPEG, PNG, WebP by MIME type),
 * at most 20 MB, at least min_side pixels on the short side when the size is
 * known.  photos_add() stores one under the avatar's row lock, so concurrent
 * album items are counted exactly once and never pass the maximum; a repeated
 * file_unique_id is a duplicate, not a new photo.
 */
#ifndef AISHA_PHOTOS_H
#define AISHA_PHOTOS_H

#include <stdint.h>

#include "db.h"
#include "tg_update.h"

#define PHOTO_MAX_BYTES (20LL * 1024 * 1024)

enum photo_verdict {
	PHOTO_OK,
	PHOTO_NOT_IMAGE,
	PHOTO_TOO_SMALL,
	PHOTO_TOO_BIG,
	PHOTO_NONE, /* no photo or document at all */
};

/* Checks the update's photo or document; on PHOTO_OK *mime is set. */
enum photo_verdict photo_check(const struct tg_update *u, int min_side,
    const char **mime);

enum photo_add_result { PHOTO_ADDED, PHOTO_DUPLICATE, PHOTO_FULL, PHOTO_GONE };

/* Stores the update's file for avatar_id (which must be in status 'photos');
 * *count is the avatar's photo count afterwards.  -1 on a database error. */
int photos_add(struct db *db, int64_t avatar_id, const struct tg_update *u,
    const char *mime, int max, enum photo_add_result *res, int *count);
/* The avatar's photo count, or -1. */
int photos_count(struct db *db, int64_t avatar_id);
/* The avatar's photos' Telegram file_ids, in the order they came; *out
 * (caller frees) holds them.  The count or -1. */
struct photo_file_id {
	char id[257];
};
int photos_file_ids(struct db *db, int64_t avatar_id, struct photo_file_id **out);

#endif
