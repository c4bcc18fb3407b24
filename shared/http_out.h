/*
 * http_out — outbound HTTP with libcurl for everything but the Bot API:
 * FAL's queue, its JWKS, file downloads.  One request at a time
 * (http_out_one), or many at once over the multi interface with a bound on
 * how many are in flight (http_out_many) — what the status poller uses.
 * Answers are capped in size; URLs are never logged (they may hold tokens).
 */
#ifndef AISHA_HTTP_OUT_H
#define AISHA_HTTP_OUT_H

#include <stddef.h>

#include "sbuf.h"

struct http_out {
	/* request */
	const char *method;  /* "GET", "POST", "PUT" */
	const char *url;
	const char *auth;    /* full "Authorization" value, or NULL */
	const char *body;    /* JSON body, or NULL */
	long timeout_ms;
	size_t max_bytes;
	/* answer */
	long status;         /* 0 when no HTTP answer came */
	int failed;          /* transport failure (timeout, refused, too large) */
	char error[128];
	struct sbuf resp;
	void *user;          /* the caller's */
};

void http_out_init(struct http_out *r, const char *method, const char *url);
void http_out_free(struct http_out *r);
/* Performs r; returns 0 when an HTTP answer came (any status), -1 otherwise. */
int http_out_one(struct http_out *r);
/* s percent-encoded for a query string (caller frees). */
char *http_out_escape(const char *s);
/* Performs all n, at most concurrency at a time. */
void http_out_many(struct http_out *rs, size_t n, int concurrency);

#endif
