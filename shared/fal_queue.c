#include "fal_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_out.h"
#include "log.h"
#include "metrics.h"
#include "utf8.h"

#define FAL_POLL_CONCURRENCY 64

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* FAL's reason for refusing, from its answer. */
static void
refusal(const struct http_out *r, char *why, size_t whylen)
{
	struct fal_result fr;
	cJSON *doc = cJSON_Parse(sbuf_str(&r->resp));

	fal_classify_result(r->status, doc, &fr);
	cJSON_Delete(doc);
	snprintf(why, whylen, "FAL refused the job (HTTP %ld): %s", r->status, fr.error);
	utf8_clean(why);
}

static bool
retryable(const struct http_out *r)
{
	return r->failed || r->status < 200 || r->status == 408 || r->status == 429 ||
	    r->status >= 500;
}

enum fal_submit_result
fal_queue_submit(struct app_ctx *ctx, const char *endpoint, const cJSON *input,
    const char *webhook, struct fal_submitted *sub, cJSON **answer, char *why, size_t whylen)
{
	struct sbuf url = SBUF_INIT, auth = SBUF_INIT;
	char *enc = http_out_escape(webhook);
	char *body = cJSON_PrintUnformatted(input);
	enum fal_submit_result res = FAL_UNAVAILABLE;

	memset(sub, 0, sizeof(*sub));
	sbuf_addf(&url, "%s/%s?fal_webhook=%s", ctx->cfg.fal_queue_base, endpoint, enc);
	sbuf_addf(&auth, "Key %s", ctx->cfg.fal_api_key);
	for (int i = 0; i < FAL_SUBMIT_TRIES && res == FAL_UNAVAILABLE; i++) {
		struct http_out r;
		if (i > 0)
			sleep_ms(500L << (i - 1));
		http_out_init(&r, "POST", url.p);
		r.auth = auth.p;
		r.body = body;
		r.timeout_ms = 30000;
		http_out_one(&r);
		bool again = retryable(&r);
		if (!again && r.status < 300) {
			if (fal_parse_submit(ctx->cfg.fal_queue_base, endpoint, sbuf_str(&r.resp),
			    sub) == 0) {
				if (answer != NULL)
					*answer = cJSON_Parse(sbuf_str(&r.resp));
				res = FAL_SUBMITTED;
			} else {
				snprintf(why, whylen, "FAL's answer has no request_id");
			}
		} else if (!again) {
			refusal(&r, why, whylen);
			res = FAL_REFUSED;
		} else {
			if (r.failed)
				snprintf(why, whylen, "FAL unavailable: %s", r.error);
			else
				snprintf(why, whylen, "FAL unavailable: HTTP %ld", r.status);
			log_warn("submit to %s, try %d: %s", endpoint, i + 1, why);
		}
		http_out_free(&r);
	}
	metrics_inc("aisha_fal_submits_total", "endpoint", endpoint, "result",
	    res == FAL_SUBMITTED ? "submitted" : res == FAL_REFUSED ? "refused" : "unavailable",
	    NULL);
	cJSON_free(body);
	free(enc);
	sbuf_free(&url);
	sbuf_free(&auth);
	return res;
}

void
fal_queue_cancel(struct app_ctx *ctx, const char *status_url)
{
	struct sbuf url = SBUF_INIT, auth = SBUF_INIT;
	size_t n = strlen(status_url);
	struct http_out r;

	if (n < 7 || strcmp(status_url + n - 7, "/status") != 0)
		return;
	sbuf_addf(&url, "%.*s/cancel", (int)(n - 7), status_url);
	sbuf_addf(&auth, "Key %s", ctx->cfg.fal_api_key);
	http_out_init(&r, "PUT", url.p);
	r.auth = auth.p;
	r.timeout_ms = 10000;
	http_out_one(&r);
	log_info("FAL cancel %s: %ld %s", url.p, r.status, r.failed ? r.error : "");
	http_out_free(&r);
	sbuf_free(&url);
	sbuf_free(&auth);
}

/* Step one: every status at once; COMPLETED ones get their result URL. */
static void
poll_statuses(const char *auth, struct fal_poll *ps, size_t n, bool logs)
{
	struct http_out *hs = xcalloc(n ? n : 1, sizeof(*hs));
	struct sbuf *urls = xcalloc(n ? n : 1, sizeof(*urls));

	for (size_t i = 0; i < n; i++) {
		sbuf_addf(&urls[i], "%s%s", ps[i].status_url, !logs ? "" :
		    strchr(ps[i].status_url, '?') ? "&logs=1" : "?logs=1");
		http_out_init(&hs[i], "GET", urls[i].p);
		hs[i].auth = auth;
	}
	http_out_many(hs, n, FAL_POLL_CONCURRENCY);
	for (size_t i = 0; i < n; i++) {
		char st[32];
		if (hs[i].failed || hs[i].status < 200 || hs[i].status >= 300) {
			log_warn("status check failed (%ld %s)", hs[i].status, hs[i].error);
			ps[i].state = FAL_POLL_NO_ANSWER;
		} else {
			fal_parse_status(sbuf_str(&hs[i].resp), st, sizeof(st), &ps[i].progress,
			    &ps[i].logs);
			ps[i].state = strcmp(st, "COMPLETED") == 0 ? FAL_POLL_ENDED : FAL_POLL_RUNNING;
			ps[i].running = strcmp(st, "IN_PROGRESS") == 0;
		}
		http_out_free(&hs[i]);
		sbuf_free(&urls[i]);
	}
	free(hs);
	free(urls);
}

/* Step two: the result of every COMPLETED request at once. */
static void
poll_results(const char *auth, struct fal_poll *ps, size_t n)
{
	struct http_out *rs = xcalloc(n ? n : 1, sizeof(*rs));
	size_t *at = xcalloc(n ? n : 1, sizeof(*at)), nr = 0;

	for (size_t i = 0; i < n; i++) {
		if (ps[i].state != FAL_POLL_ENDED)
			continue;
		if (ps[i].response_url == NULL || ps[i].response_url[0] == '\0') {
			ps[i].state = FAL_POLL_NO_ANSWER;
			continue;
		}
		http_out_init(&rs[nr], "GET", ps[i].response_url);
		rs[nr].auth = auth;
		at[nr++] = i;
	}
	http_out_many(rs, nr, FAL_POLL_CONCURRENCY);
	for (size_t k = 0; k < nr; k++) {
		struct fal_poll *p = &ps[at[k]];
		if (rs[k].failed || rs[k].status == 0 || rs[k].status == 429) {
			log_warn("result fetch failed (%ld %s); next pass", rs[k].status, rs[k].error);
			p->state = FAL_POLL_NO_ANSWER;
		} else {
			p->result_status = rs[k].status;
			p->result = cJSON_Parse(sbuf_str(&rs[k].resp));
		}
		http_out_free(&rs[k]);
	}
	free(rs);
	free(at);
}

void
fal_queue_poll(struct app_ctx *ctx, struct fal_poll *ps, size_t n, bool logs)
{
	struct sbuf auth = SBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		ps[i].state = FAL_POLL_NO_ANSWER;
		ps[i].progress = -1;
		ps[i].result_status = 0;
		ps[i].result = NULL;
	}
	sbuf_addf(&auth, "Key %s", ctx->cfg.fal_api_key);
	poll_statuses(auth.p, ps, n, logs);
	poll_results(auth.p, ps, n);
	sbuf_free(&auth);
}

void
fal_queue_poll_free(struct fal_poll *p)
{
	if (p == NULL)
		return;
	sbuf_free(&p->logs);
	cJSON_Delete(p->result);
	p->result = NULL;
}
