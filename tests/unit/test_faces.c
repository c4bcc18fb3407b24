/*
 * The face module (plugins/face_opencv.cc, loaded as the photo checker
 * loads it) on real photographs, on the plane photo_quality measures: one
 * face in a portrait, two in a photo of two people, none in a cup of
 * coffee.  Skipped where the module was not built (no OpenCV).
 */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "photo_quality.h"

#define MODEL "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

static int (*module_count)(const unsigned char *gray, int w, int h, const char *model);

static int
count(const unsigned char *gray, unsigned w, unsigned h)
{
	return module_count(gray, (int)w, (int)h, MODEL);
}

static int
faces_in(const char *name)
{
	char path[256];
	struct photo_quality q;

	snprintf(path, sizeof(path), "tests/fixtures/photos/%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char *buf = malloc(1 << 20);
	assert_non_null(buf);
	size_t len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	assert_int_equal(photo_quality_measure(buf, len, &q), 0);
	free(buf);
	return q.faces;
}

static void
one_face_two_faces_no_face(void **state)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)state;
	assert_true(n > 0);
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/../bin/aisha-face.so", dirname(self));
	void *h = access(path, R_OK) == 0 && access(MODEL, R_OK) == 0 ?
	    dlopen(path, RTLD_NOW) : NULL;
	if (h == NULL) {
		fprintf(stderr, "no face module (%s) or model: skipped\n", path);
		skip();
	}
	*(void **)&module_count = dlsym(h, "aisha_face_count");
	assert_non_null(module_count);
	photo_quality_count_faces(NULL);
	assert_int_equal(faces_in("sharp.jpg"), -1); /* not counted */
	photo_quality_count_faces(count);
	assert_int_equal(faces_in("sharp.jpg"), 1);
	assert_int_equal(faces_in("near_dup.jpg"), 1);
	assert_int_equal(faces_in("two_faces.jpg"), 2);
	assert_int_equal(faces_in("coffee.jpg"), 0);
	assert_int_equal(module_count((const unsigned char *)"x", 1, 1, "/nonexistent.xml"), -1);
	photo_quality_count_faces(NULL);
	dlclose(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_face_two_faces_no_face),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
