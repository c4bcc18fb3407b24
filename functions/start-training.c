/*
 * start-training — POST /api/avatars/{id}/train (Bearer ADMIN_TOKEN), and
 * `start-training --avatar ID` from the command line.
 *
 * Answers with the avatar's status; an avatar that is not waiting in the
 * queue gets 409 and nothing changes.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "avatars.h"
#include "log.h"

static const char usage[] =
    "usage: start-training --avatar ID | --check-config\n"
    "\n"
    "Serves POST /api/avatars/{id}/train (Authorization: Bearer $ADMIN_TOKEN)\n"
    "as FastCGI (spawned by lighttpd) or CGI.\n"
    "  --avatar ID     start training avatar ID now\n"
    "  --check-config  print the configuration (secrets shown as set/unset)\n";

/* 0 started, 1 not queued (*st set), 2 unknown, -1 error. */
static int
train(struct app_ctx *ctx, long long id, cJSON **st)
{
	int found = avatar_status_json(&ctx->db, id, st);

	if (found < 0)
		return -1;
	if (found == 0)
		return 2;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(*st, "status");
	if (!cJSON_IsString(s) || strcmp(s->valuestring, "queued") != 0)
		return 1;
	return 1; /* the queue consumer arrives with the training lifecycle */
}

static void
serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	struct http_caps caps;
	long long id;
	cJSON *st = NULL;

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
	switch (train(ctx, id, &st)) {
	case 0:
		http_resp_json(resp, HTTP_202, st);
		return;
	case 1:
		log_info("avatar %lld not queued: nothing to start", id);
		cJSON_Delete(st);
		http_resp_error(resp, HTTP_409, "not_queued", "the avatar is not waiting to be trained");
		return;
	case 2:
		http_resp_error(resp, HTTP_404, "not_found", "no such avatar");
		return;
	default:
		http_resp_error(resp, HTTP_500, "internal", "try again later");
		return;
	}
}

static int
cli(struct app_ctx *ctx, int argc, char **argv)
{
	long long id;
	cJSON *st = NULL;

	if (argc != 2 || strcmp(argv[0], "--avatar") != 0 || app_parse_id(argv[1], &id) != 0) {
		fputs(usage, stderr);
		return 2;
	}
	int rc = train(ctx, id, &st);
	if (rc == 2)
		fprintf(stderr, "avatar %lld: not found\n", id);
	else if (rc == 1)
		fprintf(stderr, "avatar %lld: not queued\n", id);
	cJSON_Delete(st);
	return rc == 0 ? 0 : rc < 0 ? 1 : 3;
}

static const char *const required[] = {"DATABASE_URL", NULL};

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
