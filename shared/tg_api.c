/*
 * tg_api — synchronous calls with short timeouts: a handler that needs more
 * than one call makes them after its transaction committed, so a slow
 * Telegram never holds a row lock.
 */
#include "tg_api.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_out.h"
#include "log.h"
#include "metrics.h"
#include "utf8.h"

struct tg_api {
	CURL *curl;
	struct curl_slist *json_hdr;
	char *base;  /* {TELEGRAM_API_BASE}/bot{TOKEN}/ — secret, never logged */
	char *fbase; /* {TELEGRAM_API_BASE}/file/bot{TOKEN}/ */
};

struct tg_api *
tg_api_new(const struct config *cfg)
{
	struct tg_api *api = xcalloc(1, sizeof(*api));
	struct sbuf b = SBUF_INIT;

	if (cfg->tg_token[0] != '\0') {
		sbuf_addf(&b, "%s/bot%s/", cfg->tg_api_base, cfg->tg_token);
		api->base = sbuf_take(&b);
		sbuf_addf(&b, "%s/file/bot%s/", cfg->tg_api_base, cfg->tg_token);
		api->fbase = sbuf_take(&b);
	}
	api->json_hdr = curl_slist_append(NULL, "Content-Type: application/json");
	return api;
}

void
tg_api_free(struct tg_api *api)
{
	if (api == NULL)
		return;
	if (api->curl)
		curl_easy_cleanup(api->curl);
	curl_slist_free_all(api->json_hdr);
	free(api->base);
	free(api->fbase);
	free(api);
}

void
tg_reply_free(struct tg_reply *r)
{
	if (r == NULL)
		return;
	cJSON_Delete(r->result);
	r->result = NULL;
}

struct sink {
	struct sbuf *buf;
	size_t max;
};

static size_t
sink_write(char *p, size_t sz, size_t n, void *ud)
{
	struct sink *s = ud;

	if (s->buf->len + sz * n > s->max)
		return 0; /* aborts the transfer */
	sbuf_addn(s->buf, p, sz * n);
	return sz * n;
}

/* A download's sink: the file, and how much it may hold. */
struct file_sink {
	FILE *f;
	size_t len, max;
};

static size_t
file_write(char *p, size_t sz, size_t n, void *ud)
{
	struct file_sink *s = ud;

	if (s->len + sz * n > s->max || fwrite(p, 1, sz * n, s->f) != sz * n)
		return 0; /* aborts the transfer */
	s->len += sz * n;
	return sz * n;
}

