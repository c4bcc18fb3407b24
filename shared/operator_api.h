/*
 * operator_api — the operator's HTTP API for people and money (Bearer
 * ADMIN_TOKEN, served by check-status):
 *
 *   GET  /metrics                        Prometheus text (monitor.h; also
 *                                        without the token from 127.0.0.1)
 *   GET  /api/overview                   counts, oldest jobs, outbox, checkers
 *   (the job routes: operator_jobs.h)
 *   GET  /api/users/{id}                 balance, last ledger entries, jobs
 *   POST /api/users/{id}/credits         {"delta", "key", "note"}: a grant
 *                                        (+) or a deduction (−), once per key
 *   POST /api/payments/{charge}/refund   refundStarPayment, then the pack's
 *                                        credits taken back (never below
 *                                        zero: it says what it could not take)
 *
 * {id} is the user's Telegram id.  Every body is checked before anything
 * changes; a bad one gets 400 and changes nothing.
 */
#ifndef AISHA_OPERATOR_API_H
#define AISHA_OPERATOR_API_H

#include <stdbool.h>

#include "app.h"

/* true when req was one of these routes (and resp is its answer). */
bool operator_api_serve(struct app_ctx *ctx, const struct http_req *req,
    struct http_resp *resp);

#endif
