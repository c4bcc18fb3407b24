/*
 * billing — what a FAL job costs and whether it may run, for the engine
 * (fal_job.c) at the claim and for the conversation before it asks for one.
 *
 * A job is charged once, in its claim's transaction (credits.c: a ledger
 * row per queueing of a training, per generation): a claim that cannot pay
 * is not a claim.  Before charging, two limits that protect the operator
 * whatever the balance: the person's jobs of this kind per UTC day, and the
 * estimated FAL spend of the UTC day over everybody (FAL_DAILY_BUDGET_USD;
 * test-mode jobs cost nothing, as FAL is not called).  A job that fails —
 * refused, unavailable, timed out, no result, NSFW-blocked — is refunded
 * once, in the transaction that ends it.
 */
#ifndef AISHA_BILLING_H
#define AISHA_BILLING_H

#include <stdint.h>

#include "app.h"
#include "job.h"

/* What one job of a kind costs (fal_job_ops.bill fills it). */
struct job_bill {
	const char *reason; /* the ledger's: "training" / "generation" */
	int price;          /* credits; 0: free (still counted) */
	int units;          /* trainings or pictures */
	double cost_usd;    /* the estimated FAL cost */
	int per_day;        /* the person's limit of this kind per UTC day; 0: none */
};

enum bill_verdict {
	BILL_PAID,        /* charged now, or before (a claim after a give-back or a crash) */
	BILL_SHORT,       /* not enough credits */
	BILL_DAILY_LIMIT, /* the person's jobs of this kind today */
	BILL_BUDGET,      /* today's FAL budget is spent: the job waits */
	BILL_ERROR,
};

/* In the claim's transaction.  *balance: the balance after (or as it was). */
enum bill_verdict billing_charge(struct app_ctx *ctx, const struct job *j,
    const struct job_bill *b, int *balance);
/* In the transaction that ends the job: num/den of its charge back, once.
 * The credits given back (0 when nothing was charged), or -1. */
int billing_refund(struct db *db, const struct job *j, const struct job_bill *b, int num,
    int den);
/* Before a job is asked for (no charge): may user_id have one now? */
enum bill_verdict billing_check(struct app_ctx *ctx, int64_t user_id,
    const struct job_bill *b, int *balance);

#endif
