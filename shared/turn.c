/*
 * turn — how a flow talks to the person during a turn.  Replies are only
 * collected here (reply.c); bot.c sends them once the turn has committed.
 */
#include "turn.h"

#include "keyboard.h"
#include "log.h"
#include "sbuf.h"

const char *
turn_text(const struct turn *t, enum text_id id)
{
	return text_get(t->user.lang, id);
}

void
turn_send(struct turn *t, const char *html, cJSON *kb)
{
	reply_message(&t->out, t->u->chat_id, html, kb);
}

void
turn_show(struct turn *t, const char *html, cJSON *kb)
{
	/* Only a text message can be edited into another text (a photo's
	 * buttons get a new message: "there is no text in the message"). */
	if (t->u->kind == TG_KIND_CALLBACK && t->u->callback_text)
		reply_edit(&t->out, t->u->chat_id, t->u->message_id, html, kb);
	else
		turn_send(t, html, kb);
}

/* A toast is plain text (answerCallbackQuery has no parse mode), at most
 * 200 characters: our texts are HTML, so they are turned plain here. */
void
turn_toast(struct turn *t, const char *text)
{
	struct sbuf plain = SBUF_INIT;

	if (t->u->kind != TG_KIND_CALLBACK)
		return;
	if (text != NULL)
		text_plain(&plain, text, 200);
	reply_answer_callback(&t->out, t->u->callback_id, text ? sbuf_str(&plain) : NULL);
	sbuf_free(&plain);
}

void
turn_stale(struct turn *t)
{
	log_info("stale button '%s' (conversation %s)", t->u->callback_data ? t->u->callback_data : "",
	    conv_state_name(t->conv.state));
	if (t->conv.state != CONV_IDLE) { /* in a flow: its latest message is the way on */
		turn_toast(t, turn_text(t, T_STALE_IN_FLOW));
		return;
	}
	turn_toast(t, turn_text(t, T_STALE_BUTTON));
	if (t->u->chat_id != 0) /* a button on an inline message has no chat */
		turn_send_menu(t, false); /* as the notice says */
}

void
turn_send_menu(struct turn *t, bool with_welcome)
{
	struct sbuf s = SBUF_INIT;
	const char *name = t->u->from.first_name;

	if (with_welcome) {
		text_addf(&s, t->user.lang, T_WELCOME, name && *name ? name : "👋");
		sbuf_add(&s, "\n\n");
	}
	sbuf_add(&s, turn_text(t, T_MENU));
	turn_send(t, sbuf_str(&s), kb_main_menu(t->user.lang));
	sbuf_free(&s);
}

