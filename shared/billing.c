/*
 * billing — see billing.h.
 */
#include "billing.h"

#include <inttypes.h>

#include "credits.h"
#include "log.h"

/* Claims that check the budget wait for each other (until commit), so two
 * cannot both take its last dollars. */
static struct db_stmt st_budget_lock = DB_STMT("billing_budget_lock",
    "SELECT pg_advisory_xact_lock(4244, 0)");

static bool
over_daily_limit(struct app_ctx *ctx, int64_t user_id, const struct job_bill *b, int *err)
{
	if (b->per_day <= 0)
		return false;
	int n = credits_charges_today(&ctx->db, user_id, b->reason);
	if (n < 0)
		*err = 1;
	return n >= b->per_day;
}

static bool
over_budget(struct app_ctx *ctx, const struct job_bill *b, double cost, int *err)
{
	double spent = 0, budget = ctx->cfg.fal_daily_budget_usd;

	if (budget <= 0 || cost <= 0)
		return false;
	if (db_exec(&ctx->db, &st_budget_lock, NULL) != 0 ||
	    credits_spend_today(&ctx->db, &spent) != 0) {
		*err = 1;
		return false;
	}
	if (spent + cost <= budget)
		return false;
	log_warn("FAL budget: %.2f of %.2f USD spent today; %s jobs wait", spent, budget,
	    b->reason);
	return true;
}

enum bill_verdict
billing_charge(struct app_ctx *ctx, const struct job *j, const struct job_bill *b,
    int *balance)
{
	int err = 0;
	double cost = ctx->cfg.fal_test_mode ? 0 : b->cost_usd; /* FAL is not called */
	int before = credits_exists(&ctx->db, b->reason, j->charge_ref);

	*balance = 0;
	if (before != 0) /* a claim after a crash or a give-back: paid already */
		return before < 0 ? BILL_ERROR : BILL_PAID;
	if (over_daily_limit(ctx, j->user_id, b, &err))
		return err ? BILL_ERROR : BILL_DAILY_LIMIT;
	if (over_budget(ctx, b, cost, &err))
		return BILL_BUDGET;
	if (err)
		return BILL_ERROR;
	struct credit_entry e = {
		.user_id = j->user_id, .delta = -b->price, .reason = b->reason,
		.reference = j->charge_ref, .units = b->units, .cost_usd = cost,
	};
	switch (credits_apply(&ctx->db, &e, balance)) {
	case CREDIT_APPLIED:
		log_info("charged %d credits for %s (balance %d)", b->price, j->charge_ref, *balance);
		return BILL_PAID;
	case CREDIT_DUPLICATE:
		return BILL_PAID;
	case CREDIT_INSUFFICIENT:
		return BILL_SHORT;
	default:
		return BILL_ERROR;
	}
}

int
billing_refund(struct db *db, const struct job *j, const struct job_bill *b, int num, int den)
{
	int n = credits_refund(db, b->reason, j->charge_ref, num, den);

	if (n > 0)
		log_info("refunded %d credits for %s", n, j->charge_ref);
	return n;
}

enum bill_verdict
billing_check(struct app_ctx *ctx, int64_t user_id, const struct job_bill *b, int *balance)
{
	int err = 0;

	*balance = credits_balance(&ctx->db, user_id);
	if (*balance < 0)
		return BILL_ERROR;
	if (over_daily_limit(ctx, user_id, b, &err))
		return err ? BILL_ERROR : BILL_DAILY_LIMIT;
	return *balance >= b->price ? BILL_PAID : BILL_SHORT;
}
