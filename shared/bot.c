/*
 * bot — dispatch by update kind, command, conversation state and callback
 * action.  Handlers only touch the database through the modules that own the
 * tables and only talk to Telegram through t->out (or, after commit, through
 * the post-commit steps at the end of bot_process).
 */
#include "bot.h"

#include <stdio.h>
#include <string.h>

#include "callback.h"
#include "flow_avatars.h"
#include "flow_create.h"
#include "flow_credits.h"
#include "flow_generate.h"
#include "keyboard.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "recent_updates.h"
#include "sbuf.h"
#include "training.h"
#include "trigger.h"
#include "turn.h"
#include "turn_open.h"
#include "updates.h"

static struct db_stmt st_group_notice = DB_STMT("group_notice_claim",
    "INSERT INTO group_notices (chat_id) VALUES ($1)"
    " ON CONFLICT (chat_id) DO NOTHING RETURNING 1");

static cJSON *
kb_languages(void)
{
	cJSON *kb = kb_new();

	kb_button(kb, "🇷🇺 Русский", CB_LANG, 0, 0);
	kb_button(kb, "🇬🇧 English", CB_LANG, 1, 0);
	return kb;
}

/* --- commands ------------------------------------------------------------ */

static int
cmd_start(struct turn *t)
{
	int shared = flow_generate_shared(t, t->u->command_arg);

	if (shared < 0)
		return -1;
	if (shared == 0 || t->user.created)
		turn_send_menu(t, true);
	return 0;
}

/* The help, with the numbers of this configuration (one source for the
 * photo counts and the training time the summary also shows). */
static void
send_help(struct turn *t)
{
	const struct config *c = &t->ctx->cfg;
	struct sbuf s = SBUF_INIT;
	int a = training_minutes(c, false), b = training_minutes(c, true);
	char mins[32];

	if (a == b)
		snprintf(mins, sizeof(mins), "%d", a);
	else
		snprintf(mins, sizeof(mins), "%d–%d", a < b ? a : b, a < b ? b : a);
	text_addf(&s, t->user.lang, T_HELP, c->photos_min, c->photos_max, mins);
	turn_send(t, s.p, kb_main_menu(t->user.lang));
	sbuf_free(&s);
}

static int
cmd_help(struct turn *t)
{
	send_help(t);
	return 0;
}

static int
cmd_language(struct turn *t)
{
	turn_send(t, turn_text(t, T_LANG_CHOOSE), kb_languages());
	return 0;
}

static int
cmd_cancel(struct turn *t)
{
	if (t->conv.state == CONV_GEN_PROMPT) {
		if (conv_set(&t->ctx->db, &t->conv, CONV_IDLE, 0) != 0)
			return -1;
		turn_send(t, turn_text(t, T_CANCELLED_CREATE_NONAME), kb_main_menu(t->user.lang));
		return 0;
	}
	int done = flow_create_cancel(t);
	if (done == 0)
		turn_send(t, turn_text(t, T_NOTHING_TO_CANCEL), kb_main_menu(t->user.lang));
	return done < 0 ? -1 : 0;
}

/* Adding a command is a row here (and its texts): the dispatcher below and
 * setMyCommands (setup.c) both read this table. */
const struct bot_command bot_commands[] = {
	{"start", T_CMD_START, cmd_start},
	{"help", T_CMD_HELP, cmd_help},
	{"cancel", T_CMD_CANCEL, cmd_cancel},
	{"language", T_CMD_LANGUAGE, cmd_language},
	{"balance", T_CMD_BALANCE, flow_credits_balance},
	{"paysupport", T_CMD_PAYSUPPORT, flow_credits_paysupport},
	{"terms", T_CMD_TERMS, flow_credits_terms},
};
const size_t bot_commands_count = sizeof(bot_commands) / sizeof(bot_commands[0]);

/* --- messages ------------------------------------------------------------ */

static int
on_command(struct turn *t)
{
	for (size_t i = 0; i < bot_commands_count; i++)
		if (strcmp(t->u->command, bot_commands[i].name) == 0)
			return bot_commands[i].run(t);
	if (conv_in_create(&t->conv))
		return flow_create_message(t);
	turn_send(t, turn_text(t, T_USE_MENU), kb_main_menu(t->user.lang));
	return 0;
}

static int
on_group_message(struct turn *t)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, t->u->chat_id);
	PGresult *r = db_run(&t->ctx->db, &st_group_notice, &p);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		t->user.lang = lang_from_code(t->u->from.language_code);
		turn_send(t, turn_text(t, T_PRIVATE_ONLY), NULL);
	}
	PQclear(r);
	return 0;
}

