/* libFuzzer: the Telegram Update parser and validator, and the photo rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "photos.h"
#include "tg_update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size + 1), why[160];
	struct tg_update u;
	const char *mime;

	memcpy(body, data, size);
	body[size] = '\0';
	if (tg_update_parse(&u, body, size, "aisha_bot", why, sizeof(why)) == TG_PARSE_OK)
		(void)photo_check(&u, 512, &mime);
	tg_update_free(&u);
	free(body);
	return 0;
}
