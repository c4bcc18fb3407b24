/*
 * operator_jobs — the operator's HTTP API for FAL jobs (Bearer ADMIN_TOKEN,
 * served by check-status):
 *
 *   GET  /api/avatars?status=&type=&limit=&before=   newest first, paged by id
 *   POST /api/avatars/{id}/retry        a failed avatar back to the queue
 *                                       (charged again, as the person's own
 *                                       retry is), started in the background
 *   POST /api/avatars/{id}/cancel       a queued or training avatar ends
 *                                       "cancelled by the operator": refunded,
 *                                       the person told, FAL asked to drop it
 *   POST /api/generations/{id}/retry    a failed picture job queued again
 *                                       and started now (not charged again)
 *   POST /api/generations/{id}/cancel   as for avatars
 *
 * A route that cannot act now answers 409 with why; nothing changes.
 */
#ifndef AISHA_OPERATOR_JOBS_H
#define AISHA_OPERATOR_JOBS_H

#include <stdbool.h>

#include "app.h"

/* true when req was one of these routes (and resp is its answer). */
bool operator_jobs_serve(struct app_ctx *ctx, const struct http_req *req,
    struct http_resp *resp);

#endif
