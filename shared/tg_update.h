/*
 * tg_update — turns a Telegram Update body into a small checked struct.
 *
 * Everything a handler reads was validated here: the body is UTF-8, ids are
 * integral and within 2^53 (read from valuedouble, never valueint), strings
 * have bounded lengths, the largest PhotoSize is chosen by area, commands are
 * split from their @botname and argument.  Handlers never touch cJSON.
 * String fields point into the parsed tree and live until tg_update_free().
 */
#ifndef AISHA_TG_UPDATE_H
#define AISHA_TG_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum tg_kind {
	TG_KIND_OTHER,          /* a type we do not handle: answered 200, ignored */
	TG_KIND_MESSAGE,
	TG_KIND_EDITED_MESSAGE,
	TG_KIND_CALLBACK,
	TG_KIND_MY_CHAT_MEMBER,
	TG_KIND_INLINE_QUERY,
	TG_KIND_PRE_CHECKOUT,   /* pre_checkout_query: answer within 10 s */
};

/* A Stars payment, as pre_checkout_query and successful_payment carry it. */
struct tg_payment {
	const char *currency;      /* "XTR" */
	int64_t total_amount;      /* Stars */
	const char *payload;       /* our invoice payload, up to 128 bytes */
	const char *charge_id;     /* telegram_payment_charge_id (successful_payment) */
	const char *query_id;      /* the pre_checkout_query's id */
};

struct tg_user {
	int64_t id;
	bool is_bot;
	const char *first_name, *last_name, *username, *language_code;
};

struct tg_file {
	const char *file_id, *file_unique_id;
	const char *mime_type, *file_name; /* documents only */
	int width, height;                 /* 0 when unknown */
	int64_t file_size;                 /* 0 when unknown */
};

struct tg_update {
	cJSON *root;
	int64_t update_id;
	enum tg_kind kind;
	const char *kind_name;

	bool has_from;
	struct tg_user from;
	bool has_chat;
	int64_t chat_id;
	const char *chat_type; /* private, group, supergroup, channel */
	int64_t message_id;

	const char *text, *caption, *media_group_id;
	char command[33];      /* "start" for "/start@bot arg", "" when none */
	const char *command_arg; /* "arg", "" when none */
	bool command_for_other_bot;

	bool has_photo;        /* the largest PhotoSize */
	bool has_document;
	bool has_sticker;
	bool has_other_media;  /* video, voice, … */
	struct tg_file file;   /* the photo or document */

	const char *callback_id, *callback_data;
	bool callback_inaccessible; /* message too old: do not edit it */
	bool callback_text;  /* on an accessible text message: editMessageText works */
	bool callback_photo; /* on an accessible photo: editMessageMedia works */

	const char *member_status; /* my_chat_member.new_chat_member.status */
	const char *inline_id, *inline_query, *inline_offset;

	bool has_payment;      /* a message's successful_payment, or a pre_checkout_query */
	struct tg_payment payment;
};

enum tg_parse_err {
	TG_PARSE_OK,
	TG_PARSE_NOT_UTF8,
	TG_PARSE_NOT_JSON,
	TG_PARSE_BAD_FIELD, /* a field of the wrong type or out of range */
};

/* bot_username may be NULL or "" (then any @mention counts as ours).  When
 * the result is not TG_PARSE_OK, u->update_id is still the update's when it
 * had a usable one (-1 otherwise): a refused field of an update. */
enum tg_parse_err tg_update_parse(struct tg_update *u, const char *body,
    size_t len, const char *bot_username, char *why, size_t whylen);
void tg_update_free(struct tg_update *u);

/* An id from a JSON number: integral, |v| < 2^53.  -1 when not. */
int tg_json_id(const cJSON *item, int64_t *out);

#endif
