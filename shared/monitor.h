/*
 * monitor — what the database says about the running service, for the
 * operator: GET /metrics (Prometheus text: the node's counters from
 * metrics.c, then jobs by status and type, the outbox, the checkers, the
 * day's FAL spend) and GET /api/overview (the same as JSON, with the
 * oldest queued and in-flight jobs).  Read at request time, one statement
 * per figure, nothing stored.
 */
#ifndef AISHA_MONITOR_H
#define AISHA_MONITOR_H

#include "app.h"
#include "sbuf.h"

/* Appends the database's gauges to out; -1 when the database failed. */
int monitor_metrics(struct app_ctx *ctx, struct sbuf *out);
/* The overview object, or NULL when the database failed. */
cJSON *monitor_overview(struct app_ctx *ctx);

#endif
