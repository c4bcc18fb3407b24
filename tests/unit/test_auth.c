/* auth and utf8: secret comparison, Bearer parsing, tokens, UTF-8 checks,
 * the Bot API answer classification. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "tg_api.h"
#include "utf8.h"

static void
secret_comparison(void **state)
{
	(void)state;
	assert_true(auth_equal("abc", "abc"));
	assert_false(auth_equal("abd", "abc"));
	assert_false(auth_equal("ab", "abc"));
	assert_false(auth_equal("abcd", "abc"));
	assert_false(auth_equal(NULL, "abc"));
	assert_false(auth_equal("", ""));  /* an unset secret lets nobody in */
	assert_false(auth_equal("x", ""));
}

static void
bearer(void **state)
{
	(void)state;
	assert_true(auth_bearer("Bearer tok-123", "tok-123"));
	assert_true(auth_bearer("bearer tok-123", "tok-123"));
	assert_false(auth_bearer("tok-123", "tok-123"));
	assert_false(auth_bearer("Basic tok-123", "tok-123"));
	assert_false(auth_bearer("Bearer ", "tok-123"));
	assert_false(auth_bearer(NULL, "tok-123"));
	assert_false(auth_bearer("Bearer x", ""));
}

static void
tokens_are_keyed(void **state)
{
	(void)state;
	char a[65], b[65], c[65];

	auth_token_hash("k1", "tok-a", a);
	auth_token_hash("k1", "tok-b", b);
	auth_token_hash("k2", "tok-a", c);
	assert_int_equal(strlen(a), 64);
	assert_string_not_equal(a, b);
	assert_string_not_equal(a, c);
	auth_token_hash("k1", "tok-a", b);
	assert_string_equal(a, b);
	char r1[64], r2[64];
	auth_random_b64(r1, sizeof(r1), 32);
	auth_random_b64(r2, sizeof(r2), 32);
	assert_int_equal(strlen(r1), 43);
	assert_string_not_equal(r1, r2);
}

static void
utf8_rules(void **state)
{
	(void)state;
	const char *good = "Привет 👋 abc";
	assert_true(utf8_valid(good, strlen(good)));
	assert_int_equal(utf8_count("Привет"), 6);
	assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(utf8_valid("\xe2\x82", 2));         /* truncated */
}

static void
bot_api_answers(void **state)
{
	(void)state;
	struct tg_reply r = {0};

	tg_classify(200, "{\"ok\":true,\"result\":{\"message_id\":5}}", &r);
	assert_int_equal(r.res, TG_OK);
	assert_non_null(r.result);
	tg_reply_free(&r);
	tg_classify(429, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 7\","
	    "\"parameters\":{\"retry_after\":7}}", &r);
	assert_int_equal(r.res, TG_RETRY);
	assert_int_equal(r.retry_after, 7);
	tg_classify(403, "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was blocked by the user\"}", &r);
	assert_int_equal(r.res, TG_BLOCKED);
	tg_classify(400, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message is not modified\"}", &r);
	assert_int_equal(r.res, TG_OK);
	tg_classify(400, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}", &r);
	assert_int_equal(r.res, TG_BAD);
	tg_classify(502, "<html>", &r);
	assert_int_equal(r.res, TG_RETRY);
	tg_classify(0, "", &r);
	assert_int_equal(r.res, TG_RETRY);
}

int
main(void)
{
	assert_int_equal(auth_init(), 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(secret_comparison),
		cmocka_unit_test(bearer),
		cmocka_unit_test(tokens_are_keyed),
		cmocka_unit_test(utf8_rules),
		cmocka_unit_test(bot_api_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
