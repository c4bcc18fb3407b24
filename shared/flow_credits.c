/*
 * flow_credits — see flow_credits.h.
 */
#include "flow_credits.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "credits.h"
#include "gen_job.h"
#include "keyboard.h"
#include "log.h"
#include "payments.h"
#include "training.h"

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

/* What one job of kind k costs now (the bot's pictures: GEN_NUM_IMAGES). */
static void
bill_of(const struct turn *t, enum credit_job k, struct job_bill *b)
{
	if (k == CREDIT_JOB_TRAINING)
		training_bill(&t->ctx->cfg, b);
	else
		gen_job_bill(&t->ctx->cfg, t->ctx->cfg.gen_num_images, b);
}

int
flow_credits_price(struct turn *t, enum credit_job k, struct sbuf *s)
{
	struct job_bill b;
	int balance;

	bill_of(t, k, &b);
	if (b.price == 0)
		return 0;
	balance = credits_balance(&t->ctx->db, t->user.id);
	if (balance < 0)
		return -1;
	text_addf(s, t->user.lang, T_PRICE_LINE, b.price, balance);
	return 0;
}

void
flow_credits_refusal(const struct config *c, enum lang l, enum bill_verdict v, int price,
    int balance, int per_day, struct sbuf *s, cJSON **kb)
{
	if (kb != NULL)
		*kb = NULL;
	if (v == BILL_SHORT) {
		text_addf(s, l, T_CREDITS_SHORT, price, balance);
		if (kb != NULL && c->n_packs > 0)
			*kb = kb_packs(l, c);
	} else {
		text_addf(s, l, T_DAILY_LIMIT, per_day);
	}
}

int
flow_credits_gate(struct turn *t, enum credit_job k)
{
	struct job_bill b;
	struct sbuf s = SBUF_INIT;
	int balance;

	bill_of(t, k, &b);
	enum bill_verdict v = billing_check(t->ctx, t->user.id, &b, &balance);
	if (v == BILL_PAID || v == BILL_ERROR)
		return v == BILL_PAID ? 1 : -1;
	turn_toast(t, NULL);
	flow_credits_refusal(&t->ctx->cfg, t->user.lang, v, b.price, balance, b.per_day, &s, NULL);
	turn_send(t, s.p, v == BILL_SHORT ? kb_top_up(t) : kb_main_menu(t->user.lang));
	sbuf_free(&s);
	return 0;
}

/* s, with the main menu under it. */
static int
say_with_menu(struct turn *t, struct sbuf *s)
{
	turn_send(t, s->p, kb_main_menu(t->user.lang));
	sbuf_free(s);
	return 0;
}

/* --- buying a pack with Stars ---------------------------------------------------- */

/* The pack at index i, when it still holds credits (the button's). */
static const struct credit_pack *
pack_at(const struct config *c, int64_t i, int64_t credits)
{
	return i >= 0 && i < c->n_packs && c->packs[i].credits == credits ? &c->packs[i] : NULL;
}

/* The configured pack with these credits and stars, or NULL. */
static const struct credit_pack *
pack_matching(const struct config *c, int credits, int stars)
{
	for (int i = 0; i < c->n_packs; i++)
		if (c->packs[i].credits == credits && c->packs[i].stars == stars)
			return &c->packs[i];
	return NULL;
}

/* sendInvoice in Stars: currency XTR, no provider token, one price. */
static int
send_invoice(struct turn *t, const struct credit_pack *pk)
{
	struct sbuf title = SBUF_INIT, desc = SBUF_INIT;
	char payload[129];
	cJSON *p = cJSON_CreateObject(), *prices, *price;

	if (payments_payload(payload, sizeof(payload), pk->credits, pk->stars, t->user.id) != 0) {
		cJSON_Delete(p);
		return -1;
	}
	text_addf(&title, t->user.lang, T_INVOICE_TITLE, pk->credits);
	text_addf(&desc, t->user.lang, T_INVOICE_DESC, pk->credits);
	cJSON_AddNumberToObject(p, "chat_id", (double)t->u->chat_id);
	cJSON_AddStringToObject(p, "title", title.p);
	cJSON_AddStringToObject(p, "description", desc.p);
	cJSON_AddStringToObject(p, "payload", payload);
	cJSON_AddStringToObject(p, "provider_token", "");
	cJSON_AddStringToObject(p, "currency", "XTR");
	prices = cJSON_AddArrayToObject(p, "prices");
	price = cJSON_CreateObject();
	cJSON_AddStringToObject(price, "label", title.p);
	cJSON_AddNumberToObject(price, "amount", pk->stars);
	cJSON_AddItemToArray(prices, price);
	reply_add(&t->out, "sendInvoice", p);
	log_info("invoice: %d credits for %d stars", pk->credits, pk->stars);
	sbuf_free(&title);
	sbuf_free(&desc);
	return 0;
}