/* Registers the sender (someone new with their start credits and an idle
 * conversation, in the same statement: users.h) or refreshes their
 * profile. */
static int
enter_user(struct turn *t)
{
	int credits = t->ctx->cfg.credits_start;

	if (users_upsert(&t->ctx->db, &t->u->from, credits, &t->user) != 0)
		return -1;
	if (t->user.created)
		log_info("user %lld registered: %d start credits", (long long)t->user.id, credits);
	t->profile_writes = t->ctx->db.writes;
	return 0;
}

/* Registers the sender and locks their conversation. */
static int
load_user(struct turn *t)
{
	if (t->loaded)
		return 0;
	if (enter_user(t) != 0)
		return -1;
	return conv_load(&t->ctx->db, t->user.id, t->u->from.id, &t->conv);
}

static int
on_message(struct turn *t)
{
	const struct tg_update *u = t->u;

	if (!u->has_from || u->from.is_bot || !u->has_chat)
		return 0;
	if (u->chat_type == NULL || strcmp(u->chat_type, "private") != 0)
		return on_group_message(t);
	if (load_user(t) != 0)
		return -1;
	if (u->has_payment)
		return flow_credits_paid(t);
	if (u->command[0] != '\0' && !u->command_for_other_bot)
		return on_command(t);
	if (conv_in_create(&t->conv))
		return flow_create_message(t);
	if (t->conv.state == CONV_GEN_PROMPT && u->text != NULL)
		return flow_generate_prompt(t);
	if (u->has_photo || u->has_document)
		turn_send(t, turn_text(t, T_PHOTO_NOT_EXPECTED), kb_main_menu(t->user.lang));
	else
		turn_send(t, turn_text(t, T_USE_MENU), kb_main_menu(t->user.lang));
	return 0;
}

/* --- buttons ------------------------------------------------------------- */

static int
on_menu_button(struct turn *t, const struct cb *cb)
{
	switch (cb->action) {
	case CB_MENU:
		/* from "write your prompt": a text is no longer taken as one */
		if (t->conv.state == CONV_GEN_PROMPT &&
		    conv_set(&t->ctx->db, &t->conv, CONV_IDLE, 0) != 0)
			return -1;
		turn_toast(t, NULL);
		turn_show(t, turn_text(t, T_MENU), kb_main_menu(t->user.lang));
		return 0;
	case CB_HELP:
		turn_toast(t, NULL);
		send_help(t);
		return 0;
	case CB_CREATE:
		turn_toast(t, NULL);
		return flow_create_start(t);
	case CB_LANG:
		if (cb->n[0] > 1) {
			turn_stale(t);
			return 0;
		}
		t->user.lang = cb->n[0] == 1 ? LANG_EN : LANG_RU;
		if (users_set_lang(&t->ctx->db, t->user.id, t->user.lang) != 0)
			return -1;
		turn_toast(t, turn_text(t, T_LANG_SET));
		turn_show(t, turn_text(t, T_MENU), kb_main_menu(t->user.lang));
		return 0;
	default:
		turn_stale(t);
		return 0;
	}
}

static int
on_callback(struct turn *t)
{
	const struct tg_update *u = t->u;
	struct cb cb;

	if (load_user(t) != 0)
		return -1;
	enum cb_action a = cb_decode(u->callback_data, &cb);
	if (a == CB_INVALID || a == CB_STALE || !u->has_chat) {
		log_info("callback: %s data", a == CB_STALE ? "stale" : "invalid");
		turn_toast(t, turn_text(t, T_STALE_BUTTON));
		if (u->has_chat)
			turn_send_menu(t, false);
		return 0;
	}
	switch (a) {
	case CB_GENDER: case CB_TYPE: case CB_TYPE_INFO: case CB_PHOTOS_DONE:
	case CB_ADD_PHOTOS: case CB_START_TRAINING: case CB_CANCEL_CREATE:
	case CB_CREATE_RESUME: case CB_CREATE_FRESH: case CB_CREATE_BACK:
		return flow_create_button(t, &cb);
	case CB_MY_AVATARS: case CB_AVATAR_OPEN: case CB_AVATAR_MAIN:
	case CB_AVATAR_DELETE: case CB_AVATAR_DELETE_OK: case CB_AVATAR_RETRY:
		return flow_avatars_button(t, &cb);
	case CB_GENERATE: case CB_GALLERY: case CB_GEN_AVATAR: case CB_GEN_PICK: case CB_GEN_TPL:
	case CB_GEN_AR: case CB_GEN_GO: case CB_IMG_REGEN: case CB_IMG_FULL: case CB_IMG_SHARE:
	case CB_IMG_DELETE: case CB_IMG_DELETE_OK: case CB_GAL_PAGE:
		return flow_generate_button(t, &cb);
	case CB_BALANCE: case CB_BUY:
		return flow_credits_button(t, &cb);
	default:
		return on_menu_button(t, &cb);
	}
}

