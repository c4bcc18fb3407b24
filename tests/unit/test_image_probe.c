/*
 * image_probe: the kind and size of a file from its headers, whatever it
 * claims to be; anything else is unknown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "image_probe.h"

static enum image_kind
probe(const void *bytes, size_t n, struct image_info *info)
{
	FILE *f = tmpfile();

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	enum image_kind k = image_probe(f, info);
	fclose(f);
	return k;
}

static void
jpeg_size_after_exif_and_fill_bytes(void **state)
{
	(void)state;
	static const unsigned char jpg[] = {
		0xFF, 0xD8,                                     /* SOI */
		0xFF, 0xE1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0, /* APP1, 6 bytes */
		0xFF, 0xFF, 0xDB, 0x00, 0x03, 0x00,             /* fill, DQT, 1 byte */
		0xFF, 0xC4, 0x00, 0x02,                         /* DHT: not a SOF */
		0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x03, 0x00, 0x04, 0x00, 0x03, 0x01, 0x11, 0x00,
	};
	struct image_info i;

	assert_int_equal(probe(jpg, sizeof(jpg), &i), IMAGE_JPEG);
	assert_int_equal(i.width, 1024);
	assert_int_equal(i.height, 768);
	/* the scan starts before any size: not a picture we can use */
	static const unsigned char sos[] = {0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02};
	assert_int_equal(probe(sos, sizeof(sos), &i), IMAGE_UNKNOWN);
	/* cut in the middle of the SOF */
	assert_int_equal(probe(jpg, sizeof(jpg) - 9, &i), IMAGE_UNKNOWN);
	assert_int_equal(i.width, 0);
}

static void
png_and_webp_sizes(void **state)
{
	(void)state;
	static const unsigned char png[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
		0, 0, 0x02, 0x00, 0, 0, 0x03, 0x00, 8, 6, 0, 0, 0,
	};
	static const unsigned char vp8x[] = {
		'R', 'I', 'F', 'F', 0x40, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X',
		10, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x03, 0x00, 0xFF, 0x02, 0x00,
	};
	static const unsigned char vp8[] = {
		'R', 'I', 'F', 'F', 0x40, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', ' ',
		10, 0, 0, 0, 0, 0, 0, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01,
	};
	struct image_info i;

	assert_int_equal(probe(png, sizeof(png), &i), IMAGE_PNG);
	assert_int_equal(i.width, 512);
	assert_int_equal(i.height, 768);
	assert_int_equal(probe(vp8x, sizeof(vp8x), &i), IMAGE_WEBP);
	assert_int_equal(i.width, 1024);
	assert_int_equal(i.height, 768);
	assert_int_equal(probe(vp8, sizeof(vp8), &i), IMAGE_WEBP);
	assert_int_equal(i.width, 640);
	assert_int_equal(i.height, 480);
	assert_string_equal(image_ext(IMAGE_WEBP), "webp");
}

static void
what_is_not_a_picture(void **state)
{
	(void)state;
	static const char exe[] = "MZ\x90\0\3\0\0\0\4\0\0\0\xff\xff\0\0 This program cannot";
	static const char html[] = "<html><body>photo</body></html>";
	static const unsigned char zero_png[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
		0, 0, 0, 0, 0, 0, 0x03, 0x00,
	};
	static const unsigned char loop[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0xFF, 0xE0,
		0x00, 0x02, 0xFF, 0xE0, 0x00, 0x01};
	struct image_info i;

	assert_int_equal(probe(exe, sizeof(exe), &i), IMAGE_UNKNOWN);
	assert_int_equal(probe(html, sizeof(html), &i), IMAGE_UNKNOWN);
	assert_int_equal(probe(zero_png, sizeof(zero_png), &i), IMAGE_UNKNOWN);
	assert_int_equal(probe(loop, sizeof(loop), &i), IMAGE_UNKNOWN); /* length < 2 */
	assert_int_equal(probe("", 0, &i), IMAGE_UNKNOWN);
	assert_int_equal(image_probe(NULL, &i), IMAGE_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jpeg_size_after_exif_and_fill_bytes),
		cmocka_unit_test(png_and_webp_sizes),
		cmocka_unit_test(what_is_not_a_picture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
