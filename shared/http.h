/*
 * http — one request in, one answer out, whatever carries them (FastCGI
 * streams, plain CGI stdio, or a test's buffers: see struct http_io).
 *
 * The body is read only up to a validated CONTENT_LENGTH and a hard limit; a
 * request that breaks either is refused before any handler sees it.  Statuses
 * are an enum-indexed table; every error answer has the SPEC's JSON shape
 *   {"ok":false,"error":{"code":"…","message":"…"}}
 */
#ifndef AISHA_HTTP_H
#define AISHA_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "sbuf.h"

enum http_status {
	HTTP_200, HTTP_202, HTTP_204, HTTP_400, HTTP_401, HTTP_403, HTTP_404,
	HTTP_405, HTTP_409, HTTP_411, HTTP_413, HTTP_415, HTTP_422, HTTP_429,
	HTTP_500, HTTP_503, HTTP__MAX
};

struct http_status_def {
	int code;
	const char *reason;
};

extern const struct http_status_def http_statuses[HTTP__MAX];

/* Where a request comes from and where its answer goes. */
struct http_io {
	void *ctx;
	/* Reads up to n bytes; returns the count, 0 at end of input. */
	size_t (*read)(void *ctx, char *buf, size_t n);
	/* Writes all n bytes; returns 0 or -1. */
	int (*write)(void *ctx, const char *buf, size_t n);
	char **envp; /* the request's CGI/FastCGI variables */
};

struct http_req {
	char *method;
	char *path;  /* REQUEST_URI up to '?' */
	char *query; /* after '?', "" when none */
	char *body;  /* NUL-terminated, body_len bytes */
	size_t body_len;
	char **envp; /* borrowed from the io, valid for this request only */
};

struct http_resp {
	enum http_status status;
	const char *content_type;
	struct sbuf headers; /* extra "Name: value\r\n" lines */
	struct sbuf body;
	/* A body too large to hold (http_resp_stream): its length, and what
	 * writes it after the headers (freed with the answer). */
	size_t stream_len;
	int (*stream)(void *ud, const struct http_io *io);
	void *stream_ud;
};

enum http_read_err {
	HTTP_READ_OK,
	HTTP_READ_NO_METHOD,   /* not an HTTP request environment */
	HTTP_READ_BAD_LENGTH,  /* CONTENT_LENGTH not a plain decimal */
	HTTP_READ_TOO_LARGE,   /* over max_body */
	HTTP_READ_SHORT,       /* input ended before CONTENT_LENGTH bytes */
};

/* Fills r from io.  On any result r is safe for http_req_free(). */
enum http_read_err http_req_read(struct http_req *r, const struct http_io *io,
    size_t max_body);
void http_req_free(struct http_req *r);

/* A CGI variable ("REQUEST_METHOD") or NULL. */
const char *http_req_var(const struct http_req *r, const char *name);
/* A request header by its HTTP name ("X-Telegram-Bot-Api-Secret-Token"). */
const char *http_req_header(const struct http_req *r, const char *name);
/* The value of key in an application/x-www-form-urlencoded query, decoded,
 * into out (NUL-terminated); -1 when absent or too long. */
int http_query_get(const char *query, const char *key, char *out, size_t outlen);
/* The query names key, whatever its value (even one too long to read). */
bool http_query_has(const char *query, const char *key);

void http_resp_init(struct http_resp *w);
/* A 200 whose len bytes fn writes after the headers; ud is free()d after. */
void http_resp_stream(struct http_resp *w, const char *content_type, size_t len,
    int (*fn)(void *ud, const struct http_io *io), void *ud);
void http_resp_free(struct http_resp *w);
/* Sets status and body to the printed JSON; deletes json. */
void http_resp_json(struct http_resp *w, enum http_status st, cJSON *json);
void http_resp_error(struct http_resp *w, enum http_status st,
    const char *code, const char *message);
void http_resp_header(struct http_resp *w, const char *name, const char *value);
/* Maps a read failure to its JSON error answer. */
void http_resp_read_error(struct http_resp *w, enum http_read_err e);
int http_resp_write(const struct http_resp *w, const struct http_io *io);

/*
 * Routing: pattern segments are literal or "{name}"; a placeholder matches
 * one non-empty segment of at most 63 bytes, copied into caps in order.
 */
#define HTTP_MAX_CAPS 3
struct http_caps {
	char v[HTTP_MAX_CAPS][64];
	int n;
};
int http_path_match(const char *pattern, const char *path, struct http_caps *c);

#endif