static int
on_member(struct turn *t)
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
dispatch(struct turn *t)
{
	switch (t->u->kind) {
	case TG_KIND_MESSAGE:
		return on_message(t);
	case TG_KIND_CALLBACK:
		return on_callback(t);
	case TG_KIND_MY_CHAT_MEMBER:
		return on_member(t);
	case TG_KIND_INLINE_QUERY:
		t->user.lang = lang_from_code(t->u->from.language_code);
		return flow_generate_inline(t);
	case TG_KIND_PRE_CHECKOUT:
		if (!t->u->has_from || load_user(t) != 0)
			return t->u->has_from ? -1 : 0;
		return flow_credits_pre_checkout(t);
	case TG_KIND_EDITED_MESSAGE:
	case TG_KIND_OTHER:
		break;
	}
	return 0;
}

/* A private message or a button: the handler needs the sender and their
 * conversation. */
static bool
needs_user(const struct tg_update *u)
{
	if (!u->has_from || u->from.is_bot)
		return false;
	if (u->kind == TG_KIND_CALLBACK || u->kind == TG_KIND_PRE_CHECKOUT)
		return true;
	return u->kind == TG_KIND_MESSAGE && u->has_chat && u->chat_type != NULL &&
	    strcmp(u->chat_type, "private") == 0;
}

/*
 * Opens the update's transaction, in one round trip to the database: BEGIN
 * and, for a person's update, their lock and then one read of their row,
 * their conversation and whether a turn that changed something claimed
 * this update_id already (turn_open.h; the claim itself waits for the turn
 * to change something: commit_turn); for any other update, the claim.  A
 * new person, or one whose profile changed, is written here.  1 when this
 * delivery is the first of its update_id, 0 a repeat (the transaction is
 * open either way), -1 error (no transaction).
 */
static int
open_turn(struct turn *t)
{
	const struct tg_update *u = t->u;
	struct db_call c[2];

	if (!needs_user(u)) {
		updates_claim_call(u, &c[0]);
		if (db_begin_batch(&t->ctx->db, c, 1) != 0)
			return -1;
		return updates_claim_take(&c[0]);
	}
	struct turn_open o;

	conv_lock_call(u->from.id, &c[0]);
	turn_open_call(u, &c[1]);
	if (db_begin_batch(&t->ctx->db, c, 2) != 0)
		return -1;
	PQclear(c[0].r);
	int rc = turn_open_take(&c[1], u->from.id, &o);
	/* noted: claimed on this node by the same turn run without the lock */
	int first = !o.seen && (t->noted || !recent_updates_seen(u->update_id));

	t->claim_late = true;
	t->user = o.user;
	if (rc == 0 && !(o.registered && o.profile_same))
		rc = enter_user(t);
	t->conv = o.conv;
	t->conv.user_id = t->user.id;
	if (rc == 0 && first && !t->user.created)
		rc = conv_ensure(&t->ctx->db, &t->conv, o.conv_found ? 1 : 0);
	if (rc != 0) {
		db_rollback(&t->ctx->db);
		return -1;
	}
	t->loaded = true;
	return first;
}

/* A command in a private chat (not a payment): a turn that mostly only
 * answers — /help, /start of someone known, the menu. */
static bool
may_run_unlocked(const struct tg_update *u)
{
	return u->kind == TG_KIND_MESSAGE && needs_user(u) && u->command[0] != '\0' &&
	    !u->command_for_other_bot && !u->has_payment;
}

static bool
wants_more(const struct turn *t)
{
	return t->after_trigger != 0 || t->after_generate != 0 || t->after_full != 0 ||
	    t->after_check_photos;
}

/* Back to where bot_process() began, keeping the node's note of the
 * update (the turn under the lock owns it now). */
static void
turn_reset(struct turn *t)
{
	struct turn fresh = {.ctx = t->ctx, .u = t->u, .noted = t->noted};

	reply_free(&t->out);
	*t = fresh;
	reply_init(&t->out);
}

