#include "fal_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static struct db_stmt st_record = DB_STMT("fal_events_record",
    "INSERT INTO fal_events (request_id, gateway_request_id, status, authentic,"
    " outcome, payload, source, avatar_id)"
    " VALUES ($1, $2, $3, $4, $5, $6::jsonb, left($7, 64),"
    "  (SELECT id FROM avatars WHERE fal_request_id = $1))");

static const char *
opt_str(const cJSON *o, const char *k, size_t max, int *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
		*bad = 1;
		return NULL;
	}
	return v->valuestring;
}

int
fal_webhook_parse(struct fal_webhook *w, const char *body, size_t len, char *why,
    size_t whylen)
{
	int bad = 0;

	memset(w, 0, sizeof(*w));
	w->body = body;
	if (!utf8_valid(body, len) || strlen(body) != len) {
		snprintf(why, whylen, "body is not valid UTF-8");
		return -1;
	}
	w->root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(w->root)) {
		snprintf(why, whylen, "body is not a JSON object");
		return -1;
	}
	w->request_id = opt_str(w->root, "request_id", 200, &bad);
	w->gateway_request_id = opt_str(w->root, "gateway_request_id", 200, &bad);
	w->status = opt_str(w->root, "status", 32, &bad);
	w->error = opt_str(w->root, "error", 4000, &bad);
	w->payload_error = opt_str(w->root, "payload_error", 4000, &bad);
	w->payload = cJSON_GetObjectItemCaseSensitive(w->root, "payload");
	if (bad || w->request_id == NULL || *w->request_id == '\0' || w->status == NULL) {
		snprintf(why, whylen, "request_id and status must be non-empty strings");
		return -1;
	}
	if (w->payload != NULL && !cJSON_IsObject(w->payload) && !cJSON_IsNull(w->payload)) {
		snprintf(why, whylen, "payload must be an object or null");
		return -1;
	}
	return 0;
}

void
fal_webhook_free(struct fal_webhook *w)
{
	if (w == NULL)
		return;
	cJSON_Delete(w->root);
	w->root = NULL;
}

/* What is kept of a call that changed nothing: the reason and the first
 * FAL_EVENT_PREFIX bytes of its body (whole characters), never the body. */
static char *
summary(const char *body, const char *why)
{
	char prefix[FAL_EVENT_PREFIX + 1];
	cJSON *o = cJSON_CreateObject();

	utf8_copy(prefix, sizeof(prefix), body ? body : "", FAL_EVENT_PREFIX);
	utf8_clean(prefix);
	cJSON_AddStringToObject(o, "summary", why);
	cJSON_AddStringToObject(o, "prefix", prefix);
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return json;
}

int
fal_events_record(struct db *db, const struct fal_webhook *w, bool authentic, bool whole,
    const char *outcome)
{
	struct db_params p;
	char *json = !authentic || !whole || w->root == NULL ? summary(w->body, outcome) :
	    cJSON_PrintUnformatted(w->root);

	db_params_init(&p);
	db_p_str(&p, w->request_id);
	db_p_str(&p, w->gateway_request_id);
	db_p_str(&p, w->status);
	db_p_bool(&p, authentic);
	db_p_str(&p, outcome);
	db_p_str(&p, json);
	db_p_str(&p, w->source);
	int rc = db_exec(db, &st_record, &p);
	cJSON_free(json);
	return rc;
}

static struct db_stmt st_prune = DB_STMT("fal_events_prune",
    "DELETE FROM fal_events WHERE received_at < now() - CASE WHEN authentic"
    " THEN interval '90 days' ELSE interval '7 days' END");

int
fal_events_prune(struct db *db)
{
	return db_affected(db, &st_prune, NULL);
}
