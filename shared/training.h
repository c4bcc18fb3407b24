/*
 * training — an avatar's training as a kind of FAL job (fal_job.h):
 *
 *   queued ─claim─▶ submitting ─submit─▶ training ─finish─▶ completed | error
 *
 * The operations on the avatar's rows are avatars.c's, the photos' zip is
 * training_zip.c's, the trainer's input is fal_models.c's; this module
 * puts them together as the engine asks.  What the person is told is the
 * flow layer's (jobs.c), which pairs these operations with it.
 */
#ifndef AISHA_TRAINING_H
#define AISHA_TRAINING_H

#include "fal_job.h"

/* Claims per queueing while FAL or Telegram is unavailable. */
#define TRAINING_MAX_ATTEMPTS 5

extern const struct fal_job_ops training_ops;

/* What one training costs (billing.h). */
void training_bill(const struct config *c, struct job_bill *b);

/* Minutes a training is expected to take (what the person is told). */
int training_minutes(const struct config *c, bool style);

#endif
