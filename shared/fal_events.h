/*
 * fal_events — the FAL webhook payload, parsed and checked, and its audit
 * row.  A payload is {request_id, gateway_request_id?, status, payload?,
 * error?, payload_error?} (contracts/fal.md).
 *
 * An authentic call that changed a job is kept whole for 90 days; of any
 * other call (refused, or a repeat) only the outcome and the first
 * FAL_EVENT_PREFIX bytes — refused ones for 7 days.  Neither an anonymous
 * client nor a leaked token can grow the database by what it sends.
 */
#ifndef AISHA_FAL_EVENTS_H
#define AISHA_FAL_EVENTS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "db.h"

#define FAL_EVENT_PREFIX 1024

struct fal_webhook {
	const char *body;               /* the raw body (the caller's) */
	const char *source;             /* the caller's address, may be NULL */
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

/* Appends the audit row (outcome: what became of the call, or why it was
 * refused), the whole body only when authentic and whole; 0 or -1. */
int fal_events_record(struct db *db, const struct fal_webhook *w, bool authentic,
    bool whole, const char *outcome);
/* Removes audit rows past their retention; how many, or -1. */
int fal_events_prune(struct db *db);

#endif
