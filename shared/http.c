/*
 * http — request reading, answers and path matching.  Nothing here knows the
 * transport: FastCGI, CGI and unit tests all pass a struct http_io.
 */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const struct http_status_def http_statuses[HTTP__MAX] = {
	[HTTP_200] = {200, "OK"},
	[HTTP_202] = {202, "Accepted"},
	[HTTP_204] = {204, "No Content"},
	[HTTP_400] = {400, "Bad Request"},
	[HTTP_401] = {401, "Unauthorized"},
	[HTTP_403] = {403, "Forbidden"},
	[HTTP_404] = {404, "Not Found"},
	[HTTP_405] = {405, "Method Not Allowed"},
	[HTTP_409] = {409, "Conflict"},
	[HTTP_411] = {411, "Length Required"},
	[HTTP_413] = {413, "Payload Too Large"},
	[HTTP_415] = {415, "Unsupported Media Type"},
	[HTTP_422] = {422, "Unprocessable Entity"},
	[HTTP_429] = {429, "Too Many Requests"},
	[HTTP_500] = {500, "Internal Server Error"},
	[HTTP_503] = {503, "Service Unavailable"},
};

static const char *
env_get(char **envp, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
		if (strncmp(envp[i], name, nl) == 0 && envp[i][nl] == '=')
			return envp[i] + nl + 1;
	return NULL;
}

const char *
http_req_var(const struct http_req *r, const char *name)
{
	return env_get(r->envp, name);
}

const char *
http_req_header(const struct http_req *r, const char *name)
{
	char var[128] = "HTTP_";
	size_t j = 5;

	for (size_t i = 0; name[i] != '\0'; i++) {
		if (j + 1 >= sizeof(var))
			return NULL;
		var[j++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	}
	var[j] = '\0';
	/* CGI passes these two without the HTTP_ prefix. */
	if (strcmp(var, "HTTP_CONTENT_TYPE") == 0 || strcmp(var, "HTTP_CONTENT_LENGTH") == 0)
		return env_get(r->envp, var + 5);
	return env_get(r->envp, var);
}

/* A plain decimal without sign, spaces or overflow. */
static int
parse_length(const char *s, size_t *out)
{
	size_t n = 0;

	if (*s == '\0' || strlen(s) > 15)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (size_t)(*s - '0');
	}
	*out = n;
	return 0;
}

/*
 * Whether a path (n bytes) is under one of the routes' roots.  A CGI is
 * reached by its own URL (REQUEST_URI), through a rewrite (REQUEST_URI is
 * still the public one) or as /cgi-bin/<program>/<route> (only PATH_INFO
 * holds the route): the route is REQUEST_URI's path when it is one of ours,
 * else PATH_INFO when that is.
 */
static bool
route_root(const char *p, size_t n)
{
	static const char *const roots[] = {"/telegram/", "/fal/", "/api/", "/media/",
	    "/healthz", "/metrics", "/dashboard"};

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		size_t rl = strlen(roots[i]);
		if (n >= rl && strncmp(p, roots[i], rl) == 0 &&
		    (roots[i][rl - 1] == '/' || n == rl || p[rl] == '/'))
			return true;
	}
	return false;
}

bool
http_query_has(const char *query, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = query; p != NULL && *p; p = strchr(p, '&'), p = p ? p + 1 : p)
		if (strncmp(p, key, kl) == 0 && (p[kl] == '=' || p[kl] == '&' || p[kl] == '\0'))
			return true;
	return false;
}

enum http_read_err
http_req_read(struct http_req *r, const struct http_io *io, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	r->envp = io->envp;
	r->body = xstrdup("");
	const char *method = env_get(io->envp, "REQUEST_METHOD");
	const char *uri = env_get(io->envp, "REQUEST_URI");
	if (method == NULL || *method == '\0')
		return HTTP_READ_NO_METHOD;
	if (uri == NULL || *uri == '\0')
		uri = env_get(io->envp, "SCRIPT_NAME");
	if (uri == NULL || *uri == '\0')
		uri = "/";
	r->method = xstrdup(method);
	const char *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri);
	const char *pi = env_get(io->envp, "PATH_INFO");
	if (!route_root(uri, plen) && pi != NULL && route_root(pi, strlen(pi))) {
		uri = pi; /* a CGI called as /cgi-bin/tg-update/telegram/webhook */
		plen = strlen(pi);
	}
	r->path = xmalloc(plen + 1);
	memcpy(r->path, uri, plen);
	r->path[plen] = '\0';
	r->query = xstrdup(q ? q + 1 : "");

	const char *cl = env_get(io->envp, "CONTENT_LENGTH");
	size_t len = 0;
	if (cl != NULL && *cl != '\0' && parse_length(cl, &len) != 0)
		return HTTP_READ_BAD_LENGTH;
	if (len > max_body)
		return HTTP_READ_TOO_LARGE;
	free(r->body);
	r->body = xmalloc(len + 1);
	size_t got = 0;
	while (got < len) {
		size_t n = io->read(io->ctx, r->body + got, len - got);
		if (n == 0)
			break;
		got += n;
	}
	r->body[got] = '\0';
	r->body_len = got;
	return got == len ? HTTP_READ_OK : HTTP_READ_SHORT;
}