int
flow_credits_button(struct turn *t, const struct cb *cb)
{
	const struct credit_pack *pk;

	switch (cb->action) {
	case CB_BALANCE:
		turn_toast(t, NULL);
		return flow_credits_balance(t);
	case CB_BUY:
		pk = pack_at(&t->ctx->cfg, cb->n[0], cb->n[1]);
		if (pk == NULL) {
			turn_stale(t);
			return 0;
		}
		turn_toast(t, NULL);
		return send_invoice(t, pk);
	default:
		turn_stale(t);
		return 0;
	}
}

/* Within Telegram's 10 s, in the webhook answer: ok only for one of our
 * packs as configured now, for this person, in Stars, at its price. */
int
flow_credits_pre_checkout(struct turn *t)
{
	const struct tg_payment *pay = &t->u->payment;
	int credits, stars;
	int64_t uid;
	bool ok = pay->currency != NULL && strcmp(pay->currency, "XTR") == 0 &&
	    payments_parse_payload(pay->payload, &credits, &stars, &uid) == 0 &&
	    uid == t->user.id && pay->total_amount == stars &&
	    pack_matching(&t->ctx->cfg, credits, stars) != NULL;
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "pre_checkout_query_id", pay->query_id);
	cJSON_AddBoolToObject(p, "ok", ok);
	if (!ok) {
		struct sbuf s = SBUF_INIT;
		text_plain(&s, turn_text(t, T_PAY_REFUSED), 200);
		cJSON_AddStringToObject(p, "error_message", s.p);
		sbuf_free(&s);
	}
	log_info("pre-checkout %s: %s", pay->payload ? pay->payload : "", ok ? "ok" : "refused");
	reply_add(&t->out, "answerPreCheckoutQuery", p);
	return 0;
}

/* A successful_payment: the pack's credits, once per charge id. */
int
flow_credits_paid(struct turn *t)
{
	const struct tg_payment *pay = &t->u->payment;
	struct payment pm = {.user_id = t->user.id, .telegram_id = t->u->from.id};
	struct sbuf s = SBUF_INIT;
	int64_t uid;
	int balance = 0;

	if (payments_parse_payload(pay->payload, &pm.credits, &pm.stars, &uid) != 0 ||
	    pay->currency == NULL || strcmp(pay->currency, "XTR") != 0 ||
	    pay->total_amount != pm.stars) {
		log_error("payment %s: not one of our invoices (%s)", pay->charge_id, pay->payload);
		turn_send(t, turn_text(t, T_PAY_PROBLEM), NULL);
		return 0;
	}
	snprintf(pm.charge_id, sizeof(pm.charge_id), "%s", pay->charge_id);
	int fresh = payments_record(&t->ctx->db, &pm, pay->payload);
	struct credit_entry e = {.user_id = t->user.id, .delta = pm.credits, .reason = "topup",
		.reference = pm.charge_id, .units = pm.stars};
	enum credit_result r = fresh == 1 ? credits_apply(&t->ctx->db, &e, &balance) :
	    fresh == 0 ? CREDIT_DUPLICATE : CREDIT_ERROR;
	if (r == CREDIT_ERROR || r == CREDIT_NO_USER)
		return -1;
	if (r == CREDIT_DUPLICATE) {
		log_info("payment %s delivered again: credited before", pm.charge_id);
		return 0;
	}
	log_info("payment %s: %d stars, +%d credits (balance %d)", pm.charge_id, pm.stars,
	    pm.credits, balance);
	text_addf(&s, t->user.lang, T_PAID, pm.credits, balance);
	return say_with_menu(t, &s);
}

int
flow_credits_paysupport(struct turn *t)
{
	struct sbuf s = SBUF_INIT;
	const char *who = t->ctx->cfg.paysupport_contact;

	text_addf(&s, t->user.lang, T_PAYSUPPORT, who[0] ? who : turn_text(t, T_PAYSUPPORT_WHO));
	return say_with_menu(t, &s);
}

int
flow_credits_terms(struct turn *t)
{
	struct sbuf s = SBUF_INIT;

	text_addf(&s, t->user.lang, T_TERMS, t->ctx->cfg.price_training,
	    t->ctx->cfg.price_generation);
	return say_with_menu(t, &s);
}
