/*
 * fal_events — the FAL webhook payload, parsed and checked, and its audit
 * row.  A payload is {request_id, gateway_request_id?, status, payload?,
 * error?, payload_error?} (contracts/fal.md).
 */
#ifndef AISHA_FAL_EVENTS_H
#define AISHA_FAL_EVENTS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "db.h"

struct fal_webhook {
	cJSON *root;
	const char *request_id;
	const char *gateway_request_id; /* NULL when absent */
	const char *status;             /* "OK", "ERROR", … */
	const cJSON *payload;           /* may be NULL or JSON null */
	const char *error;              /* may be NULL */
	const char *payload_error;      /* may be NULL */
};

/* 0, or -1 with a reason in why. */
int fal_webhook_parse(struct fal_webhook *w, const char *body, size_t len,
    char *why, size_t whylen);
void fal_webhook_free(struct fal_webhook *w);

/* Appends the audit row; 0 or -1. */
int fal_events_record(struct db *db, const struct fal_webhook *w,
    bool authentic, const char *outcome);

#endif
