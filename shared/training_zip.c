/*
 * training_zip — see training_zip.h.
 */
#include "training_zip.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zip.h>

#include "auth.h"
#include "avatars.h"
#include "image_probe.h"
#include "log.h"
#include "photos.h"
#include "tg_files.h"

#define MAX_SIDE 16384 /* px: larger is a decompression bomb, not a portrait */

/* One photo being fetched: its work file under MEDIA_DIR (0600). */
struct part {
	char path[1100];
	struct image_info img;
};

/* Downloads one photo into a fresh work file, straight to disk. */
static enum fal_step
fetch(struct app_ctx *ctx, const char *file_id, struct part *pt, char *why, size_t whylen)
{
	snprintf(pt->path, sizeof(pt->path), "%s/.part-XXXXXX", ctx->cfg.media_dir);
	int fd = mkstemp(pt->path); /* 0600 */
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w+b");
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		pt->path[0] = '\0';
		snprintf(why, whylen, "cannot write in MEDIA_DIR: %s", strerror(errno));
		return FAL_STEP_RETRY;
	}
	enum fal_step sr = tg_file_fetch(ctx, file_id, PHOTO_MAX_BYTES, f, why, whylen);
	if (sr == FAL_STEP_OK && (image_probe(f, &pt->img) == IMAGE_UNKNOWN ||
	    pt->img.width > MAX_SIDE || pt->img.height > MAX_SIDE)) {
		log_warn("a photo (%s) is not a JPEG, PNG or WebP of a usable size; left out",
		    file_id);
		pt->img.kind = IMAGE_UNKNOWN;
	}
	fclose(f);
	return sr;
}

/* MEDIA_DIR exists and is the service user's alone (0700). */
static int
private_dir(const char *dir, char *why, size_t whylen)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(why, whylen, "cannot create MEDIA_DIR: %s", strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == 0 && (st.st_mode & 077) != 0 && chmod(dir, 0700) == 0)
		log_warn("MEDIA_DIR was open to other users; now 0700");
	return 0;
}

/* Adds a probed photo as photo_NN.<ext>, stored (a JPEG does not shrink). */
static int
add_part(zip_t *z, const struct part *pt, int nth)
{
	char entry[32];

	snprintf(entry, sizeof(entry), "photo_%02d.%s", nth, image_ext(pt->img.kind));
	zip_source_t *src = zip_source_file(z, pt->path, 0, -1);
	zip_int64_t idx = src ? zip_file_add(z, entry, src, ZIP_FL_ENC_UTF_8) : -1;
	if (idx < 0) {
		if (src)
			zip_source_free(src);
		return -1;
	}
	return zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
}

/* Fetches every photo into parts and adds the pictures among them to z. */
static enum fal_step
add_photos(struct app_ctx *ctx, zip_t *z, const struct photo_file_id *ids, int n,
    struct part *parts, int *kept, char *why, size_t whylen)
{
	enum fal_step sr = FAL_STEP_OK;

	*kept = 0;
	for (int i = 0; i < n && sr == FAL_STEP_OK; i++) {
		sr = fetch(ctx, ids[i].id, &parts[i], why, whylen);
		if (sr != FAL_STEP_OK || parts[i].img.kind == IMAGE_UNKNOWN)
			continue;
		if (add_part(z, &parts[i], ++*kept) != 0) {
			snprintf(why, whylen, "zip: %s", zip_strerror(z));
			sr = FAL_STEP_RETRY;
		}
	}
	/* the flow queued at least PHOTOS_MIN: that many must be pictures */
	if (sr == FAL_STEP_OK && *kept < (n < ctx->cfg.photos_min ? n : ctx->cfg.photos_min)) {
		snprintf(why, whylen, "only %d of the %d photos are pictures we can use", *kept, n);
		sr = FAL_STEP_FAIL;
	}
	return sr;
}

#define LO_CHUNK (1 << 20)

static struct db_stmt st_lo_create = DB_STMT("zip_lo_create", "SELECT lo_create(0)");
static struct db_stmt st_lo_put = DB_STMT("zip_lo_put",
    "SELECT lo_put($1::oid, $2::bigint, $3::bytea)");
static struct db_stmt st_lo_get = DB_STMT("zip_lo_get",
    "SELECT lo_get($1::oid, $2::bigint, $3::int)");