/*
 * A turn that only answers, run without a transaction and without the
 * person's lock: one read (turn_open.h) and the handler's own reads, each
 * in a read-only transaction of its own, and no COMMIT — where the same
 * turn under the lock is BEGIN, the lock, the read and a COMMIT.  Its
 * answer is the one it would give just before or just after whatever
 * other turn of the person runs at that moment.  The first write (a
 * SELECT … FOR UPDATE, a transaction) is refused by PostgreSQL
 * (db_read_only): the turn is thrown away — its replies were only
 * collected — and runs again under the lock, as does a turn of someone
 * new, whose profile changed, or that fails.  The update is noted as
 * answered on this node as it opens (recent_updates_claim): of two
 * deliveries at the same instant one runs.  1 answered (the replies in
 * t->out), 0 a repeat, -2 to run under the lock (t reset).
 */
static int
run_unlocked(struct turn *t)
{
	struct db *db = &t->ctx->db;
	struct db_call c;
	struct turn_open o;
	int rc = -2;

	turn_open_call(t->u, &c);
	db_read_only(db, true);
	c.r = db_run(db, c.st, &c.p);
	if (turn_open_take(&c, t->u->from.id, &o) != 0 || !o.registered || !o.profile_same ||
	    !o.conv_found)
		goto out;
	if (o.seen || !recent_updates_claim(t->u->update_id)) {
		rc = 0;
		goto out;
	}
	t->noted = true;
	t->claim_late = true;
	t->loaded = true;
	t->user = o.user;
	t->conv = o.conv;
	if (dispatch(t) == 0 && !db_refused(db) && db->writes == 0 && !wants_more(t))
		rc = 1;
out:
	db_read_only(db, false);
	if (rc == -2) {
		db_clear_failure(db);
		turn_reset(t);
	}
	return rc;
}

/* A callback query's answer, for the outbox (in the turn's transaction).
 * It names its chat, not the user: a user_id would make PostgreSQL lock the
 * person's row (the foreign key's check) on every press. */
static int
defer_answer(void *ud, const char *method, cJSON *params)
{
	struct turn *t = ud;

	return outbox_answer(&t->ctx->db, t->u->chat_id, method, params);
}

/* Calls no one waits for leave the request: when the turn shows something,
 * the spinner's answer goes through the outbox (the message rides in the
 * webhook answer).  How many left, or -1. */
static int
defer_calls(struct turn *t)
{
	if (t->u->kind != TG_KIND_CALLBACK || t->user.id == 0 || t->u->callback_id == NULL ||
	    t->after_generate != 0 || t->after_full != 0)
		return 0;
	return reply_defer_answers(&t->out, defer_answer, t);
}

/* What happens once the update's transaction has committed. */
static void
after_commit(struct turn *t)
{
	if (t->after_trigger != 0)
		trigger_training(t->after_trigger);
	if (t->after_check_photos)
		trigger_photo_checker();
	if (t->after_generate != 0)
		flow_generate_after(t->ctx, t->after_generate);
	if (t->after_full != 0)
		flow_generate_full(t->ctx, t->after_full, t->user.id, t->u->chat_id, t->user.lang);
}

/* After the answer of a turn that queued a row: the commit's answer says
 * whether a sender runs; one starts when none does. */
static void
settle_and_wake(struct app_ctx *ctx)
{
	if (db_settle(&ctx->db) == 0)
		outbox_wake(ctx);
}

/*
 * A turn that changed something (a conversation, a photo, an avatar, a
 * job, a payment) claims its update_id in the same transaction and waits
 * for the commit to be durable before the answer goes out.  One whose only
 * write is the person's row (someone new registered, a profile refreshed)
 * does not wait for the disk: lost in a crash, the person's next update
 * writes it again the same way (the start credits once: their ledger
 * entry went with the row), and a later commit that waits writes the WAL
 * up to itself, so nothing durable points at a lost row.  Most turns only
 * answer (/help, a menu, a page of the gallery): a person's writes nothing
 * (its update is noted as answered on this node, recent_updates.h), any
 * other's only its claim.  Those commit without waiting for the disk, nor
 * for the database's answer (read after the webhook answer has gone, or by
 * the worker's next statement).  (A deferred callback answer does not
 * count: lost in a crash, the spinner stops by itself; its row's dedupe key
 * keeps a repeat from answering twice.)  queued: rows the turn left for the
 * sender.
 */
