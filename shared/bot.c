/*
 * bot — dispatch by update kind, command and callback action.  Handlers only
 * touch the database through the modules that own the tables and only talk
 * to Telegram through t->out.
 */
#include "bot.h"

#include <string.h>

#include "callback.h"
#include "keyboard.h"
#include "log.h"
#include "sbuf.h"
#include "texts.h"

static struct db_stmt st_claim = DB_STMT("tg_updates_claim",
    "INSERT INTO tg_updates (update_id, kind, telegram_id) VALUES ($1, $2, $3)"
    " ON CONFLICT (update_id) DO NOTHING RETURNING 1");

static struct db_stmt st_group_notice = DB_STMT("group_notice_claim",
    "INSERT INTO group_notices (chat_id) VALUES ($1)"
    " ON CONFLICT (chat_id) DO NOTHING RETURNING 1");

static const char *
tt(const struct bot_turn *t, enum text_id id)
{
	return text_get(t->user.lang, id);
}

void
bot_send_menu(struct bot_turn *t, bool with_welcome)
{
	struct sbuf s = SBUF_INIT;
	const char *name = t->u->from.first_name;

	if (with_welcome) {
		struct sbuf esc = SBUF_INIT;
		sbuf_add_html(&esc, name && *name ? name : "👋");
		sbuf_addf(&s, tt(t, T_WELCOME), sbuf_str(&esc));
		sbuf_add(&s, "\n\n");
		sbuf_free(&esc);
	}
	sbuf_add(&s, tt(t, T_MENU));
	reply_message(&t->out, t->u->chat_id, sbuf_str(&s), kb_main_menu(t->user.lang));
	sbuf_free(&s);
}

static void
send_text(struct bot_turn *t, enum text_id id)
{
	reply_message(&t->out, t->u->chat_id, tt(t, id), NULL);
}

static cJSON *
kb_languages(void)
{
	cJSON *kb = kb_new();

	kb_button(kb, "🇷🇺 Русский", CB_LANG, 0, 0);
	kb_button(kb, "🇬🇧 English", CB_LANG, 1, 0);
	return kb;
}

/* --- messages ------------------------------------------------------------ */

static int
on_command(struct bot_turn *t)
{
	const char *c = t->u->command;

	if (strcmp(c, "start") == 0) {
		bot_send_menu(t, true);
	} else if (strcmp(c, "help") == 0) {
		reply_message(&t->out, t->u->chat_id, tt(t, T_HELP), kb_main_menu(t->user.lang));
	} else if (strcmp(c, "language") == 0) {
		reply_message(&t->out, t->u->chat_id, tt(t, T_LANG_CHOOSE), kb_languages());
	} else if (strcmp(c, "cancel") == 0) {
		send_text(t, T_NOTHING_TO_CANCEL);
		bot_send_menu(t, false);
	} else {
		send_text(t, T_USE_MENU);
	}
	return 0;
}

static int
on_group_message(struct bot_turn *t)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, t->u->chat_id);
	PGresult *r = db_run(&t->ctx->db, &st_group_notice, &p);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		t->user.lang = lang_from_code(t->u->from.language_code);
		send_text(t, T_PRIVATE_ONLY);
	}
	PQclear(r);
	return 0;
}

static int
on_message(struct bot_turn *t)
{
	const struct tg_update *u = t->u;

	if (!u->has_from || u->from.is_bot || !u->has_chat)
		return 0;
	if (u->chat_type == NULL || strcmp(u->chat_type, "private") != 0)
		return on_group_message(t);
	if (users_upsert(&t->ctx->db, &u->from, &t->user) != 0)
		return -1;
	if (u->command[0] != '\0' && !u->command_for_other_bot)
		return on_command(t);
	send_text(t, T_USE_MENU);
	return 0;
}

/* --- buttons ------------------------------------------------------------- */

