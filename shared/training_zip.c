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
#include "image_probe.h"
#include "log.h"
#include "photos.h"
#include "tg_api.h"

#define MAX_SIDE 16384 /* px: larger is a decompression bomb, not a portrait */

/* One photo being fetched: its work file under MEDIA_DIR (0600). */
struct part {
	char path[1100];
	struct image_info img;
};

/* getFile: the file's path on Telegram's file server. */
static enum fal_step
file_path_of(struct app_ctx *ctx, const char *file_id, char *out, size_t outlen, char *why,
    size_t whylen)
{
	struct tg_reply r;
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "file_id", file_id);
	enum tg_result res = tg_call(ctx->tg, "getFile", p, &r);
	cJSON_Delete(p);
	if (res != TG_OK) {
		snprintf(why, whylen, "Telegram getFile: %s", r.description);
		tg_reply_free(&r);
		return res == TG_RETRY || res == TG_NO_TOKEN ? FAL_STEP_RETRY : FAL_STEP_FAIL;
	}
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(r.result, "file_path");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(r.result, "file_size");
	enum fal_step sr = FAL_STEP_OK;
	if (!cJSON_IsString(path) || strstr(path->valuestring, "..") != NULL ||
	    strlen(path->valuestring) >= outlen) {
		snprintf(why, whylen, "Telegram gave no usable file_path");
		sr = FAL_STEP_FAIL;
	} else if (cJSON_IsNumber(size) && size->valuedouble > (double)PHOTO_MAX_BYTES) {
		snprintf(why, whylen, "a photo is larger than 20 MB");
		sr = FAL_STEP_FAIL;
	} else {
		snprintf(out, outlen, "%s", path->valuestring);
	}
	tg_reply_free(&r);
	return sr;
}

/* Downloads one photo into a fresh work file, straight to disk. */
static enum fal_step
fetch(struct app_ctx *ctx, const char *file_id, struct part *pt, char *why, size_t whylen)
{
	char fpath[512];
	enum fal_step sr = file_path_of(ctx, file_id, fpath, sizeof(fpath), why, whylen);

	if (sr != FAL_STEP_OK)
		return sr;
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
	enum tg_result res = tg_download(ctx->tg, fpath, PHOTO_MAX_BYTES, f);
	if (res != TG_OK) {
		snprintf(why, whylen, "photo download failed");
		sr = res == TG_BAD ? FAL_STEP_FAIL : FAL_STEP_RETRY;
	} else if (image_probe(f, &pt->img) == IMAGE_UNKNOWN ||
	    pt->img.width > MAX_SIDE || pt->img.height > MAX_SIDE) {
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

/* Writes the zip (libzip reads the parts now, a block at a time) and
 * publishes it 0600 under its random name. */
static enum fal_step
publish(zip_t *z, const char *tmp, const char *path, char *why, size_t whylen)
{
	if (zip_close(z) != 0) {
		snprintf(why, whylen, "zip: %s", zip_strerror(z));
		zip_discard(z);
		return FAL_STEP_RETRY;
	}
	if (chmod(tmp, 0600) != 0 || rename(tmp, path) != 0) {
		snprintf(why, whylen, "cannot publish the zip: %s", strerror(errno));
		return FAL_STEP_RETRY;
	}
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
	sbuf_addf(path, "%s/%s.zip", ctx->cfg.media_dir, name);
	sbuf_addf(url, "%s/media/%s.zip", ctx->cfg.public_base_url, name);
	zip_t *z = zip_open(tmp, ZIP_CREATE | ZIP_EXCL, &zerr);
	enum fal_step sr = z ? add_photos(ctx, z, ids, n, parts, &kept, why, whylen) :
	    FAL_STEP_RETRY;
	if (z == NULL)
		snprintf(why, whylen, "cannot create the zip in MEDIA_DIR (libzip error %d)", zerr);
	else if (sr != FAL_STEP_OK)
		zip_discard(z);
	else
		sr = publish(z, tmp, path->p, why, whylen);
	unlink(tmp);
	for (int i = 0; i < n; i++)
		if (parts[i].path[0] != '\0')
			unlink(parts[i].path);
	free(parts);
	free(ids);
	if (sr != FAL_STEP_OK)
		unlink(path->p);
	else
		log_info("avatar %" PRId64 ": %d of %d photos published as a zip", aid, kept, n);
	return sr;
}

/* Only files we published: inside MEDIA_DIR, a plain name ending in .zip. */
void
training_zip_remove(const struct config *c, const char *path)
{
	size_t ml = strlen(c->media_dir);

	if (strncmp(path, c->media_dir, ml) != 0 || path[ml] != '/' ||
	    strchr(path + ml + 1, '/') != NULL || strstr(path, "..") != NULL)
		return;
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("cannot remove a published zip: %s", strerror(errno));
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
