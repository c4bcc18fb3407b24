/*
 * fal-webhook — POST /fal/webhook: FAL reports a finished queue request.
 *
 * Parses and checks the payload, records it in fal_events (the audit of
 * every call) and answers 200 once it is stored, so FAL stops retrying.
 */
#include <string.h>

#include "app.h"
#include "fal_events.h"
#include "log.h"

static const char usage[] =
    "usage: fal-webhook [--check-config]\n"
    "\n"
    "Serves POST /fal/webhook as FastCGI (spawned by lighttpd) or CGI.\n"
    "  --check-config  print the configuration (secrets shown as set/unset)\n";

static void
serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	struct fal_webhook w;
	char why[160];

	if (strcmp(req->path, "/fal/webhook") != 0) {
		http_resp_error(resp, HTTP_404, "not_found", "no such route");
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		http_resp_header(resp, "Allow", "POST");
		http_resp_error(resp, HTTP_405, "method_not_allowed", "use POST");
		return;
	}
	if (fal_webhook_parse(&w, req->body, req->body_len, why, sizeof(why)) != 0) {
		log_warn("malformed FAL webhook: %s", why);
		http_resp_error(resp, HTTP_400, "bad_payload", why);
		fal_webhook_free(&w);
		return;
	}
	log_set_ctx("req=%s fal=%s", ctx->req_id, w.request_id);
	if (fal_events_record(&ctx->db, &w, false, "received") != 0) {
		http_resp_error(resp, HTTP_500, "internal", "try again later");
	} else {
		log_info("webhook %s stored", w.status);
		http_resp_json(resp, HTTP_200, cJSON_Parse("{\"ok\":true}"));
	}
	fal_webhook_free(&w);
}

static const char *const required[] = {"DATABASE_URL", NULL};

static const struct app fal_webhook_app = {
	.name = "fal-webhook",
	.usage = usage,
	.max_body = 4 << 20,
	.required = required,
	.serve = serve,
	.cli = NULL,
};

int
main(int argc, char **argv)
{
	return app_main(&fal_webhook_app, argc, argv);
}
