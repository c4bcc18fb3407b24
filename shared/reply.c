#include "reply.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void
reply_init(struct reply *r)
{
	r->n = 0;
	r->chat_id = 0;
}

void
reply_free(struct reply *r)
{
	for (int i = 0; i < r->n; i++)
		cJSON_Delete(r->params[i]);
	r->n = 0;
}

void
reply_add(struct reply *r, const char *method, cJSON *params)
{
	if (r->n == REPLY_MAX) {
		log_error("reply: more than %d calls for one update; dropping %s", REPLY_MAX, method);
		cJSON_Delete(params);
		return;
	}
	r->method[r->n] = method;
	r->params[r->n++] = params;
}

cJSON *
reply_message_params(int64_t chat_id, const char *html, cJSON *kb)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, "chat_id", (double)chat_id);
	cJSON_AddStringToObject(p, "text", html);
	cJSON_AddStringToObject(p, "parse_mode", "HTML");
	cJSON_AddTrueToObject(p, "disable_web_page_preview");
	if (kb != NULL)
		cJSON_AddItemToObject(p, "reply_markup", kb);
	return p;
}

cJSON *
reply_photo_params(int64_t chat_id, const char *photo, const char *caption, cJSON *kb)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, "chat_id", (double)chat_id);
	cJSON_AddStringToObject(p, "photo", photo);
	cJSON_AddStringToObject(p, "caption", caption);
	if (kb != NULL)
		cJSON_AddItemToObject(p, "reply_markup", kb);
	return p;
}

static cJSON *
input_photo(const char *photo, const char *caption)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "type", "photo");
	cJSON_AddStringToObject(m, "media", photo);
	if (caption != NULL)
		cJSON_AddStringToObject(m, "caption", caption);
	return m;
}

cJSON *
reply_album_params(int64_t chat_id, const char *const *photos, int n, const char *caption)
{
	cJSON *p = cJSON_CreateObject(), *media;

	cJSON_AddNumberToObject(p, "chat_id", (double)chat_id);
	media = cJSON_AddArrayToObject(p, "media");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(media, input_photo(photos[i], i == 0 ? caption : NULL));
	return p;
}

cJSON *
reply_edit_photo_params(int64_t chat_id, int64_t message_id, const char *photo,
    const char *caption, cJSON *kb)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, "chat_id", (double)chat_id);
	cJSON_AddNumberToObject(p, "message_id", (double)message_id);
	cJSON_AddItemToObject(p, "media", input_photo(photo, caption));
	if (kb != NULL)
		cJSON_AddItemToObject(p, "reply_markup", kb);
	return p;
}

cJSON *
reply_inline_photo(const char *id, const char *file_id, const char *url)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddStringToObject(r, "type", "photo");
	cJSON_AddStringToObject(r, "id", id);
	if (file_id != NULL && file_id[0] != '\0') {
		cJSON_AddStringToObject(r, "photo_file_id", file_id);
	} else {
		cJSON_AddStringToObject(r, "photo_url", url);
		cJSON_AddStringToObject(r, "thumbnail_url", url);
	}
	return r;
}

void
reply_message(struct reply *r, int64_t chat_id, const char *html, cJSON *kb)
{
	r->chat_id = chat_id;
	reply_add(r, "sendMessage", reply_message_params(chat_id, html, kb));
}

cJSON *
reply_edit_params(int64_t chat_id, int64_t message_id, const char *html, cJSON *kb)
{
	cJSON *p = reply_message_params(chat_id, html, kb);

	cJSON_AddNumberToObject(p, "message_id", (double)message_id);
	return p;
}

void
reply_edit(struct reply *r, int64_t chat_id, int64_t message_id, const char *html,
    cJSON *kb)
{
	r->chat_id = chat_id;
	reply_add(r, "editMessageText", reply_edit_params(chat_id, message_id, html, kb));
}

void
reply_answer_callback(struct reply *r, const char *callback_id, const char *text)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "callback_query_id", callback_id);
	if (text != NULL)
		cJSON_AddStringToObject(p, "text", text);
	reply_add(r, "answerCallbackQuery", p);
}

static bool
is_answer(const char *method)
{
	return strcmp(method, "answerCallbackQuery") == 0;
}

int
reply_defer_answers(struct reply *r, int (*defer)(void *ud, const char *method, cJSON *params),
    void *ud)
{
	int shown = 0, kept = 0, moved = 0;

	for (int i = 0; i < r->n; i++)
		shown += !is_answer(r->method[i]);
	if (shown == 0)
		return 0; /* the answer itself rides in the webhook answer */
	for (int i = 0; i < r->n; i++) {
		if (!is_answer(r->method[i])) {
			r->method[kept] = r->method[i];
			r->params[kept++] = r->params[i];
		} else if (defer(ud, r->method[i], r->params[i]) == 0) {
			moved++;
		} else {
			for (int k = i + 1; k < r->n; k++) { /* keep the rest to be freed */
				r->method[kept] = r->method[k];
				r->params[kept++] = r->params[k];
			}
			r->n = kept;
			return -1;
		}
	}
	r->n = kept;
	return moved;
}

/* Performs the first n queued calls, in order, through api. */
static void
send_first(struct reply *r, struct tg_api *api, int n)
{
	for (int i = 0; i < n; i++) {
		struct tg_reply tr;
		tg_call(api, r->method[i], r->params[i], &tr);
		tg_reply_free(&tr);
	}
}

cJSON *
reply_flush(struct reply *r, struct tg_api *api)
{
	cJSON *last = NULL;

	send_first(r, api, r->n - 1);
	if (r->n > 0) {
		last = r->params[r->n - 1];
		r->params[r->n - 1] = NULL;
		cJSON_AddStringToObject(last, "method", r->method[r->n - 1]);
	}
	reply_free(r);
	return last;
}

void
reply_send_all(struct reply *r, struct tg_api *api)
{
	send_first(r, api, r->n);
	reply_free(r);
}
