/*
 * photo_quality on real photographs (tests/fixtures/photos, made by its
 * make.py from Debian's python3-skimage data): a sharp photo passes; the
 * same photo blurred, underexposed or overexposed is caught for that; a
 * smaller, recompressed copy is the same shot by its perceptual hash while
 * different photos are far apart; PNG and WebP decode like JPEG; a text
 * file, a truncated JPEG and headers that promise a giant image are not
 * photos.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "photo_quality.h"

static unsigned char *
slurp(const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), "tests/fixtures/photos/%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static int
measure(const char *name, struct photo_quality *q)
{
	size_t len;
	unsigned char *buf = slurp(name, &len);
	int rc = photo_quality_measure(buf, len, q);

	free(buf);
	return rc;
}

static enum photo_flaw
flaw_of(const char *name)
{
	struct photo_quality q;

	(void)measure(name, &q);
	return photo_quality_judge(&q);
}

static void
a_sharp_photo_passes(void **state)
{
	struct photo_quality q;

	(void)state;
	assert_int_equal(measure("sharp.jpg", &q), 0);
	assert_int_equal(q.width, 512);
	assert_int_equal(q.height, 512);
	assert_int_equal(photo_quality_judge(&q), FLAW_NONE);
	assert_int_equal(flaw_of("coffee.jpg"), FLAW_NONE);
}

static void
blurred_dark_and_washed_out_are_each_named(void **state)
{
	(void)state;
	assert_int_equal(flaw_of("blurred.jpg"), FLAW_BLURRY);
	assert_int_equal(flaw_of("dark.jpg"), FLAW_DARK);
	assert_int_equal(flaw_of("bright.jpg"), FLAW_BRIGHT);
}

static void
a_recompressed_copy_is_the_same_shot_and_others_are_not(void **state)
{
	struct photo_quality sharp, near, coffee, cat, blurred;

	(void)state;
	assert_int_equal(measure("sharp.jpg", &sharp), 0);
	assert_int_equal(measure("near_dup.jpg", &near), 0);
	assert_int_equal(measure("coffee.jpg", &coffee), 0);
	assert_int_equal(measure("cat.png", &cat), 0);
	assert_int_equal(measure("blurred.jpg", &blurred), 0);
	assert_in_range(photo_hash_distance(sharp.phash, near.phash), 0, PHOTO_SAME_SHOT_BITS);
	assert_in_range(photo_hash_distance(sharp.phash, blurred.phash), 0, PHOTO_SAME_SHOT_BITS);
	assert_true(photo_hash_distance(sharp.phash, coffee.phash) > 2 * PHOTO_SAME_SHOT_BITS);
	assert_true(photo_hash_distance(sharp.phash, cat.phash) > 2 * PHOTO_SAME_SHOT_BITS);
	assert_true(photo_hash_distance(coffee.phash, cat.phash) > 2 * PHOTO_SAME_SHOT_BITS);
	assert_int_equal(photo_hash_distance(0, ~(uint64_t)0), 64);
}

static void
png_and_webp_decode_like_jpeg(void **state)
{
	struct photo_quality png, webp;

	(void)state;
	assert_int_equal(measure("cat.png", &png), 0);
	assert_int_equal(measure("cat.webp", &webp), 0);
	assert_int_equal(png.width, 451);
	assert_int_equal(webp.height, 300);
	assert_int_equal(photo_quality_judge(&png), FLAW_NONE);
	assert_int_equal(photo_quality_judge(&webp), FLAW_NONE);
	assert_in_range(photo_hash_distance(png.phash, webp.phash), 0, PHOTO_SAME_SHOT_BITS);
}

static void
what_does_not_decode_is_not_a_photo(void **state)
{
	struct photo_quality q;
	static const unsigned char giant_png[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
		0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, /* 65536 × 65536 */
		8, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x00,
	};
	static const unsigned char jpeg_soi_only[] = {0xFF, 0xD8, 0xFF, 0xD9};

	(void)state;
	assert_int_equal(measure("not_photo.jpg", &q), -1);
	assert_int_equal(photo_quality_judge(&q), FLAW_NOT_PHOTO);
	assert_int_equal(measure("truncated.jpg", &q), -1);
	assert_int_equal(photo_quality_judge(&q), FLAW_NOT_PHOTO);
	assert_int_equal(photo_quality_measure(giant_png, sizeof(giant_png), &q), -1);
	assert_int_equal(photo_quality_measure(jpeg_soi_only, sizeof(jpeg_soi_only), &q), -1);
	assert_int_equal(photo_quality_measure(NULL, 0, &q), -1);
	assert_int_equal(q.width, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_sharp_photo_passes),
		cmocka_unit_test(blurred_dark_and_washed_out_are_each_named),
		cmocka_unit_test(a_recompressed_copy_is_the_same_shot_and_others_are_not),
		cmocka_unit_test(png_and_webp_decode_like_jpeg),
		cmocka_unit_test(what_does_not_decode_is_not_a_photo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
