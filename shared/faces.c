/*
 * faces — see faces.h.
 */
#include "faces.h"

#include <dlfcn.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sibling.h"

typedef int (*count_fn)(const unsigned char *gray, int w, int h, const char *model);

static count_fn counter;
static char model_path[PATH_MAX];
static int tried;

int
faces_open(const char *model)
{
	char path[PATH_MAX];

	if (tried)
		return counter != NULL;
	tried = 1;
	if (model == NULL || model[0] == '\0' || access(model, R_OK) != 0 ||
	    strlen(model) >= sizeof(model_path)) {
		log_info("faces: no face model (FACE_MODEL); faces are not counted");
		return 0;
	}
	void *h = sibling_path("aisha-face.so", path, sizeof(path)) == 0 ?
	    dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
	if (h == NULL) {
		log_info("faces: no aisha-face.so next to this program; faces are not counted");
		return 0;
	}
	/* (the POSIX way from a void * to a function pointer) */
	*(void **)&counter = dlsym(h, "aisha_face_count");
	if (counter == NULL) {
		log_warn("faces: aisha-face.so has no aisha_face_count");
		dlclose(h);
		return 0;
	}
	strcpy(model_path, model);
	return 1;
}

int
faces_count(const unsigned char *gray, unsigned w, unsigned h)
{
	if (counter == NULL || w > INT_MAX || h > INT_MAX)
		return -1;
	return counter(gray, (int)w, (int)h, model_path);
}
