#include "operator_jobs.h"

#include <stdio.h>
#include <string.h>

#include "avatars.h"
#include "generations.h"
#include "jobs.h"
#include "log.h"
#include "trigger.h"

static const char *const avatar_statuses[] = {"draft", "photos", "ready", "queued",
    "submitting", "training", "completed", "error", "cancelled", NULL};
static const char *const training_types[] = {"portrait", "style", NULL};

/* A query value from a closed list: 1 (value in out, or "" when absent), 0 bad. */
static int
one_of(const char *query, const char *key, const char *const *allowed, char *out, size_t len)
{
	if (http_query_get(query, key, out, len) != 0) {
		out[0] = '\0';
		return !http_query_has(query, key);
	}
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(out, allowed[i]) == 0)
			return 1;
	return 0;
}

static void
list_avatars(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	char status[16], type[16];
	long long limit, before;

	if (!one_of(req->query, "status", avatar_statuses, status, sizeof(status)) ||
	    !one_of(req->query, "type", training_types, type, sizeof(type)) ||
	    !app_query_id(req->query, "limit", 50, 100, &limit) ||
	    !app_query_id(req->query, "before", 0, 1LL << 53, &before)) {
		http_resp_error(resp, HTTP_400, "bad_query", "status is an avatar status, type"
		    " portrait or style, limit 1..100, before an avatar id");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	int n = avatar_operator_list(&ctx->db, status[0] ? status : NULL, type[0] ? type : NULL,
	    before, (int)limit, items);
	if (n < 0) {
		cJSON_Delete(o);
		http_resp_error(resp, HTTP_500, "internal", "try again later");
		return;
	}
	const cJSON *last = cJSON_GetArrayItem(items, n - 1);
	if (n == limit && last != NULL)
		cJSON_AddNumberToObject(o, "next_before",
		    cJSON_GetObjectItemCaseSensitive(last, "id")->valuedouble);
	else
		cJSON_AddNullToObject(o, "next_before");
	http_resp_json(resp, HTTP_200, o);
}

static void
answer_ok(struct http_resp *resp, enum http_status code, long long id, const char *status)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "status", status);
	http_resp_json(resp, code, o);
}

/* The answer for an id whose row could not act: 404 when there is none. */
static void
not_now(struct app_ctx *ctx, bool avatar, long long id, const char *why,
    struct http_resp *resp)
{
	int exists = avatar ? avatar_exists(&ctx->db, id) : generation_exists(&ctx->db, id);

	if (exists < 0)
		http_resp_error(resp, HTTP_500, "internal", "try again later");
	else if (exists == 0)
		http_resp_error(resp, HTTP_404, "not_found", avatar ? "no such avatar" :
		    "no such generation");
	else
		http_resp_error(resp, HTTP_409, "conflict", why);
}

static void
retry(struct app_ctx *ctx, bool avatar, long long id, struct http_resp *resp)
{
	int n = avatar ? avatar_queue(&ctx->db, id, true) : generation_requeue(&ctx->db, id);

	if (n < 0) {
		http_resp_error(resp, HTTP_500, "internal", "try again later");
	} else if (n == 0) {
		not_now(ctx, avatar, id, "only a failed job (status error) can be retried", resp);
	} else if (avatar) {
		log_info("avatar %lld: queued again by the operator", id);
		trigger_training(id);
		answer_ok(resp, HTTP_202, id, "queued");
	} else {
		log_info("generation %lld: queued again by the operator", id);
		enum fal_start s = fal_job_start(ctx, &job_generation, id);
		answer_ok(resp, HTTP_202, id, s == FAL_START_STARTED ? "started" :
		    s == FAL_START_FAILED ? "error" : "queued");
	}
}

static void
cancel(struct app_ctx *ctx, bool avatar, long long id, struct http_resp *resp)
{
	switch (fal_job_cancel(ctx, avatar ? &job_training : &job_generation, id)) {
	case FAL_CANCEL_DONE:
		answer_ok(resp, HTTP_200, id, "error");
		break;
	case FAL_CANCEL_NOT_NOW:
		not_now(ctx, avatar, id, "only a queued job or one at FAL can be cancelled"
		    " (one being submitted: try again in a moment)", resp);
		break;
	case FAL_CANCEL_DB_ERROR:
		http_resp_error(resp, HTTP_500, "internal", "try again later");
		break;
	}
}

bool
operator_jobs_serve(struct app_ctx *ctx, const struct http_req *req, struct http_resp *resp)
{
	struct http_caps caps;
	long long id;
	bool avatar = true;
	void (*act)(struct app_ctx *, bool, long long, struct http_resp *) = NULL;

	if (strcmp(req->path, "/api/avatars") == 0) {
		if (app_method_is(req, "GET", resp) && app_require_admin(ctx, req, resp) == 0)
			list_avatars(ctx, req, resp);
		return true;
	}
	if (http_path_match("/api/avatars/{id}/retry", req->path, &caps))
		act = retry;
	else if (http_path_match("/api/avatars/{id}/cancel", req->path, &caps))
		act = cancel;
	else if (http_path_match("/api/generations/{id}/retry", req->path, &caps))
		act = retry, avatar = false;
	else if (http_path_match("/api/generations/{id}/cancel", req->path, &caps))
		act = cancel, avatar = false;
	else
		return false;
	if (!app_method_is(req, "POST", resp) || app_require_admin(ctx, req, resp) != 0)
		return true;
	if (app_parse_id(caps.v[0], &id) != 0)
		http_resp_error(resp, HTTP_400, "bad_id", "the id is a positive number");
	else
		act(ctx, avatar, id, resp);
	return true;
}
