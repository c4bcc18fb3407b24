#include "maintenance.h"

#include "generations.h"
#include "log.h"
#include "outbox.h"
#include "training.h"
#include "updates.h"

int
maintenance_status_pass(struct app_ctx *ctx, cJSON *summary)
{
	int rc = 0;

	rc |= training_poll_all(ctx, summary);
	rc |= generation_poll_all(ctx, summary);
	rc |= generation_expire(ctx, summary) < 0 ? -1 : 0;
	int sent = outbox_deliver(ctx, 0, 1000);
	cJSON_AddNumberToObject(summary, "notifications_sent", sent);
	if (sent)
		log_info("status pass: %d notifications sent", sent);
	return rc ? -1 : 0;
}

static int
count_of(int n, int *rc)
{
	if (n < 0)
		*rc = -1;
	return n < 0 ? 0 : n;
}

int
maintenance_startup(struct app_ctx *ctx, cJSON *summary)
{
	int rc = 0;
	int requeued = count_of(training_requeue_crashed(ctx), &rc);
	int timed_out = count_of(training_expire(ctx), &rc);
	int zips = count_of(training_clean_zips(ctx), &rc);
	int pruned = count_of(updates_prune(&ctx->db), &rc);
	int sent = outbox_deliver(ctx, 0, 1000);

	cJSON_AddNumberToObject(summary, "requeued", requeued);
	cJSON_AddNumberToObject(summary, "timed_out", timed_out);
	cJSON_AddNumberToObject(summary, "zips_removed", zips);
	cJSON_AddNumberToObject(summary, "rows_pruned", pruned);
	cJSON_AddNumberToObject(summary, "notifications_sent", sent);
	log_info("startup check: %d requeued, %d timed out, %d zips removed, %d rows pruned,"
	    " %d notifications sent", requeued, timed_out, zips, pruned, sent);
	return rc;
}
