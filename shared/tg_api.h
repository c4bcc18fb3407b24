/*
 * tg_api — the Telegram Bot API client (libcurl, one reused handle per
 * process so connections are kept alive).  Every call is
 *   POST {TELEGRAM_API_BASE}/bot{TOKEN}/{method}  with a JSON body
 * and its answer is classified so callers decide what to do without parsing:
 * OK, RETRY (network, 5xx, 429 with retry_after), BLOCKED (403: stop writing
 * to this user), BAD (other 4xx: our fault, do not retry).  "message is not
 * modified" counts as OK.  The URL holds the token: it is never logged.
 */
#ifndef AISHA_TG_API_H
#define AISHA_TG_API_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "http_out.h"
#include "sbuf.h"

enum tg_result { TG_OK, TG_RETRY, TG_BLOCKED, TG_BAD, TG_NO_TOKEN };

struct tg_reply {
	enum tg_result res;
	long http;        /* HTTP status, 0 when none came */
	int retry_after;  /* seconds, from a 429 */
	char description[200];
	cJSON *result;    /* "result" of an OK answer, owned; may be NULL */
};

struct tg_api;

struct tg_api *tg_api_new(const struct config *cfg);
void tg_api_free(struct tg_api *api);

/* Calls method with params (not consumed).  Fills out; returns out->res. */
enum tg_result tg_call(struct tg_api *api, const char *method,
    const cJSON *params, struct tg_reply *out);
void tg_reply_free(struct tg_reply *r);

/* A call made without waiting for it (the outbox's sender): many in flight
 * on one http_flow, each taken back as it finishes. */
struct tg_flight {
	const char *method;
	const cJSON *params;   /* the caller's, kept until the call finishes */
	void *tag;             /* the caller's */
	struct tg_reply reply; /* filled when finished; caller frees with tg_reply_free */
	/* private */
	struct http_out h;
	char *url, *body;
};
/* Starts t on f: 0, or -1 when it could not start (t->reply says why, and
 * it is finished already). */
int tg_flight_start(struct tg_api *api, struct http_flow *f, struct tg_flight *t);
/* A finished call with its reply classified (logged when not OK), waiting
 * up to timeout_ms for one; NULL when none finished by then. */
struct tg_flight *tg_flight_next(struct http_flow *f, int timeout_ms);
/* Classifies a finished call's answer and frees its request (done by
 * tg_flight_next; exposed for a call that failed to start). */
void tg_flight_done(struct tg_flight *t);

/*
 * Calls method as multipart/form-data with the file's bytes in file_field
 * (what sendDocument needs for anything but a GIF, PDF or ZIP URL): each
 * member of fields becomes a form field (strings as they are, anything else
 * as JSON).  Fills out; returns out->res.
 */
enum tg_result tg_upload(struct tg_api *api, const char *method, const cJSON *fields,
    const char *file_field, const char *file_name, const char *content_type,
    const char *data, size_t len, struct tg_reply *out);

/* GET {base}/file/bot{TOKEN}/{file_path} written to out as it arrives (no
 * copy in memory), at most max bytes. */
enum tg_result tg_download(struct tg_api *api, const char *file_path,
    size_t max, FILE *out);

/* Classifies an answer (exposed for unit tests). */
void tg_classify(long http, const char *body, struct tg_reply *out);

#endif
