#include "photos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "avatars.h"

static const char *const image_mimes[] = {"image/jpeg", "image/png", "image/webp"};
static const char *const image_exts[] = {"jpg", "jpeg", "jfif", "png", "webp"};

/* A document's name, when it has an extension, must name a picture: the
 * MIME type is the sender's word (x.exe sent as image/jpeg is not one). */
static bool
name_is_image(const char *name)
{
	const char *dot = name ? strrchr(name, '.') : NULL;

	if (dot == NULL)
		return true;
	for (size_t i = 0; i < sizeof(image_exts) / sizeof(image_exts[0]); i++)
		if (strcasecmp(dot + 1, image_exts[i]) == 0)
			return true;
	return false;
}

enum photo_verdict
photo_check(const struct tg_update *u, int min_side, const char **mime)
{
	const struct tg_file *f = &u->file;

	*mime = NULL;
	if (!u->has_photo && !u->has_document)
		return PHOTO_NONE;
	if (u->has_document) {
		const char *m = f->mime_type ? f->mime_type : "";
		for (size_t i = 0; i < sizeof(image_mimes) / sizeof(image_mimes[0]); i++)
			if (strcasecmp(m, image_mimes[i]) == 0)
				*mime = image_mimes[i];
		if (*mime == NULL || !name_is_image(f->file_name))
			return PHOTO_NOT_IMAGE;
	} else {
		*mime = "image/jpeg";
	}
	if (f->file_size > PHOTO_MAX_BYTES)
		return PHOTO_TOO_BIG;
	if (f->width > 0 && f->height > 0 &&
	    (f->width < min_side || f->height < min_side))
		return PHOTO_TOO_SMALL;
	if (u->has_photo && (f->width == 0 || f->height == 0))
		return PHOTO_TOO_SMALL;
	return PHOTO_OK;
}

/* The count, the insert, and whether the photo checker runs (it holds
 * PHOTO_CHECKER_LOCK): when none does, the turn starts one after its
 * commit.  Rejected photos do not count, but an avatar keeps at most twice
 * the maximum in all: sending bad photos without end fills nothing. */
static struct db_stmt st_add = DB_STMT("photos_add",
    "WITH c AS (SELECT count(*) FILTER (WHERE " PHOTO_COUNTED_SQL ") AS n, count(*) AS total"
    "  FROM avatar_photos p WHERE avatar_id = $1),"
    " ins AS (INSERT INTO avatar_photos (avatar_id, file_id, file_unique_id, source,"
    "  mime_type, width, height, file_size, media_group_id, message_id)"
    "  SELECT $1, $2, $3, $4, $5, nullif($6::int, 0), nullif($7::int, 0),"
    "   nullif($8::bigint, 0), $9, $10 FROM c WHERE c.n < $11 AND c.total < 2 * $11"
    "  ON CONFLICT (avatar_id, file_unique_id) DO NOTHING RETURNING 1),"
    " dup AS (SELECT 1 FROM avatar_photos WHERE avatar_id = $1 AND file_unique_id = $3)"
    " SELECT (SELECT n FROM c), (SELECT count(*) FROM ins), EXISTS (SELECT 1 FROM dup),"
    "  " DB_LOCK_FREE_SQL(PHOTO_CHECKER_LOCK));
static struct db_stmt st_count = DB_STMT("photos_count",
    "SELECT count(*) FROM avatar_photos p WHERE avatar_id = $1 AND " PHOTO_COUNTED_SQL);
static struct db_stmt st_file_ids = DB_STMT("photos_file_ids",
    "SELECT file_id FROM avatar_photos p WHERE avatar_id = $1 AND " PHOTO_COUNTED_SQL
    " ORDER BY id");
/* Every photo in the order it came, with its verdict and, for a repeat,
 * the place of the photo it repeats. */
static struct db_stmt st_tally = DB_STMT("photos_tally",
    "WITH x AS (SELECT id, verdict, same_as, row_number() OVER (ORDER BY id) AS n"
    "  FROM avatar_photos WHERE avatar_id = $1)"
    " SELECT x.n, coalesce(x.verdict, ''), coalesce(s.n, 0) FROM x"
    " LEFT JOIN x s ON s.id = x.same_as ORDER BY x.n");

