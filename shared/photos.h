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

#include <stdbool.h>
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

/* Held by the one photo checker (photo_checks.h) while it runs. */
#define PHOTO_CHECKER_LOCK "4248"

/* Stores the update's file for avatar_id (which must be in status 'photos');
 * *count is the avatar's photo count afterwards (photos the checks rejected
 * do not count), *checker_idle whether a photo checker must be started for
 * it.  -1 on a database error. */
int photos_add(struct db *db, int64_t avatar_id, const struct tg_update *u,
    const char *mime, int max, enum photo_add_result *res, int *count, bool *checker_idle);
/* The avatar's photo count (checks passed or to come), or -1. */
int photos_count(struct db *db, int64_t avatar_id);
/* The avatar's photos' Telegram file_ids, in the order they came; *out
 * (caller frees) holds them.  The count or -1. */
struct photo_file_id {
	char id[257];
};
int photos_file_ids(struct db *db, int64_t avatar_id, struct photo_file_id **out);

/* A photo's check (schema/014's verdict; PV_PENDING: not checked yet). */
enum photo_check_verdict {
	PV_PENDING, PV_OK, PV_NOT_PHOTO, PV_SMALL, PV_DARK, PV_BRIGHT, PV_BLURRY, PV_NO_FACE, PV_FACES,
	PV_DUPLICATE, PV_UNREADABLE,
};
enum photo_check_verdict photo_verdict_parse(const char *s);
const char *photo_verdict_name(enum photo_check_verdict v);

#define PHOTO_TALLY_LIST 10 /* rejections listed to the person */
struct photo_rejection {
	int nth;     /* the photo's place in the order they came, from 1 */
	enum photo_check_verdict verdict;
	int same_as; /* a repeat: the place of the photo it repeats */
};
/* How an avatar's photos fared in the checks. */
struct photo_tally {
	int passed, pending, rejected;
	int listed;
	struct photo_rejection list[PHOTO_TALLY_LIST];
};
/* 0 read, -1 error. */
int photos_tally(struct db *db, int64_t avatar_id, struct photo_tally *out);

#endif
