/*
 * maintenance — the two passes cron runs, over every kind of FAL job.
 *
 *   status pass (check-status --all, every minute): polls trainings and
 *   generations in flight at FAL (the fallback when a webhook is lost),
 *   fails generations past GEN_TIMEOUT, and sends the notifications that
 *   are due.
 *   startup pass (check-status --startup, at boot and every 5 minutes):
 *   crashed training claims back to the queue, trainings past
 *   FAL_TRAINING_TIMEOUT failed, published zips of finished trainings
 *   removed, old dedupe and failed-update rows pruned, due notifications sent.
 *
 * It owns no table: each step is a named operation of the module that owns
 * the rows (avatars, updates, outbox) or of the job engine (fal_job.c with
 * the kinds of jobs.c).  Counters go into the
 * summary the command prints.
 */
#ifndef AISHA_MAINTENANCE_H
#define AISHA_MAINTENANCE_H

#include <cjson/cJSON.h>

#include "app.h"

/* 0, or -1 when a step failed (the others still ran). */
int maintenance_status_pass(struct app_ctx *ctx, cJSON *summary);
int maintenance_startup(struct app_ctx *ctx, cJSON *summary);

#endif