int
photos_count(struct db *db, int64_t avatar_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, avatar_id);
	PGresult *r = db_run(db, &st_count, &p);
	if (r == NULL)
		return -1;
	int n = (int)db_i64(r, 0, 0);
	PQclear(r);
	return n;
}

int
photos_add(struct db *db, int64_t avatar_id, const struct tg_update *u,
    const char *mime, int max, enum photo_add_result *res, int *count, bool *checker_idle)
{
	struct db_params p;
	const struct tg_file *f = &u->file;

	/* The lock first, in its own statement: the count below then sees every
	 * photo committed by whoever held the lock before us. */
	int open = avatar_lock_photos_open(db, avatar_id);
	if (open < 0)
		return -1;
	if (!open) {
		*res = PHOTO_GONE;
		*count = 0;
		*checker_idle = false;
		return 0;
	}
	db_params_init(&p);
	db_p_i64(&p, avatar_id);
	db_p_str(&p, f->file_id);
	db_p_str(&p, f->file_unique_id);
	db_p_str(&p, u->has_photo ? "photo" : "document");
	db_p_str(&p, mime);
	db_p_i64(&p, f->width);
	db_p_i64(&p, f->height);
	db_p_i64(&p, f->file_size);
	db_p_str(&p, u->media_group_id);
	db_p_i64(&p, u->message_id);
	db_p_i64(&p, max);
	PGresult *r = db_run(db, &st_add, &p);
	if (r == NULL)
		return -1;
	int before = (int)db_i64(r, 0, 0);
	int added = (int)db_i64(r, 0, 1);
	int dup = db_bool(r, 0, 2);
	*checker_idle = added && db_bool(r, 0, 3);
	PQclear(r);
	*count = before + added;
	*res = added ? PHOTO_ADDED : dup ? PHOTO_DUPLICATE : PHOTO_FULL;
	return 0;
}

int
photos_file_ids(struct db *db, int64_t avatar_id, struct photo_file_id **out)
{
	struct db_params p;

	*out = NULL;
	db_params_init(&p);
	db_p_i64(&p, avatar_id);
	PGresult *r = db_run(db, &st_file_ids, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	*out = xcalloc((size_t)(n ? n : 1), sizeof(**out));
	for (int i = 0; i < n; i++)
		snprintf((*out)[i].id, sizeof((*out)[i].id), "%s", db_str(r, i, 0));
	PQclear(r);
	return n;
}

static const char *const verdict_names[] = {
	[PV_PENDING] = "", [PV_OK] = "ok", [PV_NOT_PHOTO] = "not_photo", [PV_SMALL] = "small",
	[PV_DARK] = "dark", [PV_BRIGHT] = "bright", [PV_BLURRY] = "blurry",
	[PV_NO_FACE] = "no_face", [PV_FACES] = "faces", [PV_DUPLICATE] = "duplicate",
	[PV_UNREADABLE] = "unreadable",
};

enum photo_check_verdict
photo_verdict_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(verdict_names) / sizeof(*verdict_names); i++)
		if (strcmp(s, verdict_names[i]) == 0)
			return (enum photo_check_verdict)i;
	return PV_UNREADABLE;
}

const char *
photo_verdict_name(enum photo_check_verdict v)
{
	return verdict_names[v];
}

int
photos_tally(struct db *db, int64_t avatar_id, struct photo_tally *out)
{
	struct db_params p;

	memset(out, 0, sizeof(*out));
	db_params_init(&p);
	db_p_i64(&p, avatar_id);
	PGresult *r = db_run(db, &st_tally, &p);
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		enum photo_check_verdict v = photo_verdict_parse(PQgetvalue(r, i, 1));
		if (v == PV_PENDING || v == PV_OK) {
			out->pending += v == PV_PENDING;
			out->passed += v == PV_OK;
			continue;
		}
		if (out->rejected++ < PHOTO_TALLY_LIST)
			out->list[out->listed++] = (struct photo_rejection){
				.nth = (int)db_i64(r, i, 0), .verdict = v, .same_as = (int)db_i64(r, i, 2)};
	}
	PQclear(r);
	return 0;
}
