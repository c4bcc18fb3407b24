/*
 * metrics — counters every worker of a node shares, for GET /metrics
 * (Prometheus text format).
 *
 * The workers are separate processes, so the counters live in one small
 * file mapped by all of them ($AISHA_VAR_DIR/run/metrics.shm): a table of
 * named counters ("aisha_updates_total{kind=\"message\",outcome=\"handled\"}")
 * added to atomically, and one latency histogram per program.  Nothing is
 * written to the database on the hot path.  Without AISHA_VAR_DIR (a CGI on
 * shared hosting) the counters are the process's own.  What the database
 * knows (jobs by status, the outbox, the checkers) is read at scrape time
 * by operator_api.c.
 */
#ifndef AISHA_METRICS_H
#define AISHA_METRICS_H

#include <stdbool.h>

#include "sbuf.h"

/* Maps the node's counters (once per process; NULL dir: process-local). */
void metrics_open(const char *var_dir);

/* counter{labels} += 1.  family: "aisha_updates_total"; labels: pairs of
 * name and value, NULL-terminated (values must be plain tokens). */
void metrics_inc(const char *family, ...);
/* One request of program answered with code after ms. */
void metrics_request(const char *program, int code, double ms);
/* A Bot API call's outcome ("ok", "429", "403", "4xx", "5xx", "network"). */
void metrics_bot_api(const char *method, long http, bool ok);

/* The counters and histograms in Prometheus text format. */
void metrics_render(struct sbuf *out);

#endif
