/*
 * training_zip — see training_zip.h.
 */
#include "training_zip.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

#include "auth.h"
#include "log.h"
#include "photos.h"
#include "tg_api.h"


static enum fal_step
download_photo(struct app_ctx *ctx, const char *file_id, struct sbuf *out, char *why,
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
	if (!cJSON_IsString(path) || strstr(path->valuestring, "..") != NULL) {
		snprintf(why, whylen, "Telegram gave no usable file_path");
		sr = FAL_STEP_FAIL;
	} else if (cJSON_IsNumber(size) && size->valuedouble > 20.0 * 1024 * 1024) {
		snprintf(why, whylen, "a photo is larger than 20 MB");
		sr = FAL_STEP_FAIL;
	} else {
		res = tg_download(ctx->tg, path->valuestring, 20 << 20, out);
		if (res != TG_OK) {
			snprintf(why, whylen, "photo download failed");
			sr = res == TG_BAD ? FAL_STEP_FAIL : FAL_STEP_RETRY;
		}
	}
	tg_reply_free(&r);
	return sr;
}

enum fal_step
training_zip_build(struct app_ctx *ctx, int64_t aid, struct sbuf *url, struct sbuf *path,
    char *why, size_t whylen)
{
	struct photo_file_id *ids;
	char name[32], tmp[1100];
	enum fal_step sr = FAL_STEP_OK;
	int n = photos_file_ids(&ctx->db, aid, &ids);

	if (n <= 0) {
		free(ids);
		snprintf(why, whylen, n < 0 ? "database" : "the avatar has no photos");
		return n < 0 ? FAL_STEP_RETRY : FAL_STEP_FAIL;
	}
	struct sbuf *bufs = xcalloc((size_t)n, sizeof(*bufs));
	auth_random_b64(name, sizeof(name), 16);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s.zip", ctx->cfg.media_dir, name);
	sbuf_addf(path, "%s/%s.zip", ctx->cfg.media_dir, name);
	sbuf_addf(url, "%s/media/%s.zip", ctx->cfg.public_base_url, name);
	int zerr = 0;
	zip_t *z = zip_open(tmp, ZIP_CREATE | ZIP_EXCL, &zerr);
	if (z == NULL) {
		snprintf(why, whylen, "cannot create the zip in MEDIA_DIR (libzip error %d)", zerr);
		sr = FAL_STEP_RETRY;
		goto out;
	}
	for (int i = 0; i < n && sr == FAL_STEP_OK; i++) {
		char entry[32];
		sr = download_photo(ctx, ids[i].id, &bufs[i], why, whylen);
		if (sr != FAL_STEP_OK)
			break;
		snprintf(entry, sizeof(entry), "photo_%02d.jpg", i + 1);
		zip_source_t *src = zip_source_buffer(z, bufs[i].p, bufs[i].len, 0);
		if (src == NULL || zip_file_add(z, entry, src, ZIP_FL_ENC_UTF_8) < 0) {
			if (src)
				zip_source_free(src);
			snprintf(why, whylen, "zip: %s", zip_strerror(z));
			sr = FAL_STEP_RETRY;
		}
	}
	if (sr != FAL_STEP_OK) {
		zip_discard(z);
	} else if (zip_close(z) != 0) {
		snprintf(why, whylen, "zip: %s", zip_strerror(z));
		zip_discard(z);
		sr = FAL_STEP_RETRY;
	} else if (rename(tmp, path->p) != 0) {
		snprintf(why, whylen, "cannot publish the zip: %s", strerror(errno));
		sr = FAL_STEP_RETRY;
	}
out:
	unlink(tmp);
	for (int i = 0; i < n; i++)
		sbuf_free(&bufs[i]);
	free(bufs);
	free(ids);
	if (sr != FAL_STEP_OK)
		unlink(path->p);
	else
		log_info("avatar %" PRId64 ": %d photos published as a zip", aid, n);
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
