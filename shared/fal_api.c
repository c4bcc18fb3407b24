#include "fal_api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static void
copy_str(const cJSON *o, const char *k, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	out[0] = '\0';
	if (cJSON_IsString(v) && strlen(v->valuestring) < len)
		snprintf(out, len, "%s", v->valuestring);
}

static bool
url_like(const char *s)
{
	return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* url on base's origin (scheme://host[:port] exactly, then a path): the
 * FAL key goes with every status and result call, so only FAL's queue host
 * may be named. */
static bool
on_origin(const char *url, const char *base)
{
	const char *host = strstr(base, "://");
	const char *end = host ? strchr(host + 3, '/') : NULL;
	size_t n = end ? (size_t)(end - base) : strlen(base);

	return host != NULL && strncmp(url, base, n) == 0 && url[n] == '/';
}

int
fal_parse_submit(const char *base, const char *endpoint, const char *body,
    struct fal_submitted *out)
{
	cJSON *j = cJSON_Parse(body);
	char app[256];

	memset(out, 0, sizeof(*out));
	copy_str(j, "request_id", out->request_id, sizeof(out->request_id));
	copy_str(j, "gateway_request_id", out->gateway_request_id, sizeof(out->gateway_request_id));
	copy_str(j, "status_url", out->status_url, sizeof(out->status_url));
	copy_str(j, "response_url", out->response_url, sizeof(out->response_url));
	copy_str(j, "cancel_url", out->cancel_url, sizeof(out->cancel_url));
	cJSON_Delete(j);
	if (out->request_id[0] == '\0')
		return -1;
	for (const char *c = out->request_id; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
			return -1;
	/* {owner}/{app}: the first two path segments of the endpoint */
	const char *slash = strchr(endpoint, '/');
	const char *second = slash ? strchr(slash + 1, '/') : NULL;
	size_t n = second ? (size_t)(second - endpoint) : strlen(endpoint);
	snprintf(app, sizeof(app), "%.*s", (int)n, endpoint);
	if (!on_origin(out->status_url, base))
		snprintf(out->status_url, sizeof(out->status_url), "%s/%s/requests/%s/status", base,
		    app, out->request_id);
	if (!on_origin(out->response_url, base))
		snprintf(out->response_url, sizeof(out->response_url), "%s/%s/requests/%s", base, app,
		    out->request_id);
	if (!on_origin(out->cancel_url, base))
		snprintf(out->cancel_url, sizeof(out->cancel_url), "%s/%s/requests/%s/cancel", base,
		    app, out->request_id);
	return 0;
}

/* The reason in an error document: detail (string or list of {msg}) or error. */
static void
error_text(const cJSON *body, char *out, size_t len)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "detail");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(body, "error");

	out[0] = '\0';
	if (cJSON_IsString(d)) {
		snprintf(out, len, "%s", d->valuestring);
	} else if (cJSON_IsArray(d)) {
		const cJSON *it;
		size_t used = 0;
		cJSON_ArrayForEach(it, d) {
			const cJSON *msg = cJSON_GetObjectItemCaseSensitive(it, "msg");
			const cJSON *loc = cJSON_GetObjectItemCaseSensitive(it, "loc");
			const cJSON *last = cJSON_IsArray(loc) ?
			    cJSON_GetArrayItem(loc, cJSON_GetArraySize(loc) - 1) : NULL;
			if (!cJSON_IsString(msg) || used + 2 >= len)
				continue;
			used += (size_t)snprintf(out + used, len - used, "%s%s%s%s", used ? "; " : "",
			    cJSON_IsString(last) ? last->valuestring : "",
			    cJSON_IsString(last) ? ": " : "", msg->valuestring);
		}
	} else if (cJSON_IsString(e)) {
		snprintf(out, len, "%s", e->valuestring);
	}
}

static void
read_output(const cJSON *out, struct fal_result *r)
{
	const cJSON *lora = cJSON_GetObjectItemCaseSensitive(out, "diffusers_lora_file");
	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(out, "config_file");

	copy_str(lora, "url", r->lora_url, sizeof(r->lora_url));
	copy_str(conf, "url", r->config_url, sizeof(r->config_url));
	copy_str(out, "finetune_id", r->finetune_id, sizeof(r->finetune_id));
	if (r->lora_url[0] && !url_like(r->lora_url))
		r->lora_url[0] = '\0';
	if (r->config_url[0] && !url_like(r->config_url))
		r->config_url[0] = '\0';
	r->ok = r->lora_url[0] != '\0' || r->finetune_id[0] != '\0';
	if (!r->ok && r->error[0] == '\0') {
		error_text(out, r->error, sizeof(r->error));
		if (r->error[0] == '\0')
			snprintf(r->error, sizeof(r->error), "the result holds no LoRA file or finetune id");
	}
}

void
fal_classify_result(long http_status, const cJSON *body, struct fal_result *r)
{
	memset(r, 0, sizeof(*r));
	if (http_status < 200 || http_status >= 300) {
		error_text(body, r->error, sizeof(r->error));
		if (r->error[0] == '\0')
			snprintf(r->error, sizeof(r->error), "FAL answered HTTP %ld", http_status);
		utf8_clean(r->error);
		return;
	}
	read_output(body, r);
	utf8_clean(r->error);
}

void
fal_classify_webhook(const char *status, const cJSON *payload, const char *error,
    const char *payload_error, struct fal_result *r)
{
	memset(r, 0, sizeof(*r));
	if (status == NULL || strcmp(status, "OK") != 0) {
		error_text(payload, r->error, sizeof(r->error));
		if (r->error[0] == '\0')
			snprintf(r->error, sizeof(r->error), "%s", error ? error : "FAL reported an error");
		utf8_clean(r->error);
		return;
	}
	if (payload == NULL || !cJSON_IsObject(payload)) {
		snprintf(r->error, sizeof(r->error), "%s",
		    payload_error ? payload_error : "FAL sent no result");
		utf8_clean(r->error);
		return;
	}
	read_output(payload, r);
	utf8_clean(r->error);
}

/* "step 500/1000", "500/1000", "Step 50 of 100" → percent, or -1. */
static int
progress_in(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p) || (p > s && isdigit((unsigned char)p[-1])))
			continue;
		char *end;
		long a = strtol(p, &end, 10);
		while (*end == ' ')
			end++;
		if (*end == '/')
			end++;
		else if (strncmp(end, "of", 2) == 0)
			end += 2;
		else
			continue;
		while (*end == ' ')
			end++;
		if (!isdigit((unsigned char)*end))
			continue;
		long b = strtol(end, NULL, 10);
		if (b > 0 && a >= 0 && a <= b)
			return (int)(a * 100 / b);
	}
	return -1;
}

void
fal_parse_status(const char *body, char *status, size_t slen, int *progress,
    struct sbuf *logs)
{
	cJSON *j = cJSON_Parse(body);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	const cJSON *ls = cJSON_GetObjectItemCaseSensitive(j, "logs");
	const cJSON *it;

	*progress = -1;
	snprintf(status, slen, "%s", cJSON_IsString(st) ? st->valuestring : "");
	if (!cJSON_IsArray(ls))
		ls = NULL;
	cJSON_ArrayForEach(it, ls) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "message");
		if (!cJSON_IsString(m))
			continue;
		if (logs->len < 60000) {
			sbuf_add(logs, m->valuestring);
			sbuf_addc(logs, '\n');
		}
		int pr = progress_in(m->valuestring);
		if (pr >= 0)
			*progress = pr;
	}
	if (logs->p != NULL)
		logs->len = strlen(utf8_clean(logs->p));
	cJSON_Delete(j);
}
