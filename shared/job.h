/*
 * job — what every FAL job row holds, whatever its kind (an avatar's
 * training, a generation): its owner and where to tell them, its claim and
 * its FAL request.  A kind's table module (avatars.c, generations.c) fills
 * it; the engine (fal_job.c) reads it.  A kind's own row struct begins with
 * a struct job, so the engine can hold any kind's row through it.
 */
#ifndef AISHA_JOB_H
#define AISHA_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "texts.h"

struct job {
	int64_t id, user_id, chat_id;
	enum lang lang;
	int attempts;          /* claims since it was queued */
	int64_t claim_epoch;   /* when it was claimed (keys a not-started notice) */
	bool in_flight;        /* a locked row: still waiting for its result */
	bool adopted;          /* its request was first learned from its result */
	char request_id[201];  /* FAL's, once submitted */
	char endpoint[201];
	char status_url[512], response_url[512];
	int elapsed;           /* seconds since it was submitted (the poller's rows) */
	char charge_ref[80];   /* its charge's ledger reference (credits.h) */
};

/* Every kind's row list begins with these columns, in this order: id,
 * user_id, chat_id, lang, attempts, the claim's epoch seconds (0 when not
 * claimed), in flight (bool), request id ('' when none), endpoint, the
 * charge's reference. */
#define JOB_HEAD_NCOLS 10
/* Reads them from row i of r into *j (the rest of *j zeroed). */
void job_read(const PGresult *r, int i, struct job *j);

#endif
