/*
 * job — see job.h.
 */
#include "job.h"

#include <stdio.h>
#include <string.h>

void
job_read(const PGresult *r, int i, struct job *j)
{
	memset(j, 0, sizeof(*j));
	j->id = db_i64(r, i, 0);
	j->user_id = db_i64(r, i, 1);
	j->chat_id = db_i64(r, i, 2);
	(void)lang_parse(db_str(r, i, 3), &j->lang);
	j->attempts = (int)db_i64(r, i, 4);
	j->claim_epoch = db_i64(r, i, 5);
	j->in_flight = db_bool(r, i, 6);
	snprintf(j->request_id, sizeof(j->request_id), "%s", db_str(r, i, 7));
	snprintf(j->endpoint, sizeof(j->endpoint), "%s", db_str(r, i, 8));
	snprintf(j->charge_ref, sizeof(j->charge_ref), "%s", db_str(r, i, 9));
}
