/*
 * start-training — POST /api/avatars/{id}/train (Bearer ADMIN_TOKEN), and
 * `start-training --avatar ID | --pending` from the command line (the bot's
 * background trigger and cron).  The work is the job engine's (fal_job.c)
 * with the training kind (jobs.c).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "avatars.h"
#include "jobs.h"
#include "log.h"

static const char usage[] =
    "usage: start-training --avatar ID | --pending | --check-config\n"
    "\n"
    "Serves POST /api/avatars/{id}/train (Authorization: Bearer $ADMIN_TOKEN)\n"
    "as FastCGI (spawned by lighttpd) or CGI.\n"
    "  --avatar ID     start training avatar ID now (it must be queued)\n"
    "  --pending       start every queued avatar that is due (cron)\n"
    "  --check-config  print the configuration (secrets shown as set/unset)\n";

enum train_outcome {
	TRAIN_STARTED, TRAIN_NOT_QUEUED, TRAIN_UNKNOWN, TRAIN_RETRY_LATER, TRAIN_FAILED,
	TRAIN_DEFERRED, TRAIN_DB_ERROR,
};

static enum train_outcome
training_start(struct app_ctx *ctx, int64_t id)
{
	static const enum train_outcome of[] = {
		[FAL_START_STARTED] = TRAIN_STARTED, [FAL_START_NOT_CLAIMED] = TRAIN_NOT_QUEUED,
		[FAL_START_RETRY_LATER] = TRAIN_RETRY_LATER, [FAL_START_FAILED] = TRAIN_FAILED,
		[FAL_START_DEFERRED] = TRAIN_DEFERRED, [FAL_START_DB_ERROR] = TRAIN_DB_ERROR,
	};
	enum train_outcome o = of[fal_job_start(ctx, &job_training, id)];

	if (o != TRAIN_NOT_QUEUED)
		return o;
	int exists = avatar_exists(&ctx->db, id);
	return exists < 0 ? TRAIN_DB_ERROR : exists ? TRAIN_NOT_QUEUED : TRAIN_UNKNOWN;
}

/* cron's safety net: the bot's trigger claims at once; an avatar it lost (or
 * one given back, or waiting for the budget) is started here, after the
 * claim timeout (two minutes at most) for a lost trigger. */
static int
training_start_pending(struct app_ctx *ctx)
{
	int older = ctx->cfg.claim_timeout < 120 ? ctx->cfg.claim_timeout : 120;

	return fal_job_start_due(ctx, &job_training, older);
}

static void
answer(struct app_ctx *ctx, long long id, enum train_outcome o, struct http_resp *resp)
{
	cJSON *st = NULL;

	switch (o) {
	case TRAIN_STARTED:
		if (avatar_status_json(&ctx->db, id, &st) == 1) {
			http_resp_json(resp, HTTP_202, st);
			return;
		}
		http_resp_json(resp, HTTP_202, cJSON_Parse("{\"ok\":true}"));
		return;
	case TRAIN_NOT_QUEUED:
		http_resp_error(resp, HTTP_409, "not_queued",
		    "the avatar is not waiting to be trained (already started, or not ready)");
		return;
	case TRAIN_UNKNOWN:
		http_resp_error(resp, HTTP_404, "not_found", "no such avatar");
		return;
	case TRAIN_RETRY_LATER:
		http_resp_header(resp, "Retry-After", "60");
		http_resp_error(resp, HTTP_503, "upstream_unavailable",
		    "FAL or Telegram is unavailable; the avatar is back in the queue");
		return;
	case TRAIN_FAILED:
		http_resp_error(resp, HTTP_422, "training_refused",
		    "the training could not be started; the reason is in the avatar's status");
		return;
	case TRAIN_DEFERRED:
		http_resp_header(resp, "Retry-After", "600");
		http_resp_error(resp, HTTP_503, "budget_spent",
		    "today's FAL budget is spent; the avatar stays queued and starts later");
		return;
	case TRAIN_DB_ERROR:
		http_resp_error(resp, HTTP_500, "internal", "try again later");
		return;
	}
}

static void
serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	struct http_caps caps;
	long long id;

	if (!http_path_match("/api/avatars/{id}/train", req->path, &caps)) {
		http_resp_error(resp, HTTP_404, "not_found", "no such route");
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		http_resp_header(resp, "Allow", "POST");
		http_resp_error(resp, HTTP_405, "method_not_allowed", "use POST");
		return;
	}
	if (app_require_admin(ctx, req, resp) != 0)
		return;
	if (app_parse_id(caps.v[0], &id) != 0) {
		http_resp_error(resp, HTTP_400, "bad_id", "avatar id must be a positive integer");
		return;
	}
	answer(ctx, id, training_start(ctx, id), resp);
}

static int
cli(struct app_ctx *ctx, int argc, char **argv)
{
	long long id;

	snprintf(ctx->req_id, sizeof(ctx->req_id), "cli");
	if (argc == 1 && strcmp(argv[0], "--pending") == 0) {
		int n = training_start_pending(ctx);
		printf("started %d\n", n < 0 ? 0 : n);
		return n < 0 ? 1 : 0;
	}
	if (argc != 2 || strcmp(argv[0], "--avatar") != 0 || app_parse_id(argv[1], &id) != 0) {
		fputs(usage, stderr);
		return 2;
	}
	enum train_outcome o = training_start(ctx, id);
	static const char *const what[] = {
		[TRAIN_STARTED] = "started", [TRAIN_NOT_QUEUED] = "not queued",
		[TRAIN_UNKNOWN] = "not found", [TRAIN_RETRY_LATER] = "back in the queue (upstream unavailable)",
		[TRAIN_FAILED] = "failed (see its status)", [TRAIN_DEFERRED] = "waiting for the budget",
		[TRAIN_DB_ERROR] = "database error",
	};
	printf("avatar %lld: %s\n", id, what[o]);
	return o == TRAIN_STARTED ? 0 : o == TRAIN_NOT_QUEUED || o == TRAIN_UNKNOWN ? 3 : 1;
}

static const char *const required[] = {"DATABASE_URL", "FAL_WEBHOOK_SECRET", NULL};

static const struct app start_training_app = {
	.name = "start-training",
	.usage = usage,
	.max_body = 64 << 10,
	.required = required,
	.serve = serve,
	.cli = cli,
};

int
main(int argc, char **argv)
{
	return app_main(&start_training_app, argc, argv);
}
