/*
 * app — process setup and the three run modes.  The request loop keeps
 * nothing from one request to the next except the connections in app_ctx.
 */
#include "app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "auth.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "recent_updates.h"
#include "tg_api.h"

extern char **environ;

/* --- transports ------------------------------------------------------- */

static size_t
fcgi_read(void *ctx, char *buf, size_t n)
{
	FCGX_Request *r = ctx;
	int got = FCGX_GetStr(buf, n > 65536 ? 65536 : (int)n, r->in);

	return got > 0 ? (size_t)got : 0;
}

static int
fcgi_write(void *ctx, const char *buf, size_t n)
{
	FCGX_Request *r = ctx;

	return FCGX_PutStr(buf, (int)n, r->out) == (int)n ? 0 : -1;
}

static size_t
stdio_read(void *ctx, char *buf, size_t n)
{
	(void)ctx;
	return fread(buf, 1, n, stdin);
}

static int
stdio_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	return fwrite(buf, 1, n, stdout) == n ? 0 : -1;
}

/* --- shared handlers --------------------------------------------------- */

int
app_parse_id(const char *s, long long *out)
{
	long long v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 16 || *s == '0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v > (1LL << 53))
		return -1;
	*out = v;
	return 0;
}

bool
app_query_id(const char *query, const char *key, long long dflt, long long max,
    long long *out)
{
	char v[24];

	*out = dflt;
	if (http_query_get(query, key, v, sizeof(v)) != 0)
		return !http_query_has(query, key);
	return app_parse_id(v, out) == 0 && *out <= max;
}

bool
app_method_is(const struct http_req *req, const char *m, struct http_resp *resp)
{
	if (strcmp(req->method, m) == 0)
		return true;
	http_resp_header(resp, "Allow", m);
	http_resp_error(resp, HTTP_405, "method_not_allowed",
	    strcmp(m, "GET") == 0 ? "use GET" : "use POST");
	return false;
}

int
app_require_admin(struct app_ctx *ctx, const struct http_req *req,
    struct http_resp *resp)
{
	if (auth_bearer(http_req_header(req, "Authorization"), ctx->cfg.admin_token))
		return 0;
	http_resp_header(resp, "WWW-Authenticate", "Bearer");
	http_resp_error(resp, HTTP_401, "unauthorized",
	    "a valid 'Authorization: Bearer <ADMIN_TOKEN>' header is required");
	return -1;
}

static void
serve_healthz(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_resp_header(resp, "Allow", "GET, HEAD");
		http_resp_error(resp, HTTP_405, "method_not_allowed", "use GET");
		return;
	}
	struct health h;
	bool ok = health_check(&ctx->db, ctx->cfg.checker_interval, &h);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", ok);
	/* what runs where is the operator's business: details only with the token */
	if (auth_bearer(http_req_header(req, "Authorization"), ctx->cfg.admin_token)) {
		cJSON_AddStringToObject(o, "database", h.db_up ? "up" : "down");
		cJSON_AddStringToObject(o, "schema", h.schema);
		cJSON_AddStringToObject(o, "schema_wanted", h.want);
		if (h.checker_age >= 0)
			cJSON_AddNumberToObject(o, "status_checker_age_s", (double)h.checker_age);
		cJSON_AddBoolToObject(o, "status_checker_ok", h.checker_ok);
		cJSON_AddStringToObject(o, "function", ctx->app->name);
		cJSON_AddStringToObject(o, "fal_mode", ctx->cfg.fal_test_mode ? "test" : "live");
	}
	http_resp_json(resp, ok ? HTTP_200 : HTTP_503, o);
}

/* --- one request -------------------------------------------------------- */

/* A front proxy's X-Request-Id when it is a plain token, else pid-sequence. */
static void
request_id(struct app_ctx *ctx, const struct http_io *io, unsigned long seq)
{
	const char *given = NULL;
	size_t n = 0;

	for (size_t i = 0; io->envp != NULL && io->envp[i] != NULL; i++)
		if (strncmp(io->envp[i], "HTTP_X_REQUEST_ID=", 18) == 0)
			given = io->envp[i] + 18;
	if (given != NULL) {
		n = strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
		if (n == 0 || n >= sizeof(ctx->req_id) || given[n] != '\0')
			given = NULL;
	}
	if (given != NULL)
		memcpy(ctx->req_id, given, n + 1);
	else
		snprintf(ctx->req_id, sizeof(ctx->req_id), "%ld-%lu", (long)getpid(), seq);
}

