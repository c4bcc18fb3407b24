/* http: request reading by CONTENT_LENGTH with limits, headers, query,
 * answers in the JSON error shape, path matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"
#include "sbuf.h"

struct fake {
	const char *in;
	size_t pos, len;
	struct sbuf out;
};

static size_t
fake_read(void *ctx, char *buf, size_t n)
{
	struct fake *f = ctx;
	size_t k = f->len - f->pos < n ? f->len - f->pos : n;

	if (k > 3)
		k = 3; /* short reads: the reader must loop */
	memcpy(buf, f->in + f->pos, k);
	f->pos += k;
	return k;
}

static int
fake_write(void *ctx, const char *buf, size_t n)
{
	sbuf_addn(&((struct fake *)ctx)->out, buf, n);
	return 0;
}

static enum http_read_err
read_req(struct http_req *r, char **env, const char *body, size_t max, struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->in = body;
	f->len = strlen(body);
	struct http_io io = {f, fake_read, fake_write, env};
	return http_req_read(r, &io, max);
}

static void
reads_body_and_splits_query(void **state)
{
	(void)state;
	char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/api/x?a=1&b=two%20words",
	    "CONTENT_LENGTH=11", "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=s3", NULL};
	struct http_req r;
	struct fake f;
	char v[32];

	assert_int_equal(read_req(&r, env, "hello world", 100, &f), HTTP_READ_OK);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/api/x");
	assert_string_equal(r.body, "hello world");
	assert_int_equal(r.body_len, 11);
	assert_string_equal(http_req_header(&r, "X-Telegram-Bot-Api-Secret-Token"), "s3");
	assert_int_equal(http_query_get(r.query, "b", v, sizeof(v)), 0);
	assert_string_equal(v, "two words");
	assert_int_equal(http_query_get(r.query, "c", v, sizeof(v)), -1);
	http_req_free(&r);
}

/* Every way a CGI is called finds the same route. */
static void
route_from_each_cgi_call(void **state)
{
	(void)state;
	struct {
		const char *uri, *script, *info, *want;
	} cases[] = {
		{"/telegram/webhook", "", "", "/telegram/webhook"},             /* FastCGI */
		{"/cgi-bin/tg-update/telegram/webhook?x=1", "/cgi-bin/tg-update",
		    "/telegram/webhook", "/telegram/webhook"},                  /* PATH_INFO */
		{"/telegram/webhook", "/cgi-bin/tg-update", "/telegram/webhook",
		    "/telegram/webhook"},                                       /* rewrite */
		{"/api/avatars/7/train", "/api", "/avatars/7/train", "/api/avatars/7/train"},
		{"/healthz", "/healthz", "", "/healthz"},
		{"/cgi-bin/check-status/healthz", "/cgi-bin/check-status", "/healthz", "/healthz"},
		{"/cgi-bin/x/other", "/cgi-bin/x", "/other", "/cgi-bin/x/other"}, /* not a route */
		{"/cgi-bin/x/healthzz", "/cgi-bin/x", "/healthzz", "/cgi-bin/x/healthzz"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char u[128], sn[64], pi[64];
		snprintf(u, sizeof(u), "REQUEST_URI=%s", cases[i].uri);
		snprintf(sn, sizeof(sn), "SCRIPT_NAME=%s", cases[i].script);
		snprintf(pi, sizeof(pi), "PATH_INFO=%s", cases[i].info);
		char *env[] = {"REQUEST_METHOD=GET", u, sn, pi, NULL};
		struct http_req r;
		struct fake f;
		assert_int_equal(read_req(&r, env, "", 100, &f), HTTP_READ_OK);
		assert_string_equal(r.path, cases[i].want);
		http_req_free(&r);
	}
}

static void
refuses_bad_lengths(void **state)
{
	(void)state;
	const char *bad[] = {"CONTENT_LENGTH=-1", "CONTENT_LENGTH=abc", "CONTENT_LENGTH=1 ",
	    "CONTENT_LENGTH=99999999999999999999", "CONTENT_LENGTH=+5"};
	struct http_req r;
	struct fake f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/", (char *)bad[i], NULL};
		enum http_read_err e = read_req(&r, env, "x", 100, &f);
		assert_true(e == HTTP_READ_BAD_LENGTH || e == HTTP_READ_TOO_LARGE);
		http_req_free(&r);
	}
}

static void
refuses_too_large_and_short(void **state)
{
	(void)state;
	char *big[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/", "CONTENT_LENGTH=101", NULL};
	char *shortb[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/", "CONTENT_LENGTH=10", NULL};
	char *none[] = {"REQUEST_URI=/", NULL};
	struct http_req r;
	struct fake f;

	assert_int_equal(read_req(&r, big, "", 100, &f), HTTP_READ_TOO_LARGE);
	http_req_free(&r);
	assert_int_equal(read_req(&r, shortb, "abc", 100, &f), HTTP_READ_SHORT);
	http_req_free(&r);
	assert_int_equal(read_req(&r, none, "", 100, &f), HTTP_READ_NO_METHOD);
	http_req_free(&r);
}

static void
json_error_shape_and_status_line(void **state)
{
	(void)state;
	struct http_resp w;
	struct fake f;

	memset(&f, 0, sizeof(f));
	struct http_io io = {&f, fake_read, fake_write, NULL};
	http_resp_init(&w);
	http_resp_error(&w, HTTP_413, "too_large", "body \"too\" large");
	assert_int_equal(http_resp_write(&w, &io), 0);
	assert_non_null(strstr(f.out.p, "Status: 413 Payload Too Large\r\n"));
	assert_non_null(strstr(f.out.p, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(f.out.p,
	    "{\"ok\":false,\"error\":{\"code\":\"too_large\",\"message\":\"body \\\"too\\\" large\"}}"));
	http_resp_free(&w);
	sbuf_free(&f.out);
}

static void
read_errors_map_to_statuses(void **state)
{
	(void)state;
	struct http_resp w;

	http_resp_init(&w);
	http_resp_read_error(&w, HTTP_READ_TOO_LARGE);
	assert_int_equal(http_statuses[w.status].code, 413);
	http_resp_read_error(&w, HTTP_READ_BAD_LENGTH);
	assert_int_equal(http_statuses[w.status].code, 400);
	http_resp_free(&w);
}

static void
path_matching(void **state)
{
	(void)state;
	struct http_caps c;

	assert_true(http_path_match("/api/avatars/{id}/status", "/api/avatars/42/status", &c));
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "42");
	assert_false(http_path_match("/api/avatars/{id}/status", "/api/avatars//status", &c));
	assert_false(http_path_match("/api/avatars/{id}/status", "/api/avatars/42/status/x", &c));
	assert_false(http_path_match("/api/avatars/{id}/status", "/api/avatars/42/train", &c));
	assert_false(http_path_match("/healthz", "/healthz/", &c));
	assert_true(http_path_match("/healthz", "/healthz", &c));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_body_and_splits_query),
		cmocka_unit_test(route_from_each_cgi_call),
		cmocka_unit_test(refuses_bad_lengths),
		cmocka_unit_test(refuses_too_large_and_short),
		cmocka_unit_test(json_error_shape_and_status_line),
		cmocka_unit_test(read_errors_map_to_statuses),
		cmocka_unit_test(path_matching),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
