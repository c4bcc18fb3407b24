/*
 * tg_files — see tg_files.h.
 */
#include "tg_files.h"

#include <string.h>

#include "tg_api.h"

/* getFile: the file's path on Telegram's file server. */
static enum fal_step
file_path_of(struct app_ctx *ctx, const char *file_id, size_t max, char *out, size_t outlen,
    char *why, size_t whylen)
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
	} else if (cJSON_IsNumber(size) && size->valuedouble > (double)max) {
		snprintf(why, whylen, "the file is larger than %zu bytes", max);
		sr = FAL_STEP_FAIL;
	} else {
		snprintf(out, outlen, "%s", path->valuestring);
	}
	tg_reply_free(&r);
	return sr;
}

enum fal_step
tg_file_fetch(struct app_ctx *ctx, const char *file_id, size_t max, FILE *out, char *why,
    size_t whylen)
{
	char fpath[512];
	enum fal_step sr = file_path_of(ctx, file_id, max, fpath, sizeof(fpath), why, whylen);

	if (sr != FAL_STEP_OK)
		return sr;
	enum tg_result res = tg_download(ctx->tg, fpath, max, out);
	if (res == TG_OK)
		return FAL_STEP_OK;
	snprintf(why, whylen, "file download failed");
	return res == TG_BAD ? FAL_STEP_FAIL : FAL_STEP_RETRY;
}