static void
serve_one(struct app_ctx *ctx, const struct http_io *io)
{
	static unsigned long seq;
	struct http_req req;
	struct http_resp resp;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	request_id(ctx, io, ++seq);
	log_set_ctx("req=%s", ctx->req_id);
	http_resp_init(&resp);
	http_resp_header(&resp, "X-Request-Id", ctx->req_id);
	enum http_read_err e = http_req_read(&req, io, ctx->app->max_body);
	if (e != HTTP_READ_OK) {
		log_warn("refused %s %s: read error %d", req.method ? req.method : "-",
		    req.path ? req.path : "-", (int)e);
		http_resp_read_error(&resp, e);
	} else if (strcmp(req.path, "/healthz") == 0) {
		serve_healthz(ctx, &req, &resp);
	} else {
		ctx->app->serve(ctx, &req, &resp);
	}
	if (ctx->db.in_tx && resp.stream == NULL) {
		log_error("handler left a transaction open; rolling back");
		db_rollback(&ctx->db);
	}
	if (http_resp_write(&resp, io) != 0)
		log_warn("client went away before the answer was written");
	if (ctx->db.in_tx) /* a stream's, when the client left before it */
		db_rollback(&ctx->db);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	metrics_request(ctx->app->name, http_statuses[resp.status].code, ms);
	log_debug("%s %s -> %d in %.2f ms", req.method ? req.method : "-",
	    req.path ? req.path : "-", http_statuses[resp.status].code, ms);
	http_req_free(&req);
	http_resp_free(&resp);
	log_clear_ctx();
}

/* The request's work that waited for its answer to leave. */
static void
after_answer(struct app_ctx *ctx)
{
	void (*fn)(struct app_ctx *) = ctx->after_answer;

	ctx->after_answer = NULL;
	if (fn != NULL)
		fn(ctx);
}

static int
run_fastcgi(struct app_ctx *ctx)
{
	FCGX_Request r;

	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return 1;
	}
	FCGX_InitRequest(&r, 0, 0);
	log_info("FastCGI worker started (pid %ld, fal %s)", (long)getpid(),
	    ctx->cfg.fal_test_mode ? "test mode" : "live");
	while (FCGX_Accept_r(&r) >= 0) {
		struct http_io io = {&r, fcgi_read, fcgi_write, r.envp};
		serve_one(ctx, &io);
		FCGX_Finish_r(&r);
		after_answer(ctx);
	}
	FCGX_Free(&r, 1);
	return 0;
}

static int
run_cgi(struct app_ctx *ctx)
{
	struct http_io io = {NULL, stdio_read, stdio_write, environ};

	serve_one(ctx, &io);
	fflush(stdout);
	after_answer(ctx);
	return 0;
}

/* --- setup -------------------------------------------------------------- */

static void
print_line(const char *line)
{
	printf("%s\n", line);
}

static void
warn_line(const char *line)
{
	log_warn("config: %s", line);
}

static int
app_setup(struct app_ctx *ctx, const struct app *a)
{
	char err[300];
	enum log_level lvl = LOG_INFO;

	memset(ctx, 0, sizeof(*ctx));
	ctx->app = a;
	log_init(a->name, LOG_INFO);
	if (config_load(&ctx->cfg, environ, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return -1;
	}
	(void)log_level_parse(ctx->cfg.log_level, &lvl);
	log_set_level(lvl);
	log_set_json(strcmp(ctx->cfg.log_format, "json") == 0);
	config_each_warning(&ctx->cfg, warn_line);
	for (size_t i = 0; a->required && a->required[i]; i++) {
		if (config_require(&ctx->cfg, a->required[i], err, sizeof(err)) != 0) {
			log_error("%s", err);
			return -1;
		}
	}
	if (auth_init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("cannot initialise libsodium or libcurl");
		return -1;
	}
	db_init(&ctx->db, ctx->cfg.database_url);
	metrics_open(getenv("AISHA_VAR_DIR"));
	recent_updates_open(getenv("AISHA_VAR_DIR"));
	ctx->tg = tg_api_new(&ctx->cfg);
	return 0;
}

static void
app_teardown(struct app_ctx *ctx)
{
	tg_api_free(ctx->tg);
	db_close(&ctx->db);
	config_free(&ctx->cfg);
	curl_global_cleanup();
}

int
app_main(const struct app *a, int argc, char **argv)
{
	struct app_ctx ctx;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(a->usage, stdout);
		return 0;
	}
	if (app_setup(&ctx, a) != 0) {
		app_teardown(&ctx);
		return 78; /* EX_CONFIG */
	}
	if (argc > 1 && strcmp(argv[1], "--check-config") == 0) {
		config_dump(&ctx.cfg, print_line);
		rc = 0;
	} else if (argc > 1) {
		rc = a->cli ? a->cli(&ctx, argc - 1, argv + 1) : 2;
		if (a->cli == NULL)
			fputs(a->usage, stderr);
	} else if (!FCGX_IsCGI()) {
		rc = run_fastcgi(&ctx);
	} else if (getenv("REQUEST_METHOD") != NULL) {
		rc = run_cgi(&ctx);
	} else {
		fputs(a->usage, stderr);
		rc = 2;
	}
	app_teardown(&ctx);
	return rc;
}
