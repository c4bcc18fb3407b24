/*
 * http_out — outbound HTTP with libcurl for everything but the Bot API:
 * FAL's queue, its JWKS, file downloads.  One request at a time
 * (http_out_one), many at once over the multi interface with a bound on
 * how many are in flight (http_out_many) — what the status poller uses — or
 * a stream of them (http_flow) — what the outbox's sender uses.
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

/* A stream of requests on one multi handle (kept-alive connections, many in
 * flight): add them as they come, take them back as they finish.  A request
 * must stay valid until http_flow_next has returned it. */
struct http_flow;
struct http_flow *http_flow_new(void);
/* Starts r; 0, or -1 (r->failed set, nothing in flight). */
int http_flow_add(struct http_flow *f, struct http_out *r);
size_t http_flow_active(const struct http_flow *f);
/* A finished request (its answer or failure filled in), waiting up to
 * timeout_ms for one; NULL when none finished by then. */
struct http_out *http_flow_next(struct http_flow *f, int timeout_ms);
/* Frees f; any request still in flight is waited for. */
void http_flow_free(struct http_flow *f);

#endif
