/* photos and names: which photos are accepted and why not; avatar names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "flow_create.h"
#include "photos.h"

static struct tg_update
photo(int w, int h, long long size)
{
	struct tg_update u;

	memset(&u, 0, sizeof(u));
	u.has_photo = true;
	u.file.file_id = "f";
	u.file.file_unique_id = "u";
	u.file.width = w;
	u.file.height = h;
	u.file.file_size = size;
	return u;
}

static struct tg_update
document(const char *mime, long long size)
{
	struct tg_update u;

	memset(&u, 0, sizeof(u));
	u.has_document = true;
	u.file.file_id = "f";
	u.file.file_unique_id = "u";
	u.file.mime_type = mime;
	u.file.file_size = size;
	return u;
}

static void
photo_rules(void **state)
{
	(void)state;
	const char *mime;
	struct tg_update u;

	u = photo(960, 1280, 129580);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_OK);
	assert_string_equal(mime, "image/jpeg");
	u = photo(320, 240, 9120);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_TOO_SMALL);
	u = photo(512, 512, 0);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_OK);
	u = photo(4000, 3000, 21LL * 1024 * 1024);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_TOO_BIG);
	u = photo(0, 0, 100);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_TOO_SMALL);
}

static void
document_rules(void **state)
{
	(void)state;
	const char *mime;
	struct tg_update u;

	u = document("image/jpeg", 2811044);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_OK);
	u = document("IMAGE/PNG", 1000);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_OK);
	assert_string_equal(mime, "image/png");
	u = document("image/webp", 1000);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_OK);
	u = document("application/pdf", 182044);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_NOT_IMAGE);
	u = document("image/gif", 1000);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_NOT_IMAGE);
	u = document(NULL, 1000);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_NOT_IMAGE);
	u = document("image/jpeg", 20LL * 1024 * 1024 + 1);
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_TOO_BIG);
	/* the name, when it has an extension, must agree with the MIME type */
	u = document("image/jpeg", 1000);
	u.file.file_name = "x.exe";
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_NOT_IMAGE);
	u.file.file_name = "IMG_0001.JPG";
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_OK);
	u.file.file_name = "me.photo.webp";
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_OK);
	u.file.file_name = "no-extension";
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_OK);
	memset(&u, 0, sizeof(u));
	assert_int_equal(photo_check(&u, 512, &mime), PHOTO_NONE);
}

static void
names(void **state)
{
	(void)state;
	char out[4 * 40 + 1];

	assert_int_equal(avatar_name_check("  Алия  ", out, sizeof(out)), NAME_OK);
	assert_string_equal(out, "Алия");
	assert_int_equal(avatar_name_check("\xc2\xa0Tom\xc2\xa0", out, sizeof(out)), NAME_OK);
	assert_string_equal(out, "Tom");
	assert_int_equal(avatar_name_check("   ", out, sizeof(out)), NAME_EMPTY);
	assert_int_equal(avatar_name_check("", out, sizeof(out)), NAME_EMPTY);
	assert_int_equal(avatar_name_check(NULL, out, sizeof(out)), NAME_EMPTY);
	assert_int_equal(avatar_name_check("a\x01" "b", out, sizeof(out)), NAME_BAD_CHARS);
	assert_int_equal(avatar_name_check("line\nbreak", out, sizeof(out)), NAME_BAD_CHARS);
	char forty[4 * 40 + 1] = "", fortyone[4 * 41 + 1] = "";
	for (int i = 0; i < 40; i++)
		strcat(forty, "я");
	strcpy(fortyone, forty);
	strcat(fortyone, "я");
	assert_int_equal(avatar_name_check(forty, out, sizeof(out)), NAME_OK);
	assert_int_equal(avatar_name_check(fortyone, out, sizeof(out)), NAME_TOO_LONG);
	char emoji[4 * 40 + 1] = "";
	for (int i = 0; i < 40; i++)
		strcat(emoji, "😀");
	assert_int_equal(avatar_name_check(emoji, out, sizeof(out)), NAME_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(photo_rules),
		cmocka_unit_test(document_rules),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
