/*
 * fal-webhook — POST /fal/webhook?avatar=ID&token=T (a training) or
 * ?generation=ID&token=T (an image job): FAL reports a finished request.
 *
 * In this order, each before anything is parsed or stored: the URL's token
 * must be the one issued for that job (webhook_tokens.h); FAL's ED25519
 * signature must verify (on by default in live mode, FAL_WEBHOOK_VERIFY).
 * Then the body is parsed, the signed request id must be the body's, and
 * the result goes to the job engine's one finish path, whose transaction
 * also claims the signature: the same signed pair again is a replay, taken
 * once (200, nothing more kept).
 * The call is audited in fal_events: whole when it changed a job, the reason
 * and a 1 KB prefix otherwise.  A refused call is kept (as that summary)
 * only while its source address stays under REFUSED_PER_MINUTE; past it the
 * answer is 429 and nothing is stored or logged.  Anything authentic that
 * was stored, or is a duplicate, or names a request we do not know, gets
 * 200 so FAL stops retrying; only a database failure gets 5xx.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "fal_events.h"
#include "fal_verify.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "refusals.h"
#include "utf8.h"
#include "webhook_tokens.h"

static const char usage[] =
    "usage: fal-webhook [--check-config]\n"
    "\n"
    "Serves POST /fal/webhook as FastCGI (spawned by lighttpd) or CGI.\n"
    "  --check-config  print the configuration (secrets shown as set/unset)\n";

/* The job ("kind" avatar or generation) the URL's token was issued for: its
 * id, 0 when none, -1 when the database cannot say. */
static long long
token_id(struct app_ctx *ctx, const struct http_req *req, const char *kind)
{
	char id[24], token[WEBHOOK_TOKEN_LEN + 2];
	long long n;

	if (http_query_get(req->query, kind, id, sizeof(id)) != 0 ||
	    app_parse_id(id, &n) != 0 ||
	    http_query_get(req->query, "token", token, sizeof(token)) != 0)
		return 0;
	int ok = webhook_token_check(&ctx->db, ctx->cfg.fal_webhook_secret, kind, n, token);
	return ok < 0 ? -1 : ok ? n : 0;
}

/* The call, kept in the transaction that ends its job (whole) or that
 * found it changes nothing (a summary). */
static int
audit(struct db *db, void *w, const char *outcome, bool changed)
{
	return fal_events_record(db, w, true, changed, outcome);
}

/* The verified signature's (request id, timestamp), claimed in the
 * transaction that takes the call: the same pair again is a replay. */
struct signed_pair {
	const char *rid, *ts;
};

static int
claim(struct db *db, void *arg, int *fresh)
{
	const struct signed_pair *sp = arg;

	return fal_signature_claim(db, sp->rid, sp->ts, fresh);
}

/* The result, through the one finish path (which keeps the call): 200 once
 * stored (or known).  sp: the verified signature (NULL when not checked). */
static void
finish(struct app_ctx *ctx, const struct fal_kind *k, struct fal_webhook *w, long long id,
    struct signed_pair *sp, struct http_resp *resp)
{
	struct fal_end e;

	fal_end_from_webhook(&e, w->status, w->payload, w->error, w->payload_error);
	e.keep = w->root;
	e.audit = audit;
	e.audit_arg = w;
	if (sp != NULL) {
		e.claim = claim;
		e.claim_arg = sp;
	}
	enum fal_finish o = fal_job_finish(ctx, k, w->request_id, id, &e);
	if (o == FAL_FINISH_DB_ERROR) {
		http_resp_error(resp, HTTP_500, "internal", "try again later");
		return;
	}
	log_info("webhook %s for %s %lld: %s", w->status, k->ops->name, id, fal_finish_names[o]);
	metrics_inc("aisha_fal_webhooks_total", "kind", k->ops->name, "outcome",
	    fal_finish_names[o], NULL);
	cJSON *ok = cJSON_CreateObject();
	cJSON_AddTrueToObject(ok, "ok");
	cJSON_AddStringToObject(ok, "outcome", fal_finish_names[o]);
	http_resp_json(resp, HTTP_200, ok);
}

/* A refused call: 401, logged (why, and detail when not NULL) and audited as
 * a summary — or, past the source's limit this minute, 429 with nothing
 * stored and nothing more logged. */
