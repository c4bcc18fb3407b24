/* libFuzzer: request reading: the input's first line holds the CGI
 * variables ("K=V" separated by \x01), the rest is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t n, pos;
};

static size_t
rd(void *ctx, char *buf, size_t n)
{
	struct src *s = ctx;
	size_t k = s->n - s->pos < n ? s->n - s->pos : n;

	memcpy(buf, s->p + s->pos, k);
	s->pos += k;
	return k;
}

static int
wr(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hl = nl ? (size_t)(nl - data) : size;
	char *head = malloc(hl + 1), *env[17] = {0}, val[128];
	int n = 0;
	struct http_req r;
	struct http_resp w;
	struct http_caps caps;

	memcpy(head, data, hl);
	head[hl] = '\0';
	for (char *tok = strtok(head, "\x01"); tok && n < 16; tok = strtok(NULL, "\x01"))
		env[n++] = tok;
	struct src s = {nl ? nl + 1 : data + size, nl ? size - hl - 1 : 0, 0};
	struct http_io io = {&s, rd, wr, env};
	enum http_read_err e = http_req_read(&r, &io, 4096);
	http_resp_init(&w);
	if (e == HTTP_READ_OK) {
		(void)http_req_header(&r, "X-Telegram-Bot-Api-Secret-Token");
		(void)http_query_get(r.query, "token", val, sizeof(val));
		(void)http_path_match("/api/avatars/{id}/status", r.path, &caps);
	} else {
		http_resp_read_error(&w, e);
	}
	(void)http_resp_write(&w, &io);
	http_resp_free(&w);
	http_req_free(&r);
	free(head);
	return 0;
}
