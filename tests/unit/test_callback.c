/* callback: every action round-trips within 64 bytes; malformed or forged
 * data decodes as invalid; other versions as stale. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "callback.h"

static void
round_trip_all_actions(void **state)
{
	(void)state;
	for (int a = CB_STALE + 1; a < CB__COUNT; a++) {
		/* the largest ids, and two different ones: each argument must come
		 * back as itself, in its place */
		const int64_t args[2][2] = {{9007199254740992LL, 9007199254740992LL},
		    {123456789012345LL, 42}};
		for (int k = 0; k < 2; k++) {
			struct cb in = {(enum cb_action)a, {args[k][0], args[k][1]}}, out;
			char data[CB_MAX + 1];
			int nargs = -1;
			memset(&out, 0x5a, sizeof(out));
			assert_int_equal(cb_encode(&in, data), 0);
			assert_true(strlen(data) >= 1 && strlen(data) <= 64);
			assert_int_equal(cb_decode(data, &out), a);
			for (const char *c = data; *c; c++)
				nargs += *c == ':';
			assert_true(nargs >= 0 && nargs <= 2);
			for (int i = 0; i < nargs; i++)
				assert_int_equal(out.n[i], in.n[i]);
		}
	}
}

static void
arguments_survive(void **state)
{
	(void)state;
	struct cb in = {CB_LANG, {1, 0}}, out;
	char data[CB_MAX + 1];

	assert_int_equal(cb_encode(&in, data), 0);
	assert_string_equal(data, "v1:lang:1");
	assert_int_equal(cb_decode(data, &out), CB_LANG);
	assert_int_equal(out.n[0], 1);
}

static void
forged_data_is_invalid(void **state)
{
	(void)state;
	const char *bad[] = {NULL, "", "menu", "v1:", "v1:nope", "v1:menu:1", "v1:lang",
	    "v1:lang:", "v1:lang:-1", "v1:lang:01", "v1:lang:1:2", "v1:lang:x",
	    "v1:lang:99999999999999999", "v1:lang:1 ", "v1:menu:", "v1:a:b:c:d:e",
	    "v1:lang:18446744073709551617"};
	struct cb cb;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cb_decode(bad[i], &cb), CB_INVALID);
}

static void
other_versions_are_stale(void **state)
{
	(void)state;
	struct cb cb;

	assert_int_equal(cb_decode("v0:menu:create", &cb), CB_STALE);
	assert_int_equal(cb_decode("v2:anything", &cb), CB_STALE);
}

static void
encode_refuses_negative(void **state)
{
	(void)state;
	struct cb in = {CB_LANG, {-1, 0}};
	char data[CB_MAX + 1];

	assert_int_equal(cb_encode(&in, data), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_all_actions),
		cmocka_unit_test(arguments_survive),
		cmocka_unit_test(forged_data_is_invalid),
		cmocka_unit_test(other_versions_are_stale),
		cmocka_unit_test(encode_refuses_negative),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