static void
refuse(struct app_ctx *ctx, const struct http_req *req, const char *request_id,
    const char *why, const char *detail, struct http_resp *resp)
{
	const char *src = http_req_var(req, "REMOTE_ADDR");
	int n = refusals_count(&ctx->db, "fal-webhook", src);
	struct fal_webhook w = {.body = req->body, .request_id = request_id, .source = src};

	if (n > ctx->cfg.refused_per_minute) {
		if (n == ctx->cfg.refused_per_minute + 1)
			log_warn("FAL webhook: %d refused calls from %s this minute; the rest"
			    " are not kept", n, src ? src : "?");
		metrics_inc("aisha_fal_webhooks_total", "kind", "unknown", "outcome", "rate_limited",
		    NULL);
		http_resp_header(resp, "Retry-After", "60");
		http_resp_error(resp, HTTP_429, "too_many_requests", "too many refused calls");
		return;
	}
	log_warn("unauthentic FAL webhook from %s: %s%s%s", src ? src : "?", why,
	    detail ? ": " : "", detail ? detail : "");
	metrics_inc("aisha_fal_webhooks_total", "kind", "unknown", "outcome", why, NULL);
	if (n < 0 || fal_events_record(&ctx->db, &w, false, false, why) != 0) {
		http_resp_error(resp, HTTP_500, "internal", "try again later");
		return;
	}
	http_resp_error(resp, HTTP_401, "unauthorized", "webhook not authentic");
}

/* The signed request id, when it can be kept as one (else NULL). */
static const char *
signed_request_id(const struct http_req *req)
{
	const char *rid = http_req_header(req, "X-Fal-Webhook-Request-Id");

	return rid != NULL && strlen(rid) <= 200 && utf8_valid(rid, strlen(rid)) ? rid : NULL;
}

/* Authentic: the body, parsed, bound to the signature, to the job. */
static void
take(struct app_ctx *ctx, const struct http_req *req, const struct fal_kind *k, long long id,
    struct http_resp *resp)
{
	struct fal_webhook w;
	char why[160];
	const char *signed_rid = signed_request_id(req);
	struct signed_pair sp = {signed_rid, http_req_header(req, "X-Fal-Webhook-Timestamp")};

	if (fal_webhook_parse(&w, req->body, req->body_len, why, sizeof(why)) != 0) {
		log_warn("malformed FAL webhook for %s %lld: %s", k->ops->name, id, why);
		metrics_inc("aisha_fal_webhooks_total", "kind", k->ops->name, "outcome", "malformed",
		    NULL);
		http_resp_error(resp, HTTP_400, "bad_payload", why);
	} else if (ctx->cfg.fal_webhook_verify &&
	    strcmp(signed_rid ? signed_rid : "", w.request_id) != 0) {
		refuse(ctx, req, signed_rid, "request_id_mismatch", NULL, resp);
	} else {
		w.source = http_req_var(req, "REMOTE_ADDR");
		log_set_ctx("req=%s fal=%s", ctx->req_id, w.request_id);
		finish(ctx, k, &w, id, ctx->cfg.fal_webhook_verify ? &sp : NULL, resp);
	}
	fal_webhook_free(&w);
}

static void
serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
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
	long long aid = token_id(ctx, req, "avatar");
	long long gid = aid ? 0 : token_id(ctx, req, "generation");
	if (aid < 0 || gid < 0) {
		http_resp_error(resp, HTTP_500, "internal", "try again later");
	} else if (aid == 0 && gid == 0) {
		refuse(ctx, req, signed_request_id(req), "bad_token", NULL, resp);
	} else if (ctx->cfg.fal_webhook_verify &&
	    fal_verify_request(ctx, req, why, sizeof(why)) < 0) {
		refuse(ctx, req, signed_request_id(req), "bad_signature", why, resp);
	} else {
		take(ctx, req, aid ? &job_training : &job_generation, aid ? aid : gid, resp);
	}
}

static const char *const required[] = {"DATABASE_URL", "FAL_WEBHOOK_SECRET", NULL};

static const struct app fal_webhook_app = {
	.name = "fal-webhook",
	.usage = usage,
	.max_body = 256 << 10, /* FAL's results are URLs: a few KB */
	.required = required,
	.serve = serve,
	.cli = NULL,
};

int
main(int argc, char **argv)
{
	return app_main(&fal_webhook_app, argc, argv);
}
