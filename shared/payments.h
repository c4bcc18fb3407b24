/*
 * payments — Stars payments (the payments table): one row per
 * successful_payment, keyed by Telegram's charge id so a payment delivered
 * twice is recorded (and credited) once, and the operator's refund of it.
 * The credits themselves are the ledger's (credits.c); the invoice payload
 * names the pack: "pack:CREDITS:STARS:USER_ID".
 */
#ifndef AISHA_PAYMENTS_H
#define AISHA_PAYMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct payment {
	char charge_id[257];
	int64_t user_id, telegram_id;
	int credits, stars;
	bool refunded;
};

/* The payload of an invoice for a pack, and back: 0, or -1 when it is not
 * one of ours. */
int payments_payload(char *out, size_t len, int credits, int stars, int64_t user_id);
int payments_parse_payload(const char *s, int *credits, int *stars, int64_t *user_id);

/* In the caller's transaction: 1 recorded, 0 recorded before, -1. */
int payments_record(struct db *db, const struct payment *p, const char *payload);
/* 1 found, 0 not, -1. */
int payments_get(struct db *db, const char *charge_id, struct payment *out);
/* In the caller's transaction: 1 marked, 0 refunded before, -1. */
int payments_mark_refunded(struct db *db, const char *charge_id, int credits_taken);

#endif
