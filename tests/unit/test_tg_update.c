/* tg_update: the contract's sample updates parse into the right struct;
 * hostile input is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sbuf.h"
#include "tg_update.h"

static char why[160];

static char *
fixture(const char *name)
{
	char path[256];
	struct sbuf b = SBUF_INIT;
	char buf[4096];
	size_t n;

	snprintf(path, sizeof(path), "tests/fixtures/updates/%s.json", name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_addn(&b, buf, n);
	fclose(f);
	return sbuf_take(&b);
}

static enum tg_parse_err
parse_fixture(struct tg_update *u, const char *name, char **keep)
{
	*keep = fixture(name);
	return tg_update_parse(u, *keep, strlen(*keep), "aisha_avatar_bot", why, sizeof(why));
}

static void
start_command(void **state)
{
	(void)state;
	struct tg_update u;
	char *b;

	assert_int_equal(parse_fixture(&u, "start_with_payload", &b), TG_PARSE_OK);
	assert_int_equal(u.kind, TG_KIND_MESSAGE);
	assert_int_equal(u.update_id, 902113402);
	assert_int_equal(u.from.id, 184467301);
	assert_int_equal(u.chat_id, 184467301);
	assert_string_equal(u.chat_type, "private");
	assert_string_equal(u.from.language_code, "ru");
	assert_string_equal(u.command, "start");
	assert_string_equal(u.command_arg, "img_Q2xhc3NpYw");
	tg_update_free(&u);
	free(b);
}

static void
photo_takes_largest_size(void **state)
{
	(void)state;
	struct tg_update u;
	char *b;

	assert_int_equal(parse_fixture(&u, "album_item_2", &b), TG_PARSE_OK);
	assert_true(u.has_photo);
	assert_int_equal(u.file.width, 960);
	assert_int_equal(u.file.height, 1280);
	assert_string_equal(u.file.file_unique_id, "AQADAl1960");
	assert_string_equal(u.media_group_id, "13841277263881451");
	tg_update_free(&u);
	free(b);
}

static void
photo_sizes_unsorted(void **state)
{
	(void)state;
	const char *j = "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":5,\"type\":\"private\"},"
	    "\"from\":{\"id\":5,\"is_bot\":false,\"first_name\":\"A\"},\"photo\":["
	    "{\"file_id\":\"big\",\"file_unique_id\":\"B\",\"width\":1000,\"height\":900},"
	    "{\"file_id\":\"small\",\"file_unique_id\":\"S\",\"width\":90,\"height\":90}]}}";
	struct tg_update u;

	assert_int_equal(tg_update_parse(&u, j, strlen(j), NULL, why, sizeof(why)), TG_PARSE_OK);
	assert_string_equal(u.file.file_id, "big");
	tg_update_free(&u);
}

static void
documents_callbacks_members(void **state)
{
	(void)state;
	struct tg_update u;
	char *b;

	assert_int_equal(parse_fixture(&u, "document_pdf", &b), TG_PARSE_OK);
	assert_true(u.has_document);
	assert_string_equal(u.file.mime_type, "application/pdf");
	tg_update_free(&u);
	free(b);
	assert_int_equal(parse_fixture(&u, "callback_query", &b), TG_PARSE_OK);
	assert_int_equal(u.kind, TG_KIND_CALLBACK);
	assert_string_equal(u.callback_data, "v1:menu:create");
	assert_int_equal(u.message_id, 31);
	assert_false(u.callback_inaccessible);
	tg_update_free(&u);
	free(b);
	assert_int_equal(parse_fixture(&u, "my_chat_member_kicked", &b), TG_PARSE_OK);
	assert_string_equal(u.member_status, "kicked");
	tg_update_free(&u);
	free(b);
	assert_int_equal(parse_fixture(&u, "sticker", &b), TG_PARSE_OK);
	assert_true(u.has_sticker);
	tg_update_free(&u);
	free(b);
}

static void
group_id_is_64_bit(void **state)
{
	(void)state;
	struct tg_update u;
	char *b;

	assert_int_equal(parse_fixture(&u, "group_message", &b), TG_PARSE_OK);
	assert_true(u.chat_id == -1001987654321LL);
	assert_string_equal(u.command, "start");
	assert_false(u.command_for_other_bot);
	tg_update_free(&u);
	free(b);
}

static void
command_for_another_bot(void **state)
{
	(void)state;
	const char *j = "{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":-5,\"type\":\"group\"},"
	    "\"from\":{\"id\":5,\"is_bot\":false,\"first_name\":\"A\"},\"text\":\"/START@other_bot x\"}}";
	struct tg_update u;

	assert_int_equal(tg_update_parse(&u, j, strlen(j), "aisha_avatar_bot", why, sizeof(why)), TG_PARSE_OK);
	assert_string_equal(u.command, "start");
	assert_true(u.command_for_other_bot);
	tg_update_free(&u);
}

static void
hostile_input_is_refused(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "null", "[]", "{\"update_id\":\"1\"}", "{\"update_id\":1.5}",
		"{\"update_id\":-1}", "{\"update_id\":1e300}",
		"{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":\"x\",\"type\":\"private\"}}}",
		"{\"update_id\":1,\"message\":{\"message_id\":1}}",
		"{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1,\"type\":\"private\"},\"photo\":{}}}",
		"{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1,\"type\":\"private\"},\"text\":5}}",
		"{\"update_id\":1,\"callback_query\":{\"id\":\"1\",\"from\":{\"id\":1},\"data\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}}",
		"{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1,\"type\":\"private\"},\"from\":{\"id\":9007199254740993}}}",
	};
	struct tg_update u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(tg_update_parse(&u, bad[i], strlen(bad[i]), NULL, why, sizeof(why)),
		    TG_PARSE_OK);
		tg_update_free(&u);
	}
	const char inv[] = "{\"update_id\":1,\"message\":{\"text\":\"\xc3\x28\"}}";
	assert_int_equal(tg_update_parse(&u, inv, strlen(inv), NULL, why, sizeof(why)), TG_PARSE_NOT_UTF8);
	tg_update_free(&u);
	const char nul[] = "{\"update_id\":1}\0junk";
	assert_int_equal(tg_update_parse(&u, nul, sizeof(nul) - 1, NULL, why, sizeof(why)), TG_PARSE_NOT_UTF8);
	tg_update_free(&u);
}

static void
unknown_kinds_are_other(void **state)
{
	(void)state;
	const char *j = "{\"update_id\":7,\"poll\":{\"id\":\"1\"}}";
	struct tg_update u;

	assert_int_equal(tg_update_parse(&u, j, strlen(j), NULL, why, sizeof(why)), TG_PARSE_OK);
	assert_int_equal(u.kind, TG_KIND_OTHER);
	tg_update_free(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(start_command),
		cmocka_unit_test(photo_takes_largest_size),
		cmocka_unit_test(photo_sizes_unsorted),
		cmocka_unit_test(documents_callbacks_members),
		cmocka_unit_test(group_id_is_64_bit),
		cmocka_unit_test(command_for_another_bot),
		cmocka_unit_test(hostile_input_is_refused),
		cmocka_unit_test(unknown_kinds_are_other),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