static int
commit_turn(struct turn *t, int writes, int queued)
{
	struct db *db = &t->ctx->db;

	if (writes != 0 || t->user.written) {
		if (t->claim_late && updates_claim_late(db, t->u) != 0)
			return -1;
		return writes == t->profile_writes ? db_commit_nowait(db) : db_commit(db);
	}
	if (t->claim_late) {
		recent_updates_note(t->u->update_id);
		t->noted = true;
	}
	if (db_commit_unawaited(db, queued > 0 || !t->claim_late) != 0)
		return -1;
	if (queued > 0)
		t->ctx->after_answer = settle_and_wake;
	return 0;
}

/* A permanent failure: the person hears that something went wrong and
 * gets the menu back, in their language — never silence. */
static cJSON *
sorry(const struct tg_update *u)
{
	enum lang l = lang_from_code(u->from.language_code);

	if (!u->has_chat || u->chat_type == NULL || strcmp(u->chat_type, "private") != 0)
		return NULL;
	cJSON *p = reply_message_params(u->chat_id, text_get(l, T_SORRY), kb_main_menu(l));
	cJSON_AddStringToObject(p, "method", "sendMessage");
	return p;
}

/* Why a turn failed, and whether to ask Telegram for the update again. */
static enum bot_result
turn_failed(struct app_ctx *ctx, const struct tg_update *u, cJSON **answer, char *why,
    size_t whylen)
{
	if (ctx->db.in_tx)
		db_rollback(&ctx->db);
	if (db_failure_transient(&ctx->db))
		return BOT_RETRY;
	snprintf(why, whylen, "%s%s%s", ctx->db.failed[0] ? ctx->db.failed : "handler failed",
	    ctx->db.failed[0] ? ": " : "", ctx->db.failed_msg);
	log_error("%s update %lld failed for good: %s", u->kind_name, (long long)u->update_id,
	    why);
	*answer = sorry(u);
	return BOT_FAILED;
}

enum bot_result
bot_process(struct app_ctx *ctx, const struct tg_update *u, cJSON **answer, char *why,
    size_t whylen)
{
	struct turn t;
	enum bot_result rc = BOT_RETRY;

	*answer = NULL;
	why[0] = '\0';
	db_clear_failure(&ctx->db);
	memset(&t, 0, sizeof(t));
	t.ctx = ctx;
	t.u = u;
	reply_init(&t.out);
	log_set_ctx("req=%s upd=%lld user=%lld", ctx->req_id, (long long)u->update_id,
	    (long long)u->from.id);
	int first = may_run_unlocked(u) ? run_unlocked(&t) : -2;
	if (first == 1) {
		log_info("%s answered (conversation %s)", u->kind_name,
		    conv_state_name(t.conv.state));
		*answer = reply_flush(&t.out, ctx->tg);
		rc = BOT_DONE;
		goto out;
	}
	if (first == -2)
		first = open_turn(&t);
	if (first < 0)
		goto fail;
	if (first == 0) {
		log_info("duplicate delivery of %s ignored", u->kind_name);
		rc = !ctx->db.in_tx || db_commit_unawaited(&ctx->db, !t.claim_late) == 0 ?
		    BOT_DONE : BOT_RETRY;
		goto out;
	}
	if (dispatch(&t) != 0)
		goto fail;
	int writes = ctx->db.writes;
	db_defer(&ctx->db); /* the spinner's answer goes with the COMMIT */
	int queued = defer_calls(&t);
	if (queued < 0 || commit_turn(&t, writes, queued) != 0)
		goto fail;
	outbox_wake(ctx); /* when the turn queued a row and no sender runs */
	log_info("%s handled (conversation %s)", u->kind_name, conv_state_name(t.conv.state));
	/* "Generating…" must reach the chat before the job (which may finish at
	 * once) delivers its pictures: then every reply goes out first. */
	if (t.after_generate != 0 || t.after_full != 0)
		reply_send_all(&t.out, ctx->tg);
	after_commit(&t);
	*answer = reply_flush(&t.out, ctx->tg);
	rc = BOT_DONE;
	goto out;
fail:
	if (t.noted)
		recent_updates_forget(u->update_id);
	rc = turn_failed(ctx, u, answer, why, whylen);
out:
	reply_free(&t.out);
	metrics_inc("aisha_updates_total", "kind", u->kind_name, "outcome",
	    rc == BOT_RETRY ? "retry" : rc == BOT_FAILED ? "failed" : first == 0 ? "duplicate" :
	    "handled", NULL);
	return rc;
}
