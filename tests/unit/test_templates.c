/* templates: at least 12, every one renders in both languages with the
 * trigger word and gender; own prompts are cleaned, limited and wrapped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "callback.h"
#include "templates.h"
#include "utf8.h"

static void
every_template_renders_in_both_languages(void **state)
{
	(void)state;
	assert_true(gen_templates_count >= 12);
	for (size_t i = 1; i <= gen_templates_count; i++) {
		const struct gen_template *t = template_at(i);
		struct sbuf s = SBUF_INIT;
		assert_non_null(t);
		for (int l = 0; l < LANG__COUNT; l++) {
			assert_non_null(t->name[l]);
			assert_true(strlen(t->name[l]) > 0 && strlen(t->name[l]) < 64);
			assert_true(utf8_valid(t->name[l], strlen(t->name[l])));
		}
		assert_ptr_equal(template_by_key(t->key), t);
		template_render(t, "TOK", 1, &s);
		assert_non_null(strstr(s.p, "TOK woman"));
		assert_null(strstr(s.p, "{subject}"));
		sbuf_reset(&s);
		template_render(t, "TOK", 0, &s);
		assert_non_null(strstr(s.p, "TOK man"));
		sbuf_free(&s);
		for (size_t j = 1; j < i; j++)
			assert_string_not_equal(template_at(j)->key, t->key);
	}
	assert_null(template_at(0));
	assert_null(template_at(gen_templates_count + 1));
}

static void
own_prompts(void **state)
{
	(void)state;
	struct sbuf s = SBUF_INIT;
	char big[700];

	assert_int_equal(prompt_wrap("  in a  space\nsuit  ", "TOK", 0, &s), PROMPT_OK);
	assert_string_equal(strstr(s.p, "TOK man, in a space suit,") ? "ok" : s.p, "ok");
	sbuf_reset(&s);
	assert_int_equal(prompt_wrap("TOK on a beach", "TOK", 1, &s), PROMPT_OK);
	assert_true(strncmp(s.p, "TOK on a beach", 14) == 0); /* not inserted twice */
	sbuf_reset(&s);
	assert_int_equal(prompt_wrap("   ", "TOK", 1, &s), PROMPT_EMPTY);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(prompt_wrap(big, "TOK", 1, &s), PROMPT_TOO_LONG);
	sbuf_free(&s);
}

static void
callback_names_are_unique(void **state)
{
	(void)state;
	/* every action decodes back to itself: no two share a name */
	for (int a = CB_STALE + 1; a < CB__COUNT; a++) {
		struct cb in = {(enum cb_action)a, {1, 1}}, out;
		char data[CB_MAX + 1];
		assert_int_equal(cb_encode(&in, data), 0);
		assert_int_equal(cb_decode(data, &out), a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_template_renders_in_both_languages),
		cmocka_unit_test(own_prompts),
		cmocka_unit_test(callback_names_are_unique),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