static CURL *
tg_handle(struct tg_api *api)
{
	if (api->curl == NULL)
		api->curl = curl_easy_init();
	else
		curl_easy_reset(api->curl);
	curl_easy_setopt(api->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(api->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(api->curl, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(api->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	return api->curl;
}

void
tg_classify(long http, const char *body, struct tg_reply *out)
{
	cJSON *j = cJSON_Parse(body);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(j, "description");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "parameters");
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(params, "retry_after");

	out->http = http;
	out->retry_after = 0;
	out->description[0] = '\0';
	if (cJSON_IsString(desc)) {
		snprintf(out->description, sizeof(out->description), "%s", desc->valuestring);
		utf8_clean(out->description); /* stored as last_error: whole characters */
	}
	if (http == 200 && cJSON_IsTrue(ok)) {
		out->res = TG_OK;
		out->result = cJSON_DetachItemFromObjectCaseSensitive(j, "result");
	} else if (http == 429) {
		out->res = TG_RETRY;
		out->retry_after = cJSON_IsNumber(ra) && ra->valuedouble >= 1 &&
		    ra->valuedouble <= 3600 ? (int)ra->valuedouble : 5;
	} else if (http == 403) {
		out->res = TG_BLOCKED;
	} else if (http == 400 && strstr(out->description, "message is not modified")) {
		out->res = TG_OK;
	} else if (http >= 400 && http < 500) {
		out->res = TG_BAD;
	} else {
		out->res = TG_RETRY; /* 5xx, no answer, or an answer we cannot read */
	}
	cJSON_Delete(j);
}

static bool
tg_no_token(struct tg_api *api, const char *method, struct tg_reply *out)
{
	memset(out, 0, sizeof(*out));
	if (api->base != NULL)
		return false;
	out->res = TG_NO_TOKEN;
	log_warn("tg: %s skipped: TELEGRAM_BOT_TOKEN is not set", method);
	return true;
}

/* What came back for method: the answer classified (http 0 and the
 * transport's error when none came), and a warning when it is not OK. */
static void
answered(const char *method, long http, const char *body, const char *error,
    struct tg_reply *out)
{
	tg_classify(error ? 0 : http, body, out);
	metrics_bot_api(method, out->http, out->res == TG_OK);
	if (error)
		snprintf(out->description, sizeof(out->description), "%s", error);
	if (out->res != TG_OK)
		log_warn("tg: %s -> %ld %s", method, out->http, out->description);
}

/* Performs the prepared handle c as method and classifies the answer. */
static enum tg_result
tg_perform(struct tg_api *api, CURL *c, const char *method, struct tg_reply *out)
{
	struct sbuf url = SBUF_INIT, body = SBUF_INIT;
	struct sink sink = {&body, 1 << 20};
	long http = 0;

	sbuf_addf(&url, "%s%s", api->base, method);
	curl_easy_setopt(c, CURLOPT_URL, url.p);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
	answered(method, http, sbuf_str(&body), rc == CURLE_OK ? NULL : curl_easy_strerror(rc),
	    out);
	sbuf_free(&url);
	sbuf_free(&body);
	return out->res;
}

enum tg_result
tg_call(struct tg_api *api, const char *method, const cJSON *params,
    struct tg_reply *out)
{
	if (tg_no_token(api, method, out))
		return out->res;
	char *json = params ? cJSON_PrintUnformatted(params) : NULL;
	CURL *c = tg_handle(api);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, api->json_hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json ? json : "{}");
	tg_perform(api, c, method, out);
	cJSON_free(json);
	return out->res;
}

int
tg_flight_start(struct tg_api *api, struct http_flow *f, struct tg_flight *t)
{
	struct sbuf u = SBUF_INIT;

	memset(&t->reply, 0, sizeof(t->reply));
	t->url = NULL;
	t->body = NULL;
	if (tg_no_token(api, t->method, &t->reply))
		return -1;
	sbuf_addf(&u, "%s%s", api->base, t->method);
	t->url = sbuf_take(&u);
	t->body = t->params ? cJSON_PrintUnformatted(t->params) : NULL;
	http_out_init(&t->h, "POST", t->url);
	t->h.body = t->body ? t->body : "{}";
	t->h.timeout_ms = 10000;
	t->h.max_bytes = 1 << 20;
	t->h.user = t;
	if (http_flow_add(f, &t->h) != 0) {
		tg_flight_done(t);
		return -1;
	}
	return 0;
}

void
tg_flight_done(struct tg_flight *t)
{
	answered(t->method, t->h.status, sbuf_str(&t->h.resp), t->h.failed ? t->h.error : NULL,
	    &t->reply);
	http_out_free(&t->h);
	free(t->url);
	cJSON_free(t->body);
	t->url = NULL;
	t->body = NULL;
}

struct tg_flight *
tg_flight_next(struct http_flow *f, int timeout_ms)
{
	struct http_out *h = http_flow_next(f, timeout_ms);

	if (h == NULL)
		return NULL;
	struct tg_flight *t = h->user;
	tg_flight_done(t);
	return t;
}

enum tg_result
tg_upload(struct tg_api *api, const char *method, const cJSON *fields,
    const char *file_field, const char *file_name, const char *content_type,
    const char *data, size_t len, struct tg_reply *out)
{
	const cJSON *f;

	if (tg_no_token(api, method, out))
		return out->res;
	CURL *c = tg_handle(api);
	curl_mime *mime = curl_mime_init(c);
	cJSON_ArrayForEach(f, fields) {
		curl_mimepart *part = curl_mime_addpart(mime);
		curl_mime_name(part, f->string);
		if (cJSON_IsString(f)) {
			curl_mime_data(part, f->valuestring, CURL_ZERO_TERMINATED);
		} else {
			char *s = cJSON_PrintUnformatted(f);
			curl_mime_data(part, s, CURL_ZERO_TERMINATED);
			cJSON_free(s);
		}
	}
	curl_mimepart *file = curl_mime_addpart(mime);
	curl_mime_name(file, file_field);
	curl_mime_filename(file, file_name);
	curl_mime_type(file, content_type);
	curl_mime_data(file, data, len);
	curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	tg_perform(api, c, method, out);
	curl_easy_setopt(c, CURLOPT_MIMEPOST, NULL);
	curl_mime_free(mime);
	return out->res;
}

enum tg_result
tg_download(struct tg_api *api, const char *file_path, size_t max, FILE *out)
{
	struct sbuf url = SBUF_INIT;
	struct file_sink sink = {out, 0, max};
	long http = 0;

	if (api->fbase == NULL)
		return TG_NO_TOKEN;
	sbuf_addf(&url, "%s%s", api->fbase, file_path);
	CURL *c = tg_handle(api);
	curl_easy_setopt(c, CURLOPT_URL, url.p);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, file_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
	sbuf_free(&url);
	if (rc == CURLE_OK && http == 200 && fflush(out) == 0)
		return TG_OK;
	log_warn("tg: file download -> %ld %s", http, curl_easy_strerror(rc));
	return http >= 400 && http < 500 && http != 429 ? TG_BAD : TG_RETRY;
}
