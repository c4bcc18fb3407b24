/*
 * jobs — the kinds of FAL job Aisha runs, each put together from its
 * operations (training.c, generations.c) and what the person is told as it
 * moves (this module: the flow layer's part of the engine's descriptor).
 *
 * Every message about a job is composed here: a training started, its
 * progress, done, failed, timed out or never started; a generation's
 * picture, album and NSFW notice, or its failure.  Messages that end a job
 * are queued in the outbox in the job's own transaction (a dedupe key per
 * event, so each is sent once); progress is edited in place, best effort.
 */
#ifndef AISHA_JOBS_H
#define AISHA_JOBS_H

#include "fal_job.h"

extern const struct fal_kind job_training;
extern const struct fal_kind job_generation;

#endif
