/*
 * tg-update — POST /telegram/webhook.
 *
 * Authenticates Telegram by the secret header (constant time), parses and
 * validates the Update, and hands it to bot_process(); the reply rides back
 * in the webhook answer.  Anything authentic that was stored, deliberately
 * ignored, or failed for good (recorded in failed_updates) gets 2xx; only a
 * transient failure gets 5xx (Telegram delivers it again).  A body that is
 * not an update at all (not JSON, no update_id) gets 400.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "bot.h"
#include "updates.h"
#include "log.h"
#include "metrics.h"
#include "setup.h"
#include "tg_update.h"

static const char usage[] =
    "usage: tg-update [--set-webhook | --set-commands | --get-me | --check-config]\n"
    "\n"
    "Serves POST /telegram/webhook as FastCGI (spawned by lighttpd) or CGI.\n"
    "  --set-webhook   register PUBLIC_BASE_URL/telegram/webhook with Telegram\n"
    "                  (secret_token, allowed_updates)\n"
    "  --set-commands  publish the command list in Russian and English\n"
    "  --get-me        check the bot token (getMe)\n"
    "  --check-config  print the configuration (secrets shown as set/unset)\n";

/* A permanent failure: kept in failed_updates and answered 200 (with the
 * apology, when there is one), so Telegram moves on to the next update. */
static void
record_failed(struct app_ctx *ctx, int64_t update_id, const char *kind, int64_t telegram_id,
    const char *why, const struct http_req *req, struct http_resp *resp, cJSON *answer)
{
	if (updates_record_failed(&ctx->db, update_id, kind, telegram_id, why, req->body,
	    req->body_len) != 0) {
		cJSON_Delete(answer);
		http_resp_error(resp, HTTP_500, "internal", "try again later");
		return;
	}
	log_warn("update %lld recorded as failed", (long long)update_id);
	http_resp_json(resp, HTTP_200, answer ? answer : cJSON_Parse("{\"ok\":true}"));
}

static void
serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	struct tg_update u;
	char why[160];
	cJSON *answer = NULL;

	if (strcmp(req->path, "/telegram/webhook") != 0) {
		http_resp_error(resp, HTTP_404, "not_found", "no such route");
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		http_resp_header(resp, "Allow", "POST");
		http_resp_error(resp, HTTP_405, "method_not_allowed", "use POST");
		return;
	}
	if (!auth_equal(http_req_header(req, "X-Telegram-Bot-Api-Secret-Token"),
	    ctx->cfg.tg_webhook_secret)) {
		log_warn("webhook call with a missing or wrong secret token");
		metrics_inc("aisha_updates_total", "kind", "unknown", "outcome", "unauthorized",
		    NULL);
		http_resp_error(resp, HTTP_401, "unauthorized", "bad secret token");
		return;
	}
	enum tg_parse_err pe = tg_update_parse(&u, req->body, req->body_len,
	    ctx->cfg.tg_bot_username, why, sizeof(why));
	if (pe == TG_PARSE_BAD_FIELD && u.update_id >= 0) {
		/* An update (it has an update_id) with a field we refuse: it
		 * would be refused the same way on every delivery.  Recorded,
		 * answered 200. */
		log_warn("update %lld refused: %s", (long long)u.update_id, why);
		metrics_inc("aisha_updates_total", "kind", u.kind_name, "outcome", "refused", NULL);
		record_failed(ctx, u.update_id, u.kind_name, 0, why, req, resp, NULL);
	} else if (pe != TG_PARSE_OK) {
		log_warn("malformed update: %s", why);
		metrics_inc("aisha_updates_total", "kind", "unknown", "outcome", "malformed", NULL);
		http_resp_error(resp, HTTP_400, "bad_update", why);
	} else {
		switch (bot_process(ctx, &u, &answer, why, sizeof(why))) {
		case BOT_DONE:
			http_resp_json(resp, HTTP_200,
			    answer ? answer : cJSON_Parse("{\"ok\":true}"));
			break;
		case BOT_RETRY:
			cJSON_Delete(answer);
			http_resp_error(resp, HTTP_500, "internal", "try again later");
			break;
		case BOT_FAILED:
			record_failed(ctx, u.update_id, u.kind_name, u.has_from ? u.from.id : 0, why,
			    req, resp, answer);
			break;
		}
	}
	tg_update_free(&u);
}

static int
cli(struct app_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[0], "--set-webhook") == 0)
		return setup_webhook(ctx) == 0 ? 0 : 1;
	if (strcmp(argv[0], "--set-commands") == 0)
		return setup_commands(ctx) == 0 ? 0 : 1;
	if (strcmp(argv[0], "--get-me") == 0)
		return setup_get_me(ctx) == 0 ? 0 : 1;
	fputs(usage, stderr);
	return 2;
}

static const char *const required[] = {"DATABASE_URL", "TELEGRAM_WEBHOOK_SECRET", NULL};

static const struct app tg_update_app = {
	.name = "tg-update",
	.usage = usage,
	.max_body = 1 << 20,
	.required = required,
	.serve = serve,
	.cli = cli,
};

int
main(int argc, char **argv)
{
	return app_main(&tg_update_app, argc, argv);
}