void
http_req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
http_query_get(const char *query, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);
	const char *p = query;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '&');
		size_t seg = end ? (size_t)(end - p) : strlen(p);
		if (seg > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t j = 0;
			for (size_t i = kl + 1; i < seg; i++) {
				int c = (unsigned char)p[i];
				if (c == '+')
					c = ' ';
				else if (c == '%' && i + 2 < seg + 1 && hexval(p[i + 1]) >= 0 &&
				    hexval(p[i + 2]) >= 0) {
					c = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);
					i += 2;
				}
				if (j + 1 >= outlen || c == 0)
					return -1;
				out[j++] = (char)c;
			}
			out[j] = '\0';
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return -1;
}

void
http_resp_init(struct http_resp *w)
{
	memset(w, 0, sizeof(*w));
	w->status = HTTP_200;
	w->content_type = "application/json";
}

void
http_resp_free(struct http_resp *w)
{
	if (w == NULL)
		return;
	sbuf_free(&w->headers);
	sbuf_free(&w->body);
	free(w->stream_ud);
	w->stream_ud = NULL;
	w->stream = NULL;
}

void
http_resp_stream(struct http_resp *w, const char *content_type, size_t len,
    int (*fn)(void *ud, const struct http_io *io), void *ud)
{
	w->status = HTTP_200;
	w->content_type = content_type;
	sbuf_reset(&w->body);
	w->stream_len = len;
	w->stream = fn;
	w->stream_ud = ud;
}

void
http_resp_json(struct http_resp *w, enum http_status st, cJSON *json)
{
	char *s = cJSON_PrintUnformatted(json);

	if (s == NULL)
		abort();
	w->status = st;
	w->content_type = "application/json";
	sbuf_reset(&w->body);
	sbuf_add(&w->body, s);
	cJSON_free(s);
	cJSON_Delete(json);
}

void
http_resp_error(struct http_resp *w, enum http_status st, const char *code,
    const char *message)
{
	cJSON *o = cJSON_CreateObject(), *e = cJSON_CreateObject();

	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddItemToObject(o, "error", e);
	http_resp_json(w, st, o);
}

void
http_resp_header(struct http_resp *w, const char *name, const char *value)
{
	sbuf_addf(&w->headers, "%s: %s\r\n", name, value);
}

void
http_resp_read_error(struct http_resp *w, enum http_read_err e)
{
	switch (e) {
	case HTTP_READ_OK:
		break;
	case HTTP_READ_NO_METHOD:
		http_resp_error(w, HTTP_400, "bad_request", "not an HTTP request");
		break;
	case HTTP_READ_BAD_LENGTH:
		http_resp_error(w, HTTP_400, "bad_length", "Content-Length is not a valid number");
		break;
	case HTTP_READ_TOO_LARGE:
		http_resp_error(w, HTTP_413, "too_large", "request body is too large");
		break;
	case HTTP_READ_SHORT:
		http_resp_error(w, HTTP_400, "short_body", "request body ended early");
		break;
	}
}

int
http_resp_write(const struct http_resp *w, const struct http_io *io)
{
	struct sbuf h = SBUF_INIT;
	const struct http_status_def *st = &http_statuses[w->status];
	int rc;

	size_t len = w->stream ? w->stream_len : w->body.len;

	sbuf_addf(&h, "Status: %d %s\r\n", st->code, st->reason);
	if (len > 0)
		sbuf_addf(&h, "Content-Type: %s\r\n", w->content_type);
	sbuf_addf(&h, "Content-Length: %zu\r\nCache-Control: no-store\r\n%s\r\n",
	    len, sbuf_str(&w->headers));
	rc = io->write(io->ctx, h.p, h.len);
	if (rc == 0 && w->stream)
		rc = w->stream(w->stream_ud, io);
	else if (rc == 0 && w->body.len > 0)
		rc = io->write(io->ctx, w->body.p, w->body.len);
	sbuf_free(&h);
	return rc;
}

int
http_path_match(const char *pattern, const char *path, struct http_caps *c)
{
	c->n = 0;
	while (*pattern != '\0' && *path != '\0') {
		if (*pattern == '{') {
			const char *pe = strchr(pattern, '}');
			const char *se = strchr(path, '/');
			size_t n = se ? (size_t)(se - path) : strlen(path);
			if (pe == NULL || n == 0 || n >= sizeof(c->v[0]) || c->n >= HTTP_MAX_CAPS)
				return 0;
			memcpy(c->v[c->n], path, n);
			c->v[c->n++][n] = '\0';
			pattern = pe + 1;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}
