/* libFuzzer: the configuration loader over an environment made of the
 * input's lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *env[33] = {0}, err[300];
	int n = 0;
	struct config c;

	memcpy(text, data, size);
	text[size] = '\0';
	for (char *tok = strtok(text, "\n"); tok && n < 32; tok = strtok(NULL, "\n"))
		if (strncmp(tok, "AISHA_ENV_FILE", 14) != 0) /* no files from fuzz input */
			env[n++] = tok;
	(void)config_load(&c, env, err, sizeof(err));
	config_free(&c);
	free(text);
	return 0;
}
