/*
 * fal-webhook — POST /fal/webhook?avatar=ID&token=HMAC (a training) or
 * ?generation=ID&token=HMAC (an image job): FAL reports a finished request.
 *
 * Authenticates the call (the per-avatar token always; FAL's ED25519
 * signature when FAL_WEBHOOK_VERIFY is on), records it in fal_events (the
 * audit of every call, authentic or not), and hands the result to the one
 * completion path.  Anything authentic that was stored, or is a duplicate, or
 * names a request we do not know, gets 200 so FAL stops retrying; only a
 * database failure gets 5xx.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "fal_events.h"
#include "fal_verify.h"
#include "generations.h"
#include "log.h"
#include "training.h"

static const char usage[] =
    "usage: fal-webhook [--check-config]\n"
    "\n"
    "Serves POST /fal/webhook as FastCGI (spawned by lighttpd) or CGI.\n"
    "  --check-config  print the configuration (secrets shown as set/unset)\n";

static const char *const outcome_names[] = {
	[FINISH_COMPLETED] = "completed", [FINISH_FAILED] = "failed",
	[FINISH_DUPLICATE] = "duplicate", [FINISH_UNKNOWN] = "unknown_request",
	[FINISH_DB_ERROR] = "db_error",
};

/* The avatar or generation ("kind") the URL's token vouches for, or 0. */
static long long
token_id(struct app_ctx *ctx, const struct http_req *req, const char *kind)
{
	char id[24], token[80], want[65];
	long long n;

	if (http_query_get(req->query, kind, id, sizeof(id)) != 0 ||
	    app_parse_id(id, &n) != 0 ||
	    http_query_get(req->query, "token", token, sizeof(token)) != 0)
		return 0;
	auth_token(ctx->cfg.fal_webhook_secret, kind, n, want);
	return auth_equal(token, want) ? n : 0;
}

/* A generation's result: 200 once stored (or known). */
static void
finish_generation(struct app_ctx *ctx, struct fal_webhook *w, long long gid,
    struct http_resp *resp)
{
	struct fal_result r;
	bool ok = w->status != NULL && strcmp(w->status, "OK") == 0 &&
	    cJSON_GetObjectItemCaseSensitive(w->payload, "images") != NULL;

	fal_classify_webhook(w->status, w->payload, w->error, w->payload_error, &r);
	int rc = generation_finish(ctx, w->request_id, gid, ok, w->payload, ok ? NULL : r.error);
	const char *outcome = rc == 1 ? (ok ? "completed" : "failed") : "duplicate_or_unknown";
	if (rc < 0 || fal_events_record(&ctx->db, w, true, outcome) != 0) {
		http_resp_error(resp, HTTP_500, "internal", "try again later");
		return;
	}
	log_info("webhook %s for generation %lld: %s", w->status, gid, outcome);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, "outcome", outcome);
	http_resp_json(resp, HTTP_200, o);
}

static void
refuse(struct app_ctx *ctx, const struct fal_webhook *w, const char *why,
    struct http_resp *resp)
{
	log_warn("unauthentic FAL webhook for %s: %s", w->request_id, why);
	(void)fal_events_record(&ctx->db, w, false, why);
	http_resp_error(resp, HTTP_401, "unauthorized", "webhook not authentic");
}

static void
serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	struct fal_webhook w;
	struct fal_result r;
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
	long long aid = token_id(ctx, req, "avatar");
	long long gid = aid ? 0 : token_id(ctx, req, "generation");
	if (aid == 0 && gid == 0) {
		refuse(ctx, &w, "bad_token", resp);
	} else if (ctx->cfg.fal_webhook_verify &&
	    fal_verify_request(ctx, req, why, sizeof(why)) != 0) {
		refuse(ctx, &w, "bad_signature", resp);
		log_warn("signature: %s", why);
	} else if (gid != 0) {
		finish_generation(ctx, &w, gid, resp);
	} else {
		fal_classify_webhook(w.status, w.payload, w.error, w.payload_error, &r);
		enum finish_outcome o = training_finish(ctx, w.request_id, aid, &r, NULL, w.root);
		if (o == FINISH_DB_ERROR || fal_events_record(&ctx->db, &w, true, outcome_names[o]) != 0) {
			http_resp_error(resp, HTTP_500, "internal", "try again later");
		} else {
			log_info("webhook %s for avatar %lld: %s", w.status, aid, outcome_names[o]);
			cJSON *ok = cJSON_CreateObject();
			cJSON_AddTrueToObject(ok, "ok");
			cJSON_AddStringToObject(ok, "outcome", outcome_names[o]);
			http_resp_json(resp, HTTP_200, ok);
		}
	}
	fal_webhook_free(&w);
}

static const char *const required[] = {"DATABASE_URL", "FAL_WEBHOOK_SECRET", NULL};

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
