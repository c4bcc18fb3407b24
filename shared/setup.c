#include "setup.h"

#include <stdio.h>

#include "bot.h"
#include "log.h"
#include "sbuf.h"
#include "texts.h"
#include "tg_api.h"

static int
call(struct app_ctx *ctx, const char *method, cJSON *params)
{
	struct tg_reply r;
	enum tg_result res = tg_call(ctx->tg, method, params, &r);

	if (res == TG_OK)
		printf("%s: ok\n", method);
	else
		fprintf(stderr, "%s failed: HTTP %ld %s\n", method, r.http, r.description);
	tg_reply_free(&r);
	cJSON_Delete(params);
	return res == TG_OK ? 0 : -1;
}

int
setup_webhook(struct app_ctx *ctx)
{
	/* pre_checkout_query: without it every Stars checkout times out */
	static const char *const updates[] = {"message", "edited_message",
	    "callback_query", "my_chat_member", "inline_query", "pre_checkout_query"};
	cJSON *p = cJSON_CreateObject();
	struct sbuf url = SBUF_INIT;

	sbuf_addf(&url, "%s/telegram/webhook", ctx->cfg.public_base_url);
	cJSON_AddStringToObject(p, "url", url.p);
	cJSON_AddStringToObject(p, "secret_token", ctx->cfg.tg_webhook_secret);
	cJSON_AddItemToObject(p, "allowed_updates", cJSON_CreateStringArray(updates,
	    (int)(sizeof(updates) / sizeof(updates[0]))));
	cJSON_AddNumberToObject(p, "max_connections", 40);
	printf("webhook url: %s\n", url.p);
	sbuf_free(&url);
	return call(ctx, "setWebhook", p);
}

/* The bot's command table (bot.c), described in language l. */
static cJSON *
commands_for(enum lang l)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < bot_commands_count; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "command", bot_commands[i].name);
		cJSON_AddStringToObject(c, "description", text_get(l, bot_commands[i].desc));
		cJSON_AddItemToArray(arr, c);
	}
	return arr;
}

int
setup_commands(struct app_ctx *ctx)
{
	int rc = 0;

	for (int i = -1; i < LANG__COUNT; i++) {
		cJSON *p = cJSON_CreateObject();
		enum lang l = i < 0 ? LANG_EN : (enum lang)i;
		cJSON_AddItemToObject(p, "commands", commands_for(l));
		if (i >= 0)
			cJSON_AddStringToObject(p, "language_code", lang_code(l));
		rc |= call(ctx, "setMyCommands", p);
	}
	return rc;
}

int
setup_get_me(struct app_ctx *ctx)
{
	struct tg_reply r;

	if (tg_call(ctx->tg, "getMe", NULL, &r) != TG_OK) {
		fprintf(stderr, "getMe failed: HTTP %ld %s\n", r.http, r.description);
		tg_reply_free(&r);
		return -1;
	}
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(r.result, "username");
	printf("bot: @%s\n", cJSON_IsString(u) ? u->valuestring : "?");
	tg_reply_free(&r);
	return 0;
}
