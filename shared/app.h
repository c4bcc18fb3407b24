/*
 * app — the one main() of every function.  A function declares its name,
 * help text, body limit, required settings, an HTTP handler and a
 * command-line handler; app_main() picks how it was started:
 *
 *   FastCGI  lighttpd spawned it (bin-path): a socket on fd 0, many requests;
 *   CGI      REQUEST_METHOD in the environment, fd 0 not a socket: one request;
 *   CLI      arguments given (cron, operators): --help, --check-config, …
 *
 * It owns what lives for the whole process — the configuration, the database
 * connection, the Bot API client — and frees each request's memory before the
 * next one.  GET /healthz is answered here for every function.
 */
#ifndef AISHA_APP_H
#define AISHA_APP_H

#include <stddef.h>

#include "config.h"
#include "db.h"
#include "http.h"

struct tg_api;

struct app_ctx {
	struct config cfg;
	struct db db;
	struct tg_api *tg;
	const struct app *app;
	char req_id[48];
	/* Work of this request that waits until its answer has gone (then
	 * cleared): e.g. reading a commit's answer not waited for. */
	void (*after_answer)(struct app_ctx *ctx);
};

struct app {
	const char *name;
	const char *usage;
	size_t max_body;
	const char *const *required; /* settings that must be set; NULL-terminated */
	void (*serve)(struct app_ctx *ctx, const struct http_req *req,
	    struct http_resp *resp);
	/* argv[0] is the first argument after the program name. */
	int (*cli)(struct app_ctx *ctx, int argc, char **argv);
};

int app_main(const struct app *a, int argc, char **argv);

/* Helpers for handlers. */
/* true when req uses method m; else 405 with Allow: m is written. */
bool app_method_is(const struct http_req *req, const char *m, struct http_resp *resp);
int app_require_admin(struct app_ctx *ctx, const struct http_req *req,
    struct http_resp *resp);
/* Parses a positive decimal id (1..2^53); -1 when it is not one. */
int app_parse_id(const char *s, long long *out);
/* A query's key as an id 1..max into *out (dflt when the key is absent):
 * false when the key is there but not such a number. */
bool app_query_id(const char *query, const char *key, long long dflt, long long max,
    long long *out);

#endif