static struct db_stmt st_snapshot = DB_STMT("zip_snapshot",
    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");

/* The file's bytes into large object oid, a chunk at a time (as bytea's
 * hex text: the connection's statements carry text). */
static int
copy_in(struct db *db, FILE *f, const char *oid, int64_t *size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *buf = xmalloc(LO_CHUNK);
	char *txt = xmalloc(2 * LO_CHUNK + 3);
	size_t n;
	int rc = 0;

	*size = 0;
	while (rc == 0 && (n = fread(buf, 1, LO_CHUNK, f)) > 0) {
		struct db_params p;
		txt[0] = '\\';
		txt[1] = 'x';
		for (size_t i = 0; i < n; i++) {
			txt[2 + 2 * i] = hex[buf[i] >> 4];
			txt[3 + 2 * i] = hex[buf[i] & 15];
		}
		txt[2 + 2 * n] = '\0';
		db_params_init(&p);
		db_p_str(&p, oid);
		db_p_i64(&p, *size);
		db_p_str(&p, txt);
		PGresult *r = db_run(db, &st_lo_put, &p);
		rc = r == NULL ? -1 : 0;
		PQclear(r);
		*size += (int64_t)n;
	}
	if (ferror(f))
		rc = -1;
	free(buf);
	free(txt);
	return rc;
}

/* Writes the zip (libzip reads the parts now, a block at a time), then
 * stores it in the database and attaches it to the avatar, in one
 * transaction: every node can serve it, none keeps a file. */
static enum fal_step
publish(struct app_ctx *ctx, int64_t aid, zip_t *z, const char *tmp, const char *name,
    char *why, size_t whylen)
{
	struct db *db = &ctx->db;
	int64_t size = 0;

	if (zip_close(z) != 0) {
		snprintf(why, whylen, "zip: %s", zip_strerror(z));
		zip_discard(z);
		return FAL_STEP_RETRY;
	}
	FILE *f = fopen(tmp, "rb");
	if (f == NULL) {
		snprintf(why, whylen, "cannot read the zip: %s", strerror(errno));
		return FAL_STEP_RETRY;
	}
	char oid[24] = "";
	PGresult *r = db_begin(db) == 0 ? db_run(db, &st_lo_create, NULL) : NULL;
	bool created = r != NULL;
	if (created)
		snprintf(oid, sizeof(oid), "%s", db_str(r, 0, 0));
	PQclear(r);
	int attached = !created || copy_in(db, f, oid, &size) != 0 ? -1 :
	    avatar_attach_zip(db, aid, oid, name);
	fclose(f);
	if (attached != 1 || db_commit(db) != 0) {
		db_rollback(db);
		snprintf(why, whylen, attached == 0 ? "the avatar is no longer being submitted" :
		    "the database could not keep the zip");
		return attached == 0 ? FAL_STEP_FAIL : FAL_STEP_RETRY;
	}
	log_info("avatar %" PRId64 ": zip of %" PRId64 " bytes kept in the database", aid, size);
	return FAL_STEP_OK;
}

enum fal_step
training_zip_build(struct app_ctx *ctx, int64_t aid, struct sbuf *url, struct sbuf *path,
    char *why, size_t whylen)
{
	struct photo_file_id *ids;
	char name[32], tmp[1100];
	int n = photos_file_ids(&ctx->db, aid, &ids), kept = 0, zerr = 0;

	if (n <= 0 || private_dir(ctx->cfg.media_dir, why, whylen) != 0) {
		free(ids);
		if (n <= 0)
			snprintf(why, whylen, n < 0 ? "database" : "the avatar has no photos");
		return n == 0 ? FAL_STEP_FAIL : FAL_STEP_RETRY;
	}
	struct part *parts = xcalloc((size_t)n, sizeof(*parts));
	auth_random_b64(name, sizeof(name), 16);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s.zip", ctx->cfg.media_dir, name);
	sbuf_addf(path, "%s.zip", name);
	sbuf_addf(url, "%s/media/%s.zip", ctx->cfg.public_base_url, name);
	zip_t *z = zip_open(tmp, ZIP_CREATE | ZIP_EXCL, &zerr);
	enum fal_step sr = z ? add_photos(ctx, z, ids, n, parts, &kept, why, whylen) :
	    FAL_STEP_RETRY;
	if (z == NULL)
		snprintf(why, whylen, "cannot create the zip in MEDIA_DIR (libzip error %d)", zerr);
	else if (sr != FAL_STEP_OK)
		zip_discard(z);
	else
		sr = publish(ctx, aid, z, tmp, path->p, why, whylen);
	unlink(tmp);
	for (int i = 0; i < n; i++)
		if (parts[i].path[0] != '\0')
			unlink(parts[i].path);
	free(parts);
	free(ids);
	if (sr == FAL_STEP_OK)
		log_info("avatar %" PRId64 ": %d of %d photos published as a zip", aid, kept, n);
	return sr;
}

/* Zip data no avatar refers to (kept by hand, or by a bug): removed. */
static struct db_stmt st_lo_orphans = DB_STMT("zip_lo_orphans",
    "SELECT count(lo_unlink(m.oid)) FROM pg_largeobject_metadata m"
    " WHERE NOT EXISTS (SELECT 1 FROM avatars a WHERE a.zip_oid = m.oid)");

int
training_zip_sweep_data(struct db *db)
{
	PGresult *r = db_run(db, &st_lo_orphans, NULL);
	int n = r == NULL ? -1 : (int)db_i64(r, 0, 0);

	PQclear(r);
	if (n > 0)
		log_warn("removed %d zips from the database: no avatar referred to them", n);
	return n;
}

/* --- GET /media/<name>.zip --------------------------------------------------- */

#define SEND_CHUNK (256 << 10)

static struct db_stmt st_lo_size = DB_STMT("zip_lo_size",
    "SELECT lo_lseek64(lo_open($1::oid, 262144), 0, 2)"); /* INV_READ, SEEK_END */

struct zip_stream {
	struct db *db;
	char oid[24];
	int64_t size;
};

/* After the headers: the zip a chunk at a time, in the snapshot that found
 * it (a training that ends meanwhile does not cut it short). */
static int
stream_out(void *ud, const struct http_io *io)
{
	struct zip_stream *zs = ud;
	int rc = 0;

	for (int64_t off = 0; rc == 0 && off < zs->size; off += SEND_CHUNK) {
		struct db_params p;
		size_t len = 0;
		db_params_init(&p);
		db_p_str(&p, zs->oid);
		db_p_i64(&p, off);
		db_p_i64(&p, SEND_CHUNK);
		PGresult *r = db_run(zs->db, &st_lo_get, &p);
		unsigned char *b = r ? PQunescapeBytea((const unsigned char *)db_str(r, 0, 0),
		    &len) : NULL;
		rc = b == NULL || len == 0 ? -1 : io->write(io->ctx, (const char *)b, len);
		PQfreemem(b);
		PQclear(r);
	}
	db_rollback(zs->db);
	return rc;
}

static void
not_found(struct http_resp *resp)
{
	http_resp_error(resp, HTTP_404, "not_found", "no such file");
}

void
training_zip_serve(struct app_ctx *ctx, const char *name, struct http_resp *resp)
{
	struct zip_stream *zs;
	size_t n = strlen(name);
	char oid[24];

	if (n != 26 || strcmp(name + 22, ".zip") != 0 ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != 22) {
		not_found(resp);
		return;
	}
	if (db_begin(&ctx->db) != 0 || db_exec(&ctx->db, &st_snapshot, NULL) != 0) {
		db_rollback(&ctx->db);
		http_resp_error(resp, HTTP_503, "unavailable", "try again later");
		return;
	}
	int found = avatar_zip_of(&ctx->db, name, oid, sizeof(oid));
	struct db_params p;
	db_params_init(&p);
	db_p_str(&p, oid);
	PGresult *r = found == 1 ? db_run(&ctx->db, &st_lo_size, &p) : NULL;
	if (r == NULL) {
		db_rollback(&ctx->db);
		if (found == 0)
			not_found(resp);
		else
			http_resp_error(resp, HTTP_503, "unavailable", "try again later");
		return;
	}
	zs = xcalloc(1, sizeof(*zs));
	zs->db = &ctx->db;
	snprintf(zs->oid, sizeof(zs->oid), "%s", oid);
	zs->size = db_i64(r, 0, 0);
	PQclear(r);
	log_info("a training zip of %" PRId64 " bytes streamed", zs->size); /* not its name: FAL's key */
	http_resp_stream(resp, "application/zip", (size_t)zs->size, stream_out, zs);
}

/* A file of ours in MEDIA_DIR: a zip, or a work file left by a crash. */
static bool
ours(const char *name)
{
	size_t n = strlen(name);

	return strncmp(name, ".part-", 6) == 0 || strncmp(name, ".tmp-", 5) == 0 ||
	    (n == 26 && strcmp(name + 22, ".zip") == 0);
}

int
training_zip_sweep(const struct config *c, int older_than, int (*known)(void *ud,
    const char *path), void *ud)
{
	DIR *d = opendir(c->media_dir);
	struct dirent *e;
	int removed = 0;
	time_t now = time(NULL);

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		char p[1400];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", c->media_dir, e->d_name);
		if (!ours(e->d_name) || lstat(p, &st) != 0 || !S_ISREG(st.st_mode) ||
		    now - st.st_mtime < older_than)
			continue;
		if (e->d_name[0] != '.' && known(ud, p) != 0) /* known, or cannot tell */
			continue;
		if (unlink(p) == 0) {
			removed++;
			log_info("removed %s from MEDIA_DIR: nothing refers to it", e->d_name);
		}
	}
	closedir(d);
	return removed;
}
