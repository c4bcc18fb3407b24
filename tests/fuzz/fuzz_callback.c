/* libFuzzer: the callback-data codec; whatever decodes must encode back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), again[CB_MAX + 1];
	struct cb cb;

	memcpy(s, data, size);
	s[size] = '\0';
	enum cb_action a = cb_decode(s, &cb);
	if (a > CB_STALE) {
		if (cb_encode(&cb, again) != 0 || strcmp(again, s) != 0)
			abort(); /* decoding accepted something it would not write */
	}
	free(s);
	return 0;
}
