/*
 * fal-webhook — POST /fal/webhook?avatar=ID&token=HMAC (a training) or
 * ?generation=ID&token=HMAC (an image job): FAL reports a finished request.
 *
 * Authenticates the call (the job's token always; FAL's ED25519
 * signature when FAL_WEBHOOK_VERIFY is on), records it in fal_events (the
 * audit of every call: whole when authentic, the reason and a 1 KB prefix
 * when not), and hands the result to the job engine's one finish path.
 * Anything authentic that was stored, or is a duplicate, or
 * names a request we do not know, gets 200 so FAL stops retrying; only a
 * database failure gets 5xx.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "fal_events.h"
#include "fal_verify.h"
#include "jobs.h"
#include "log.h"

static const char usage[] =
    "usage: fal-webhook [--check-config]\n"
    "\n"
    "Serves POST /fal/webhook as FastCGI (spawned by lighttpd) or CGI.\n"
    "  --check-config  print the configuration (secrets shown as set/unset)\n";

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

/* The result, through the one finish path: 200 once stored (or known). */
static void
finish(struct app_ctx *ctx, const struct fal_kind *k, struct fal_webhook *w, long long id,
    struct http_resp *resp)
{
	struct fal_end e;

	fal_end_from_webhook(&e, w->status, w->payload, w->error, w->payload_error);
	e.keep = w->root;
	enum fal_finish o = fal_job_finish(ctx, k, w->request_id, id, &e);
	if (o == FAL_FINISH_DB_ERROR ||
	    fal_events_record(&ctx->db, w, true, fal_finish_names[o]) != 0) {
		http_resp_error(resp, HTTP_500, "internal", "try again later");
		return;
	}
	log_info("webhook %s for %s %lld: %s", w->status, k->ops->name, id, fal_finish_names[o]);
	cJSON *ok = cJSON_CreateObject();
	cJSON_AddTrueToObject(ok, "ok");
	cJSON_AddStringToObject(ok, "outcome", fal_finish_names[o]);
	http_resp_json(resp, HTTP_200, ok);
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
	} else {
		finish(ctx, aid ? &job_training : &job_generation, &w, aid ? aid : gid, resp);
	}
	fal_webhook_free(&w);
}

static const char *const required[] = {"DATABASE_URL", "FAL_WEBHOOK_SECRET", NULL};

static const struct app fal_webhook_app = {
	.name = "fal-webhook",
	.usage = usage,
	.max_body = 1 << 20, /* FAL's results are URLs: a few KB */
	.required = required,
	.serve = serve,
	.cli = NULL,
};

int
main(int argc, char **argv)
{
	return app_main(&fal_webhook_app, argc, argv);
}
