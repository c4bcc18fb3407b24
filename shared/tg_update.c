/*
 * tg_update — declarative checks: each helper reads one field, validates
 * type and bounds, and records the first failure in why.
 */
#include "tg_update.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

struct pctx {
	char *why;
	size_t whylen;
	int bad;
};

static void
fail(struct pctx *p, const char *field, const char *what)
{
	if (!p->bad)
		snprintf(p->why, p->whylen, "%s: %s", field, what);
	p->bad = 1;
}

int
tg_json_id(const cJSON *item, int64_t *out)
{
	if (!cJSON_IsNumber(item))
		return -1;
	double v = item->valuedouble;
	if (!isfinite(v) || v != floor(v) || fabs(v) >= 9007199254740992.0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static const cJSON *
obj(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsObject(v) ? v : NULL;
}

/* Optional string of at most max bytes; required when req. */
static const char *
str(struct pctx *p, const cJSON *o, const char *k, size_t max, bool req)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v == NULL || cJSON_IsNull(v)) {
		if (req)
			fail(p, k, "missing");
		return NULL;
	}
	if (!cJSON_IsString(v)) {
		fail(p, k, "not a string");
		return NULL;
	}
	if (strlen(v->valuestring) > max) {
		fail(p, k, "too long");
		return NULL;
	}
	return v->valuestring;
}

static int64_t
id(struct pctx *p, const cJSON *o, const char *k, bool req)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	int64_t out = 0;

	if (v == NULL) {
		if (req)
			fail(p, k, "missing");
		return 0;
	}
	if (tg_json_id(v, &out) != 0)
		fail(p, k, "not an integer id");
	return out;
}

static int
dim(struct pctx *p, const cJSON *o, const char *k)
{
	int64_t v = id(p, o, k, false);

	if (v < 0 || v > 100000) {
		fail(p, k, "out of range");
		return 0;
	}
	return (int)v;
}

static void
parse_user(struct pctx *p, const cJSON *o, struct tg_user *u)
{
	u->id = id(p, o, "id", true);
	u->is_bot = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "is_bot"));
	u->first_name = str(p, o, "first_name", 1024, false);
	u->last_name = str(p, o, "last_name", 1024, false);
	u->username = str(p, o, "username", 64, false);
	u->language_code = str(p, o, "language_code", 35, false);
	if (u->id <= 0)
		fail(p, "from.id", "must be positive");
}

static void
parse_from_chat(struct pctx *p, const cJSON *m, struct tg_update *u)
{
	const cJSON *from = obj(m, "from"), *chat = obj(m, "chat");

	if (from != NULL) {
		u->has_from = true;
		parse_user(p, from, &u->from);
	}
	if (chat != NULL) {
		u->has_chat = true;
		u->chat_id = id(p, chat, "id", true);
		u->chat_type = str(p, chat, "type", 32, true);
	}
}

/* The largest PhotoSize by area (the array is not always sorted). */
static void
parse_photo(struct pctx *p, const cJSON *arr, struct tg_update *u)
{
	const cJSON *it;
	long long best = -1;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0 ||
	    cJSON_GetArraySize(arr) > 20) {
		fail(p, "photo", "not a PhotoSize array");
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		struct tg_file f = {0};
		if (!cJSON_IsObject(it)) {
			fail(p, "photo", "not a PhotoSize");
			return;
		}
		f.file_id = str(p, it, "file_id", 256, true);
		f.file_unique_id = str(p, it, "file_unique_id", 128, true);
		f.width = dim(p, it, "width");
		f.height = dim(p, it, "height");
		f.file_size = id(p, it, "file_size", false);
		f.mime_type = "image/jpeg";
		long long area = (long long)f.width * f.height;
		if (!p->bad && (area > best || (area == best && f.file_size > u->file.file_size))) {
			best = area;
			u->file = f;
		}
	}
	u->has_photo = !p->bad;
}

