/* texts: no key missing in either language, the same printf conversions in
 * both, valid UTF-8 within Telegram's limits; language choice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "texts.h"
#include "utf8.h"

static void
conversions(const char *s, char *out, size_t n)
{
	size_t j = 0;

	for (; *s && j + 2 < n; s++) {
		if (*s != '%')
			continue;
		s++;
		if (*s == '%')
			continue;
		while (*s && strchr("0123456789.-+ l", *s))
			s++;
		out[j++] = *s;
	}
	out[j] = '\0';
}

static void
every_key_in_both_languages(void **state)
{
	(void)state;
	for (int i = 0; i < T__COUNT; i++) {
		assert_non_null(texts_ru[i]);
		assert_non_null(texts_en[i]);
		assert_true(strlen(texts_ru[i]) > 0 && strlen(texts_en[i]) > 0);
		assert_true(utf8_valid(texts_ru[i], strlen(texts_ru[i])));
		assert_true(utf8_valid(texts_en[i], strlen(texts_en[i])));
		assert_true(utf8_count(texts_ru[i]) < 4000);
		char a[16], b[16];
		conversions(texts_ru[i], a, sizeof(a));
		conversions(texts_en[i], b, sizeof(b));
		assert_string_equal(a, b);
		assert_int_equal(strspn(a, "sd"), strlen(a)); /* what text_addf knows */
	}
}

static void
formatting_escapes_strings(void **state)
{
	(void)state;
	struct sbuf s = SBUF_INIT;

	text_addf(&s, LANG_EN, T_QUEUED, "<b>Tom</b> & Co", 7);
	assert_non_null(strstr(s.p, "&lt;b&gt;Tom&lt;/b&gt; &amp; Co"));
	assert_non_null(strstr(s.p, "about 7 min"));
	sbuf_reset(&s);
	text_addf(&s, LANG_RU, T_ST_TRAINING, 42);
	assert_non_null(strstr(s.p, "42%"));
	sbuf_free(&s);
}

static void
language_choice(void **state)
{
	(void)state;
	assert_int_equal(lang_from_code("ru"), LANG_RU);
	assert_int_equal(lang_from_code("uk"), LANG_RU);
	assert_int_equal(lang_from_code("be"), LANG_RU);
	assert_int_equal(lang_from_code("kk"), LANG_RU);
	assert_int_equal(lang_from_code("ru-RU"), LANG_RU);
	assert_int_equal(lang_from_code("en"), LANG_EN);
	assert_int_equal(lang_from_code("de"), LANG_EN);
	assert_int_equal(lang_from_code("rus"), LANG_EN);
	assert_int_equal(lang_from_code(NULL), LANG_RU);
}

static void
failures_are_told_as_a_few_reasons(void **state)
{
	(void)state;
	/* FAL's words (webhook error payloads, result documents) */
	assert_int_equal(text_failure("images_data_url: Could not download images", true),
	    T_FAIL_PHOTOS);
	assert_int_equal(text_failure("image_url: Failed to load the image", true), T_FAIL_PHOTOS);
	assert_int_equal(text_failure("prompt: The content was flagged by a content checker.",
	    false), T_FAIL_CONTENT);
	assert_int_equal(text_failure("Invalid status code: 503", true), T_FAIL_BUSY);
	assert_int_equal(text_failure("Internal Server Error", false), T_FAIL_BUSY);
	assert_int_equal(text_failure("FAL answered HTTP 502", true), T_FAIL_BUSY);
	/* ours */
	assert_int_equal(text_failure("Telegram getFile: Bad Request: file is too big", true),
	    T_FAIL_PHOTOS);
	assert_int_equal(text_failure("only 3 of the 12 photos are pictures we can use", true),
	    T_FAIL_PHOTOS);
	assert_int_equal(text_failure("cannot write in MEDIA_DIR: No space left on device", true),
	    T_FAIL_UNKNOWN);
	assert_int_equal(text_failure("the result holds no images", false), T_FAIL_UNKNOWN);
	/* a generation's failure is never "your photos" */
	assert_int_equal(text_failure("images_data_url: Could not download images", false),
	    T_FAIL_UNKNOWN);
	assert_int_equal(text_failure("", true), T_FAIL_UNKNOWN);
	assert_int_equal(text_failure(NULL, true), T_FAIL_UNKNOWN);
	assert_int_equal(text_failure("Синтаксическая ошибка", true), T_FAIL_UNKNOWN);
	/* and the Russian reasons hold no FAL words */
	for (int id = T_FAIL_PHOTOS; id <= T_FAIL_UNKNOWN; id++) {
		assert_null(strstr(text_get(LANG_RU, (enum text_id)id), "FAL"));
		assert_null(strstr(text_get(LANG_RU, (enum text_id)id), "error"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_key_in_both_languages),
		cmocka_unit_test(language_choice),
		cmocka_unit_test(formatting_escapes_strings),
		cmocka_unit_test(failures_are_told_as_a_few_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
