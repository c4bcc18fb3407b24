/*
 * operator_stats — what the dashboard (issue 14) and an operator's scripts
 * read (Bearer ADMIN_TOKEN, served by check-status):
 *
 *   GET /api/stats?days=N         users (total, new today); trainings per UTC
 *                                 day by type and outcome; success rate and
 *                                 median / p90 training time by type and
 *                                 trainer; generations per day by status;
 *                                 credits bought and refunded per day
 *   GET /api/attention            jobs stuck past their time, jobs failed in
 *                                 the last 24 h with FAL's error, messages
 *                                 Telegram keeps refusing, updates recorded
 *                                 as failed
 *   GET /api/people?q=            people by Telegram id or @username (up to
 *                                 20); GET /api/users/{id} has the rest
 *
 * Each figure is one statement that builds its JSON in the database.
 */
#ifndef AISHA_OPERATOR_STATS_H
#define AISHA_OPERATOR_STATS_H

#include <stdbool.h>

#include "app.h"

/* true when req was one of these routes (and resp is its answer). */
bool operator_stats_serve(struct app_ctx *ctx, const struct http_req *req,
    struct http_resp *resp);

#endif
