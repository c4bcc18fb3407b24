/*
 * credits — the credit ledger (credit_entries) and the balance kept with it
 * (users.balance), through the database's credit_apply(): every grant,
 * charge and refund is one append-only row, at most once per (reason,
 * reference), and a balance never goes below zero — of two charges that
 * race for the last credits, one is refused.  See schema/005_credits.sql
 * for the references each reason uses.  One entry is written elsewhere: a
 * new user's start credits, with their row in the statement that registers
 * them (users.c users_upsert: the row is new, so no one else can hold its
 * lock or have charged it; its balance is the entry's balance_after).
 */
#ifndef AISHA_CREDITS_H
#define AISHA_CREDITS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "db.h"

enum credit_result {
	CREDIT_APPLIED,
	CREDIT_DUPLICATE,    /* this reason and reference was applied before */
	CREDIT_INSUFFICIENT, /* the balance would go below zero: nothing changed */
	CREDIT_NO_USER,
	CREDIT_ERROR,
};

struct credit_entry {
	int64_t user_id;
	int delta;              /* + grant, − charge */
	const char *reason;     /* start, topup, training, generation, refund, admin, payment_refund */
	const char *reference;  /* unique per reason */
	int units;              /* FAL work a charge stands for: trainings, pictures */
	double cost_usd;        /* its estimated FAL cost */
	const char *note;       /* may be NULL */
};

/* In the caller's transaction (or on its own).  *balance (may be NULL) is
 * the balance after. */
enum credit_result credits_apply(struct db *db, const struct credit_entry *e, int *balance);
/* Gives back num/den of the charge (reason, reference) once (a refund's
 * reference is "reason:reference"); nothing when there was no charge or it
 * was free.  The credits given back, or -1. */
int credits_refund(struct db *db, const char *reason, const char *reference, int num, int den);
/* The user's balance, or -1. */
int credits_balance(struct db *db, int64_t user_id);
/* The user's charges of reason since the UTC day began, or -1. */
int credits_charges_today(struct db *db, int64_t user_id, const char *reason);
/* 1 when the entry (reason, reference) was written, 0 not, -1 error. */
int credits_exists(struct db *db, const char *reason, const char *reference);
/* The estimated FAL spend of the UTC day (the charges' costs).  0 or -1. */
int credits_spend_today(struct db *db, double *usd);
/* The user's balance and last entries, for the operator: *out (caller
 * deletes) or -1. */
int credits_statement(struct db *db, int64_t user_id, int limit, cJSON **out);

#endif