static void
parse_document(struct pctx *p, const cJSON *d, struct tg_update *u)
{
	const cJSON *th = obj(d, "thumbnail");

	if (th == NULL)
		th = obj(d, "thumb");
	u->file.file_id = str(p, d, "file_id", 256, true);
	u->file.file_unique_id = str(p, d, "file_unique_id", 128, true);
	u->file.file_name = str(p, d, "file_name", 1024, false);
	u->file.mime_type = str(p, d, "mime_type", 128, false);
	u->file.file_size = id(p, d, "file_size", false);
	/* A document has no size of its own; the thumbnail only hints at it. */
	u->file.width = u->file.height = 0;
	(void)th;
	u->has_document = !p->bad;
}

/* "/start@bot arg" -> command "start", arg "arg". */
static void
parse_command(struct tg_update *u, const char *bot)
{
	const char *t = u->text;
	size_t i = 1, n = 0;

	u->command_arg = "";
	if (t == NULL || t[0] != '/')
		return;
	while (t[i] && t[i] != ' ' && t[i] != '@' && t[i] != '\n' && n + 1 < sizeof(u->command)) {
		char c = t[i++];
		u->command[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	u->command[n] = '\0';
	if (t[i] == '@') {
		const char *at = t + i + 1;
		size_t l = strcspn(at, " \n");
		if (bot != NULL && *bot != '\0' && (strlen(bot) != l || strncasecmp(at, bot, l) != 0))
			u->command_for_other_bot = true;
		i += 1 + l;
	}
	while (t[i] == ' ' || t[i] == '\n')
		i++;
	u->command_arg = t + i;
}

/* The fields both payment objects have. */
static void
parse_payment(struct pctx *p, const cJSON *o, struct tg_update *u)
{
	struct tg_payment *pay = &u->payment;

	u->has_payment = true;
	pay->currency = str(p, o, "currency", 8, true);
	pay->total_amount = id(p, o, "total_amount", true);
	pay->payload = str(p, o, "invoice_payload", 128, true);
	if (pay->total_amount <= 0)
		fail(p, "total_amount", "must be positive");
}

static void
parse_message(struct pctx *p, const cJSON *m, struct tg_update *u, const char *bot)
{
	parse_from_chat(p, m, u);
	if (!u->has_chat)
		fail(p, "message.chat", "missing");
	u->message_id = id(p, m, "message_id", true);
	u->text = str(p, m, "text", 4096 * 4, false);
	u->caption = str(p, m, "caption", 1024 * 4, false);
	u->media_group_id = str(p, m, "media_group_id", 64, false);
	if (cJSON_HasObjectItem(m, "photo"))
		parse_photo(p, cJSON_GetObjectItemCaseSensitive(m, "photo"), u);
	else if (obj(m, "document") != NULL)
		parse_document(p, obj(m, "document"), u);
	u->has_sticker = cJSON_HasObjectItem(m, "sticker");
	u->has_other_media = cJSON_HasObjectItem(m, "video") || cJSON_HasObjectItem(m, "voice") ||
	    cJSON_HasObjectItem(m, "animation") || cJSON_HasObjectItem(m, "audio") ||
	    cJSON_HasObjectItem(m, "video_note");
	parse_command(u, bot);
	if (obj(m, "successful_payment") != NULL) {
		const cJSON *sp = obj(m, "successful_payment");
		parse_payment(p, sp, u);
		u->payment.charge_id = str(p, sp, "telegram_payment_charge_id", 256, true);
	}
}

static void
parse_callback(struct pctx *p, const cJSON *cq, struct tg_update *u)
{
	const cJSON *from = obj(cq, "from"), *m = obj(cq, "message");

	u->callback_id = str(p, cq, "id", 128, true);
	u->callback_data = str(p, cq, "data", 64, false);
	if (from == NULL)
		fail(p, "callback_query.from", "missing");
	else {
		u->has_from = true;
		parse_user(p, from, &u->from);
	}
	if (m != NULL) {
		const cJSON *chat = obj(m, "chat");
		const cJSON *date = cJSON_GetObjectItemCaseSensitive(m, "date");
		u->message_id = id(p, m, "message_id", true);
		if (chat != NULL) {
			u->has_chat = true;
			u->chat_id = id(p, chat, "id", true);
			u->chat_type = str(p, chat, "type", 32, false);
		}
		u->callback_inaccessible = cJSON_IsNumber(date) && date->valuedouble == 0;
		u->callback_text = !u->callback_inaccessible &&
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "text"));
		u->callback_photo = !u->callback_inaccessible &&
		    cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "photo"));
	} else {
		u->callback_inaccessible = true;
	}
}

