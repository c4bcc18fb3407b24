/*
 * flow_credits — see flow_credits.h.
 */
#include "flow_credits.h"

#include <inttypes.h>
#include <stdio.h>

#include "credits.h"
#include "keyboard.h"
#include "log.h"

int
flow_credits_welcome(struct turn *t)
{
	char ref[40];
	struct credit_entry e = {.user_id = t->user.id, .delta = t->ctx->cfg.credits_start,
		.reason = "start", .reference = ref};

	snprintf(ref, sizeof(ref), "user:%" PRId64, t->user.id);
	enum credit_result r = credits_apply(&t->ctx->db, &e, NULL);
	if (r == CREDIT_APPLIED)
		log_info("user %" PRId64 ": %d start credits", t->user.id, e.delta);
	return r == CREDIT_ERROR ? -1 : 0;
}

/* The packs and a way back to the menu. */
static cJSON *
kb_top_up(struct turn *t)
{
	cJSON *kb = kb_packs(t->user.lang, &t->ctx->cfg);

	kb_row(kb);
	kb_button_t(kb, t->user.lang, T_BTN_BACK, CB_MENU, 0, 0);
	return kb;
}

int
flow_credits_balance(struct turn *t)
{
	struct sbuf s = SBUF_INIT;
	int balance = credits_balance(&t->ctx->db, t->user.id);

	if (balance < 0)
		return -1;
	text_addf(&s, t->user.lang, T_BALANCE, balance, t->ctx->cfg.price_training,
	    t->ctx->cfg.price_generation);
	turn_show(t, s.p, kb_top_up(t));
	sbuf_free(&s);
	return 0;
}

int
flow_credits_price(struct turn *t, const struct job_bill *b, struct sbuf *s)
{
	int balance;

	if (b->price == 0)
		return 0;
	balance = credits_balance(&t->ctx->db, t->user.id);
	if (balance < 0)
		return -1;
	text_addf(s, t->user.lang, T_PRICE_LINE, b->price, balance);
	return 0;
}

int
flow_credits_gate(struct turn *t, const struct job_bill *b)
{
	struct sbuf s = SBUF_INIT;
	int balance;
	enum bill_verdict v = billing_check(t->ctx, t->user.id, b, &balance);

	if (v == BILL_PAID || v == BILL_ERROR)
		return v == BILL_PAID ? 1 : -1;
	turn_toast(t, NULL);
	if (v == BILL_SHORT) {
		text_addf(&s, t->user.lang, T_CREDITS_SHORT, b->price, balance);
		turn_send(t, s.p, kb_top_up(t));
	} else {
		text_addf(&s, t->user.lang, T_DAILY_LIMIT, b->per_day);
		turn_send(t, s.p, kb_main_menu(t->user.lang));
	}
	sbuf_free(&s);
	return 0;
}

int
flow_credits_button(struct turn *t, const struct cb *cb)
{
	switch (cb->action) {
	case CB_BALANCE:
		turn_toast(t, NULL);
		return flow_credits_balance(t);
	default:
		turn_stale(t);
		return 0;
	}
}
