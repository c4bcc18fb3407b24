/*
 * reply — the Bot API calls an update produces, collected while its
 * transaction runs and performed only after it commits.
 *
 * reply_flush() puts the last call into the webhook answer (Telegram performs
 * it after our answer, so it still comes last and costs no outbound request)
 * and makes the others, in order, through tg_api.  A call whose result we
 * need (a message_id to edit later) is made with tg_api directly instead.
 */
#ifndef AISHA_REPLY_H
#define AISHA_REPLY_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "tg_api.h"

#define REPLY_MAX 8

struct reply {
	const char *method[REPLY_MAX];
	cJSON *params[REPLY_MAX];
	int n;
	int64_t chat_id; /* for logs */
};

void reply_init(struct reply *r);
void reply_free(struct reply *r);
/* Queues a call; takes ownership of params. */
void reply_add(struct reply *r, const char *method, cJSON *params);

/* HTML text; kb (owned) may be NULL. */
void reply_message(struct reply *r, int64_t chat_id, const char *html, cJSON *kb);
void reply_edit(struct reply *r, int64_t chat_id, int64_t message_id,
    const char *html, cJSON *kb);
/* text may be NULL (just stop the spinner). */
void reply_answer_callback(struct reply *r, const char *callback_id, const char *text);

/* Params for sendMessage / editMessageText (HTML text; kb owned, may be
 * NULL), for calls made outside a turn's reply. */
cJSON *reply_message_params(int64_t chat_id, const char *html, cJSON *kb);
cJSON *reply_edit_params(int64_t chat_id, int64_t message_id, const char *html, cJSON *kb);

/* Photos (a URL or a file_id; captions are plain text; kb owned, may be NULL):
 * sendPhoto, sendMediaGroup (n photos, the caption on the first; an album
 * cannot carry buttons), editMessageMedia, and an InlineQueryResultPhoto
 * (by file_id when Telegram gave one, else by URL). */
cJSON *reply_photo_params(int64_t chat_id, const char *photo, const char *caption, cJSON *kb);
cJSON *reply_album_params(int64_t chat_id, const char *const *photos, int n,
    const char *caption);
cJSON *reply_edit_photo_params(int64_t chat_id, int64_t message_id, const char *photo,
    const char *caption, cJSON *kb);
cJSON *reply_inline_photo(const char *id, const char *file_id, const char *url);

/*
 * Before the turn commits: when the turn also shows something, its callback
 * query answers are handed to defer (which takes params; 0 or -1) — the
 * outbox sends them, and the message rides in the webhook answer.  Returns
 * how many were handed over, or -1.
 */
int reply_defer_answers(struct reply *r, int (*defer)(void *ud, const char *method,
    cJSON *params), void *ud);

/*
 * Performs all but the last call through api and returns the last one as a
 * webhook answer body ({"method":…,…}; caller frees) or NULL when none.
 */
cJSON *reply_flush(struct reply *r, struct tg_api *api);
/* Performs every call through api now (nothing left for the webhook answer):
 * for when later work must come after the replies. */
void reply_send_all(struct reply *r, struct tg_api *api);

#endif
