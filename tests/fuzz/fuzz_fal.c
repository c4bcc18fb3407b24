/* libFuzzer: the FAL webhook payload, its classification, the status and
 * submit answers, and the signature check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fal_api.h"
#include "fal_events.h"
#include "fal_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	char *body = malloc(size + 1), why[160], st[32], msg[1024];
	struct fal_webhook w;
	struct fal_result r;
	struct fal_submitted sub;
	struct sbuf logs = SBUF_INIT;
	int pr;

	if (!init && sodium_init() >= 0)
		init = 1;
	memcpy(body, data, size);
	body[size] = '\0';
	if (fal_webhook_parse(&w, body, size, why, sizeof(why)) == 0)
		fal_classify_webhook(w.status, w.payload, w.error, w.payload_error, &r);
	fal_webhook_free(&w);
	cJSON *j = cJSON_Parse(body);
	fal_classify_result(200, j, &r);
	fal_classify_result(422, j, &r);
	cJSON_Delete(j);
	fal_parse_status(body, st, sizeof(st), &pr, &logs);
	(void)fal_timestamp_fresh(body, 1764400000);
	(void)fal_parse_submit("https://q", "fal-ai/x/y", body, &sub);
	if (fal_signed_message("r", "u", "1", body, size, msg, sizeof(msg)) == 0)
		(void)fal_verify_with_key(size > 43 ? "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" : body,
		    body, msg);
	sbuf_free(&logs);
	free(body);
	return 0;
}