static int
on_callback(struct bot_turn *t)
{
	const struct tg_update *u = t->u;
	struct cb cb;

	if (users_upsert(&t->ctx->db, &u->from, &t->user) != 0)
		return -1;
	enum cb_action a = cb_decode(u->callback_data, &cb);
	if (a == CB_INVALID || a == CB_STALE || !u->has_chat) {
		log_info("callback: %s data from user %lld", a == CB_STALE ? "stale" : "invalid",
		    (long long)u->from.id);
		reply_answer_callback(&t->out, u->callback_id, tt(t, T_STALE_BUTTON));
		if (u->has_chat)
			bot_send_menu(t, false);
		return 0;
	}
	switch (a) {
	case CB_MENU:
		reply_answer_callback(&t->out, u->callback_id, NULL);
		bot_send_menu(t, false);
		break;
	case CB_HELP:
		reply_answer_callback(&t->out, u->callback_id, NULL);
		reply_message(&t->out, u->chat_id, tt(t, T_HELP), kb_main_menu(t->user.lang));
		break;
	case CB_LANG:
		if (cb.n[0] > 1) {
			reply_answer_callback(&t->out, u->callback_id, tt(t, T_STALE_BUTTON));
			break;
		}
		t->user.lang = cb.n[0] == 1 ? LANG_EN : LANG_RU;
		if (users_set_lang(&t->ctx->db, t->user.id, t->user.lang) != 0)
			return -1;
		reply_answer_callback(&t->out, u->callback_id, tt(t, T_LANG_SET));
		bot_send_menu(t, false);
		break;
	default:
		reply_answer_callback(&t->out, u->callback_id, tt(t, T_SOON));
		break;
	}
	return 0;
}

static int
on_member(struct bot_turn *t)
{
	const struct tg_update *u = t->u;

	if (u->member_status == NULL || !u->has_from || u->chat_type == NULL ||
	    strcmp(u->chat_type, "private") != 0)
		return 0;
	if (strcmp(u->member_status, "kicked") == 0) {
		log_info("user %lld blocked the bot", (long long)u->from.id);
		return users_mark_blocked(&t->ctx->db, u->from.id);
	}
	return 0;
}

static int
dispatch(struct bot_turn *t)
{
	switch (t->u->kind) {
	case TG_KIND_MESSAGE:
		return on_message(t);
	case TG_KIND_CALLBACK:
		return on_callback(t);
	case TG_KIND_MY_CHAT_MEMBER:
		return on_member(t);
	case TG_KIND_EDITED_MESSAGE:
	case TG_KIND_INLINE_QUERY:
	case TG_KIND_OTHER:
		break;
	}
	return 0;
}

/* 1 when this delivery is the first of its update_id, 0 repeat, -1 error. */
static int
claim_update(struct db *db, const struct tg_update *u)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, u->update_id);
	db_p_str(&p, u->kind_name);
	if (u->has_from)
		db_p_i64(&p, u->from.id);
	else
		db_p_null(&p);
	PGresult *r = db_run(db, &st_claim, &p);
	if (r == NULL)
		return -1;
	int first = PQntuples(r) == 1;
	PQclear(r);
	return first;
}

int
bot_process(struct app_ctx *ctx, const struct tg_update *u, cJSON **answer)
{
	struct bot_turn t;
	int rc = -1;

	*answer = NULL;
	memset(&t, 0, sizeof(t));
	t.ctx = ctx;
	t.u = u;
	reply_init(&t.out);
	log_set_ctx("req=%s upd=%lld user=%lld", ctx->req_id, (long long)u->update_id,
	    (long long)u->from.id);
	if (db_begin(&ctx->db) != 0)
		goto out;
	int first = claim_update(&ctx->db, u);
	if (first < 0)
		goto fail;
	if (first == 0) {
		log_info("duplicate delivery of %s ignored", u->kind_name);
		if (db_commit(&ctx->db) != 0)
			goto out;
		rc = 0;
		goto out;
	}
	if (dispatch(&t) != 0)
		goto fail;
	if (db_commit(&ctx->db) != 0)
		goto out;
	log_info("%s handled", u->kind_name);
	if (t.user.is_blocked) {
		reply_free(&t.out);
	}
	*answer = reply_flush(&t.out, ctx->tg);
	rc = 0;
	goto out;
fail:
	db_rollback(&ctx->db);
out:
	reply_free(&t.out);
	return rc;
}
