/*
 * operator_api — see operator_api.h.
 */
#include "operator_api.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "credits.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "operator_jobs.h"
#include "operator_stats.h"
#include "outbox.h"
#include "payments.h"
#include "reply.h"
#include "tg_api.h"
#include "users.h"
#include "utf8.h"

#define CHARGE_MAX 256

/* The user with this Telegram id (from the path): 1, or 0 when the answer
 * was written (400/404/500). */
static int
user_of(struct app_ctx *ctx, const char *idstr, struct user *u, struct http_resp *resp)
{
	long long tid;

	if (app_parse_id(idstr, &tid) != 0) {
		http_resp_error(resp, HTTP_400, "bad_id", "the id is a Telegram user id");
		return 0;
	}
	int found = users_get(&ctx->db, tid, u);
	if (found <= 0)
		http_resp_error(resp, found < 0 ? HTTP_500 : HTTP_404,
		    found < 0 ? "internal" : "not_found", found < 0 ? "try again later" : "no such user");
	return found > 0;
}

static void
get_user(struct app_ctx *ctx, const char *idstr, struct http_resp *resp)
{
	struct user u;
	cJSON *out;

	if (!user_of(ctx, idstr, &u, resp))
		return;
	if (credits_statement(&ctx->db, u.id, 20, &out) != 1)
		http_resp_error(resp, HTTP_500, "internal", "try again later");
	else
		http_resp_json(resp, HTTP_200, out);
}

/* {"delta": ±1..1000000, "key": 1..100 chars, "note": ≤ 500 chars}. */
static const char *
credits_body(const struct http_req *req, int *delta, const char **key, const char **note,
    cJSON **doc)
{
	*doc = cJSON_ParseWithLength(req->body, req->body_len);
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(*doc, "delta");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(*doc, "key");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(*doc, "note");

	if (!cJSON_IsObject(*doc))
		return "the body is a JSON object";
	if (!cJSON_IsNumber(d) || d->valuedouble != (double)(int)d->valuedouble ||
	    d->valuedouble == 0 || d->valuedouble > 1000000 || d->valuedouble < -1000000)
		return "delta is a whole number of credits, ±1..1000000";
	if (!cJSON_IsString(k) || k->valuestring[0] == '\0' ||
	    !utf8_valid(k->valuestring, strlen(k->valuestring)) || utf8_count(k->valuestring) > 100)
		return "key (the idempotency key) is a string of 1..100 characters";
	if (n != NULL && !(cJSON_IsString(n) && utf8_valid(n->valuestring, strlen(n->valuestring)) &&
	    utf8_count(n->valuestring) <= 500))
		return "note is a string of at most 500 characters";
	*delta = (int)d->valuedouble;
	*key = k->valuestring;
	*note = n ? n->valuestring : NULL;
	return NULL;
}

static void
post_credits(struct app_ctx *ctx, const char *idstr, const struct http_req *req,
    struct http_resp *resp)
{
	struct user u;
	struct credit_entry e = {.reason = "admin"};
	cJSON *doc = NULL;
	int balance = 0;
	const char *bad = credits_body(req, &e.delta, &e.reference, &e.note, &doc);

	if (bad != NULL) {
		http_resp_error(resp, HTTP_400, "bad_request", bad);
	} else if (user_of(ctx, idstr, &u, resp)) {
		e.user_id = u.id;
		enum credit_result r = credits_apply(&ctx->db, &e, &balance);
		if (r == CREDIT_ERROR || r == CREDIT_NO_USER) {
			http_resp_error(resp, HTTP_500, "internal", "try again later");
		} else if (r == CREDIT_INSUFFICIENT) {
			http_resp_error(resp, HTTP_409, "insufficient",
			    "a deduction may not take the balance below zero");
		} else {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "outcome", r == CREDIT_APPLIED ? "applied" : "duplicate");
			cJSON_AddNumberToObject(o, "balance", balance);
			http_resp_json(resp, HTTP_200, o);
			log_info("operator: %+d credits for user %" PRId64 " (%s): %s", e.delta, u.id,
			    e.reference, r == CREDIT_APPLIED ? "applied" : "duplicate");
		}
	}
	cJSON_Delete(doc);
}

/* --- refunds ---------------------------------------------------------------------- */

/* After Telegram refunded: the payment marked, the credits taken back (as
 * many as there are) and the person told, in one transaction.  *taken. */
static int
take_back(struct app_ctx *ctx, const struct payment *pm, int *taken)
{
	struct user u;
	struct sbuf s = SBUF_INIT;
	int64_t nid = 0;
	int rc = -1;

	if (db_begin(&ctx->db) != 0)
		return -1;
	int balance = credits_balance(&ctx->db, pm->user_id);
	*taken = balance < pm->credits ? (balance < 0 ? 0 : balance) : pm->credits;
	struct credit_entry e = {.user_id = pm->user_id, .delta = -*taken,
		.reason = "payment_refund", .reference = pm->charge_id, .units = pm->stars};
	if (balance < 0 || payments_mark_refunded(&ctx->db, pm->charge_id, *taken) != 1 ||
	    credits_apply(&ctx->db, &e, NULL) != CREDIT_APPLIED ||
	    users_get(&ctx->db, pm->telegram_id, &u) != 1)
		goto out;
	text_addf(&s, u.lang, T_PAYMENT_REFUNDED, pm->stars, *taken);
	char key[300];
	snprintf(key, sizeof(key), "refund:%s", pm->charge_id);
	struct outbox_msg m = {.user_id = pm->user_id, .chat_id = pm->telegram_id,
		.kind = "refund", .dedupe_key = key, .method = "sendMessage",
		.params = reply_message_params(pm->telegram_id, s.p, NULL)};
	if (outbox_enqueue(&ctx->db, &m, &nid) < 0)
		goto out;
	rc = db_commit(&ctx->db);
out:
	if (rc != 0)
		db_rollback(&ctx->db);
	else if (nid)
		outbox_deliver(ctx, nid, 1);
	sbuf_free(&s);
	return rc;
}

