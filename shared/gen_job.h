/*
 * gen_job — image generation as a kind of FAL job (fal_job.h): the
 * generations table's operations (generations.c) and the pictures'
 * (images.c), the generator's input (fal_models.c), its price (billing.h).
 * In test mode the job completes at once with placeholder JPEGs served from
 * MEDIA_DIR.  What the person is told is the flow layer's (jobs.c).
 */
#ifndef AISHA_GEN_JOB_H
#define AISHA_GEN_JOB_H

#include "fal_job.h"

extern const struct fal_job_ops gen_job_ops;

/* What one generation of num_images pictures costs. */
void gen_job_bill(const struct config *c, int num_images, struct job_bill *b);

#endif