static void
parse_member(struct pctx *p, const cJSON *mm, struct tg_update *u)
{
	const cJSON *nm = obj(mm, "new_chat_member");

	parse_from_chat(p, mm, u);
	u->member_status = nm ? str(p, nm, "status", 32, false) : NULL;
}

static void
parse_inline(struct pctx *p, const cJSON *iq, struct tg_update *u)
{
	const cJSON *from = obj(iq, "from");

	u->inline_id = str(p, iq, "id", 128, true);
	u->inline_query = str(p, iq, "query", 1024, false);
	u->inline_offset = str(p, iq, "offset", 64, false);
	if (from == NULL)
		fail(p, "inline_query.from", "missing");
	else {
		u->has_from = true;
		parse_user(p, from, &u->from);
	}
}

static void
parse_pre_checkout(struct pctx *p, const cJSON *q, struct tg_update *u)
{
	const cJSON *from = obj(q, "from");

	u->payment.query_id = str(p, q, "id", 128, true);
	parse_payment(p, q, u);
	if (from == NULL) {
		fail(p, "pre_checkout_query.from", "missing");
	} else {
		u->has_from = true;
		parse_user(p, from, &u->from);
	}
}

enum tg_parse_err
tg_update_parse(struct tg_update *u, const char *body, size_t len,
    const char *bot, char *why, size_t whylen)
{
	struct pctx p = {why, whylen, 0};
	const cJSON *v;

	memset(u, 0, sizeof(*u));
	u->update_id = -1; /* until a usable one is read */
	u->kind_name = "other";
	u->command_arg = "";
	if (!utf8_valid(body, len) || strlen(body) != len) {
		snprintf(why, whylen, "body is not valid UTF-8");
		return TG_PARSE_NOT_UTF8;
	}
	u->root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(u->root)) {
		snprintf(why, whylen, "body is not a JSON object");
		return TG_PARSE_NOT_JSON;
	}
	if (tg_json_id(cJSON_GetObjectItemCaseSensitive(u->root, "update_id"), &u->update_id) != 0 ||
	    u->update_id < 0) {
		snprintf(why, whylen, "update_id: missing or not a non-negative integer");
		return TG_PARSE_BAD_FIELD;
	}
	if ((v = obj(u->root, "message")) != NULL) {
		u->kind = TG_KIND_MESSAGE, u->kind_name = "message";
		parse_message(&p, v, u, bot);
	} else if ((v = obj(u->root, "edited_message")) != NULL) {
		u->kind = TG_KIND_EDITED_MESSAGE, u->kind_name = "edited_message";
		parse_from_chat(&p, v, u);
	} else if ((v = obj(u->root, "callback_query")) != NULL) {
		u->kind = TG_KIND_CALLBACK, u->kind_name = "callback_query";
		parse_callback(&p, v, u);
	} else if ((v = obj(u->root, "my_chat_member")) != NULL) {
		u->kind = TG_KIND_MY_CHAT_MEMBER, u->kind_name = "my_chat_member";
		parse_member(&p, v, u);
	} else if ((v = obj(u->root, "inline_query")) != NULL) {
		u->kind = TG_KIND_INLINE_QUERY, u->kind_name = "inline_query";
		parse_inline(&p, v, u);
	} else if ((v = obj(u->root, "pre_checkout_query")) != NULL) {
		u->kind = TG_KIND_PRE_CHECKOUT, u->kind_name = "pre_checkout_query";
		parse_pre_checkout(&p, v, u);
	}
	return p.bad ? TG_PARSE_BAD_FIELD : TG_PARSE_OK;
}

void
tg_update_free(struct tg_update *u)
{
	if (u == NULL)
		return;
	cJSON_Delete(u->root);
	u->root = NULL;
}