/* Telegram's refundStarPayment: 1 refunded (now or before), 0 refused
 * (the answer written), -1 unavailable. */
static int
refund_stars(struct app_ctx *ctx, const struct payment *pm, struct http_resp *resp)
{
	struct tg_reply r;
	cJSON *p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, "user_id", (double)pm->telegram_id);
	cJSON_AddStringToObject(p, "telegram_payment_charge_id", pm->charge_id);
	enum tg_result res = tg_call(ctx->tg, "refundStarPayment", p, &r);
	cJSON_Delete(p);
	int rc = res == TG_OK || strstr(r.description, "CHARGE_ALREADY_REFUNDED") ? 1 :
	    res == TG_BAD || res == TG_BLOCKED ? 0 : -1;
	if (rc == 0)
		http_resp_error(resp, HTTP_422, "telegram_refused", r.description);
	tg_reply_free(&r);
	return rc;
}

static bool
charge_ok(const char *s, size_t n)
{
	if (n == 0 || n > CHARGE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static void
post_refund(struct app_ctx *ctx, const char *charge, struct http_resp *resp)
{
	struct payment pm;
	int taken = 0;
	int found = payments_get(&ctx->db, charge, &pm);

	if (found <= 0) {
		http_resp_error(resp, found < 0 ? HTTP_500 : HTTP_404,
		    found < 0 ? "internal" : "not_found", found < 0 ? "try again later" : "no such payment");
		return;
	}
	if (pm.refunded) {
		http_resp_error(resp, HTTP_409, "already_refunded", "this payment was refunded before");
		return;
	}
	int tg = refund_stars(ctx, &pm, resp);
	if (tg == 0)
		return;
	if (tg < 0 || take_back(ctx, &pm, &taken) != 0) {
		http_resp_header(resp, "Retry-After", "60");
		http_resp_error(resp, HTTP_503, "try_again", tg < 0 ? "Telegram is unavailable" :
		    "the Stars were refunded; the credits were not taken yet: call again");
		return;
	}
	log_info("operator: payment %s refunded (%d stars, %d of %d credits taken back)", charge,
	    pm.stars, taken, pm.credits);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "refunded");
	cJSON_AddNumberToObject(o, "stars", pm.stars);
	cJSON_AddNumberToObject(o, "credits_taken", taken);
	cJSON_AddNumberToObject(o, "credits_not_taken", pm.credits - taken);
	http_resp_json(resp, HTTP_200, o);
}

/* A scrape from this machine (Prometheus beside it) needs no token.  A
 * front proxy on this machine must not pass /metrics on (README). */
static bool
local_caller(const struct http_req *req)
{
	const char *a = http_req_var(req, "REMOTE_ADDR");

	return a != NULL && (strcmp(a, "127.0.0.1") == 0 || strcmp(a, "::1") == 0);
}

static void
get_metrics(struct app_ctx *ctx, struct http_resp *resp)
{
	struct sbuf body = SBUF_INIT;

	metrics_render(&body);
	if (monitor_metrics(ctx, &body) != 0) {
		sbuf_free(&body);
		http_resp_error(resp, HTTP_503, "unavailable", "the database does not answer");
		return;
	}
	resp->status = HTTP_200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	sbuf_addn(&resp->body, body.p, body.len);
	sbuf_free(&body);
}

static void
get_overview(struct app_ctx *ctx, struct http_resp *resp)
{
	cJSON *o = monitor_overview(ctx);

	if (o == NULL)
		http_resp_error(resp, HTTP_503, "unavailable", "the database does not answer");
	else
		http_resp_json(resp, HTTP_200, o);
}

bool
operator_api_serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	struct http_caps caps;
	const char *pre = "/api/payments/", *suf = "/refund";
	size_t n = strlen(req->path), lp = strlen(pre), ls = strlen(suf);

	if (strcmp(req->path, "/metrics") == 0) {
		if (app_method_is(req, "GET", resp) && (local_caller(req) ||
		    app_require_admin(ctx, req, resp) == 0))
			get_metrics(ctx, resp);
	} else if (strcmp(req->path, "/api/overview") == 0) {
		if (app_method_is(req, "GET", resp) && app_require_admin(ctx, req, resp) == 0)
			get_overview(ctx, resp);
	} else if (http_path_match("/api/users/{id}", req->path, &caps)) {
		if (app_method_is(req, "GET", resp) && app_require_admin(ctx, req, resp) == 0)
			get_user(ctx, caps.v[0], resp);
	} else if (http_path_match("/api/users/{id}/credits", req->path, &caps)) {
		if (app_method_is(req, "POST", resp) && app_require_admin(ctx, req, resp) == 0)
			post_credits(ctx, caps.v[0], req, resp);
	} else if (n > lp + ls && strncmp(req->path, pre, lp) == 0 &&
	    strcmp(req->path + n - ls, suf) == 0) {
		char charge[CHARGE_MAX + 1];
		size_t cn = n - lp - ls;
		if (!app_method_is(req, "POST", resp) || app_require_admin(ctx, req, resp) != 0)
			return true;
		if (!charge_ok(req->path + lp, cn)) {
			http_resp_error(resp, HTTP_400, "bad_id", "not a Telegram charge id");
			return true;
		}
		memcpy(charge, req->path + lp, cn);
		charge[cn] = '\0';
		post_refund(ctx, charge, resp);
	} else {
		return operator_jobs_serve(ctx, req, resp) || operator_stats_serve(ctx, req, resp);
	}
	return true;
}
