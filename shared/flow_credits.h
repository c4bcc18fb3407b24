/*
 * flow_credits — credits in the conversation: the balance (/balance and the
 * menu), the price shown before a training or a picture is confirmed, the
 * gate that turns a confirmation without enough credits (or over the daily
 * limit) into the packs to top up, and buying a pack with Telegram
 * Stars: sendInvoice (XTR, no provider token, the pack in the payload), the
 * pre-checkout answered in the webhook answer, the successful_payment
 * credited once by its charge id.  (A new user's start credits are written
 * with their row: users.h.)
 * Charging is the job engine's (billing.h), at the claim; this flow only
 * keeps people from asking for what they cannot have.
 */
#ifndef AISHA_FLOW_CREDITS_H
#define AISHA_FLOW_CREDITS_H

#include "billing.h"
#include "callback.h"
#include "sbuf.h"
#include "turn.h"

/* The balance, the prices and the packs. */
int flow_credits_balance(struct turn *t);
/* The two things a person can ask for. */
enum credit_job { CREDIT_JOB_TRAINING, CREDIT_JOB_PICTURE };

/* The price line for a confirmation (appended to s).  0 or -1. */
int flow_credits_price(struct turn *t, enum credit_job k, struct sbuf *s);
/* Why a job cannot be had (BILL_SHORT: the price and balance, and the
 * packs in *kb when any are sold and kb is not NULL; BILL_DAILY_LIMIT: the
 * limit, *kb NULL),
 * appended to s — for the gate here and a claim refused later (jobs.c). */
void flow_credits_refusal(const struct config *c, enum lang l, enum bill_verdict v, int price,
    int balance, int per_day, struct sbuf *s, cJSON **kb);
/* Before a job is asked for: 1 go on; 0 the person was shown why not (the
 * packs, or the daily limit); -1 error. */
int flow_credits_gate(struct turn *t, enum credit_job k);
/* The credit buttons: CB_BALANCE, CB_BUY (sendInvoice in Stars for a pack). */
int flow_credits_button(struct turn *t, const struct cb *cb);
/* A pre_checkout_query: answerPreCheckoutQuery in the webhook answer. */
int flow_credits_pre_checkout(struct turn *t);
/* A successful_payment message: the pack credited once per charge id. */
int flow_credits_paid(struct turn *t);
/* /paysupport and /terms, which Telegram asks of bots that sell. */
int flow_credits_paysupport(struct turn *t);
int flow_credits_terms(struct turn *t);

#endif
