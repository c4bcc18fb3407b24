/*
 * check-status — GET /api/avatars/{id}/status, POST /api/check-status and
 * the operator's API for people and money (operator_api.h), all Bearer
 * ADMIN_TOKEN, and `check-status --all | --startup | --avatar ID` for cron
 * and operators, `--send` for the outbox's sender (outbox.h), `--check-photos`
 * for the photo checker (photo_checks.h).  lighttpd also sends every unrouted path here so that it
 * gets the JSON 404 rather than an HTML page.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "avatars.h"
#include "jobs.h"
#include "log.h"
#include "maintenance.h"
#include "operator_api.h"
#include "training_zip.h"
#include "outbox.h"
#include "photo_checks.h"

#define SENDER_IDLE 30 /* seconds a sender waits for more before it exits */
#define CHECKER_IDLE 10 /* the same for the photo checker */
#define CRON_PHOTO_SECONDS 20 /* cron's pass checks photos this long at most */

static const char usage[] =
    "usage: check-status --all | --startup | --send | --check-photos | --avatar ID |\n"
    "       --check-config\n"
    "\n"
    "Serves GET /api/avatars/{id}/status and POST /api/check-status\n"
    "(Authorization: Bearer $ADMIN_TOKEN) as FastCGI or CGI.\n"
    "  --all           check every training in flight, send due notifications and\n"
    "                  check the photos waiting (for 20 s at most)\n"
    "                  (cron, every minute)\n"
    "  --startup       the startup checker: recover crashed claims, time out stuck\n"
    "                  trainings, remove old zips and dedupe rows (cron, @reboot and\n"
    "                  every 5 minutes, before start-training --pending)\n"
    "  --send          the outbox's sender: send queued Bot API calls as they come\n"
    "                  until none came for 30 s (started on demand by the functions)\n"
    "  --check-photos  the photo checker: check photos sent for avatars as they come\n"
    "                  until none came for 10 s (started on demand by tg-update)\n"
    "  --avatar ID     print one avatar's status as JSON\n"
    "  --check-config  print the configuration (secrets shown as set/unset)\n";

/* One avatar's training, fresh from FAL when it is in flight. */
static void
poll_one(struct app_ctx *ctx, int64_t id)
{
	struct fal_poll_counts c;

	(void)fal_job_poll_all(ctx, &job_training, id, &c);
}

static void
avatar_status(struct app_ctx *ctx, const char *idstr, struct http_resp *resp)
{
	long long id;
	cJSON *st;

	if (app_parse_id(idstr, &id) != 0) {
		http_resp_error(resp, HTTP_400, "bad_id", "avatar id must be a positive integer");
		return;
	}
	poll_one(ctx, id);
	int found = avatar_status_json(&ctx->db, id, &st);
	if (found < 0)
		http_resp_error(resp, HTTP_500, "internal", "try again later");
	else if (found == 0)
		http_resp_error(resp, HTTP_404, "not_found", "no such avatar");
	else
		http_resp_json(resp, HTTP_200, st);
}

static int
check_all(struct app_ctx *ctx, cJSON **summary)
{
	*summary = cJSON_CreateObject();
	int rc = maintenance_status_pass(ctx, *summary);
	cJSON_AddBoolToObject(*summary, "ok", rc == 0);
	return rc;
}

static void
serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	struct http_caps caps;
	cJSON *summary;

	if (http_path_match("/api/avatars/{id}/status", req->path, &caps)) {
		if (app_method_is(req, "GET", resp) && app_require_admin(ctx, req, resp) == 0)
			avatar_status(ctx, caps.v[0], resp);
	} else if (http_path_match("/media/{name}", req->path, &caps)) {
		if (app_method_is(req, "GET", resp))
			training_zip_serve(ctx, caps.v[0], resp); /* FAL's: no token */
	} else if (strcmp(req->path, "/api/check-status") == 0) {
		if (!app_method_is(req, "POST", resp) || app_require_admin(ctx, req, resp) != 0)
			return;
		if (check_all(ctx, &summary) != 0)
			http_resp_error(resp, HTTP_500, "internal", "try again later");
		else
			http_resp_json(resp, HTTP_200, summary);
	} else if (!operator_api_serve(ctx, req, resp)) {
		http_resp_error(resp, HTTP_404, "not_found", "no such route");
	}
}

static int
cli(struct app_ctx *ctx, int argc, char **argv)
{
	long long id;
	cJSON *out = NULL;
	int rc;

	snprintf(ctx->req_id, sizeof(ctx->req_id), "cli");
	if (argc == 1 && strcmp(argv[0], "--all") == 0) {
		rc = check_all(ctx, &out) == 0 ? 0 : 1;
		/* a checker that never started; at most CRON_PHOTO_SECONDS */
		int checked = photo_checks_run(ctx, 0, CRON_PHOTO_SECONDS);
		cJSON_AddNumberToObject(out, "photos_checked", checked < 0 ? 0 : checked);
		rc = checked < 0 ? 1 : rc;
	} else if (argc == 1 && strcmp(argv[0], "--check-photos") == 0) {
		out = cJSON_CreateObject();
		int checked = photo_checks_run(ctx, CHECKER_IDLE, 0);
		cJSON_AddNumberToObject(out, "checked", checked < 0 ? 0 : checked);
		rc = checked < 0 ? 1 : 0;
	} else if (argc == 1 && strcmp(argv[0], "--send") == 0) {
		out = cJSON_CreateObject();
		cJSON_AddNumberToObject(out, "sent", outbox_serve(ctx, SENDER_IDLE, 0));
		rc = 0;
	} else if (argc == 1 && strcmp(argv[0], "--startup") == 0) {
		out = cJSON_CreateObject();
		rc = maintenance_startup(ctx, out) == 0 ? 0 : 1;
	} else if (argc == 2 && strcmp(argv[0], "--avatar") == 0 && app_parse_id(argv[1], &id) == 0) {
		poll_one(ctx, id);
		int found = avatar_status_json(&ctx->db, id, &out);
		rc = found == 1 ? 0 : found == 0 ? 3 : 1;
		if (found == 0)
			fprintf(stderr, "avatar %lld: not found\n", id);
	} else {
		fputs(usage, stderr);
		return 2;
	}
	if (out != NULL) {
		char *s = cJSON_Print(out);
		puts(s);
		cJSON_free(s);
		cJSON_Delete(out);
	}
	return rc;
}

static const char *const required[] = {"DATABASE_URL", NULL};

static const struct app check_status_app = {
	.name = "check-status",
	.usage = usage,
	.max_body = 64 << 10,
	.required = required,
	.serve = serve,
	.cli = cli,
};

int
main(int argc, char **argv)
{
	return app_main(&check_status_app, argc, argv);
}
