#include "avatars.h"

#include <stdlib.h>

static struct db_stmt st_status = DB_STMT("avatar_status",
    "SELECT json_build_object("
    "  'id', a.id, 'user_id', a.user_id, 'name', a.name, 'status', a.status,"
    "  'training_type', a.training_type, 'gender', a.gender,"
    "  'training_progress', a.training_progress, 'fal_request_id', a.fal_request_id,"
    "  'fal_endpoint', a.fal_endpoint, 'attempts', a.attempts,"
    "  'photos', (SELECT count(*) FROM avatar_photos p WHERE p.avatar_id = a.id),"
    "  'training_error', a.training_error, 'finetune_id', a.finetune_id,"
    "  'diffusers_lora_file_url', a.diffusers_lora_file_url,"
    "  'last_status_check', a.last_status_check, 'created_at', a.created_at,"
    "  'training_started_at', a.training_started_at,"
    "  'training_completed_at', a.training_completed_at)::text"
    " FROM avatars a WHERE a.id = $1 AND a.deleted_at IS NULL");

int
avatar_status_json(struct db *db, int64_t id, cJSON **out)
{
	struct db_params p;

	*out = NULL;
	db_params_init(&p);
	db_p_i64(&p, id);
	PGresult *r = db_run(db, &st_status, &p);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		*out = cJSON_Parse(db_str(r, 0, 0));
	PQclear(r);
	if (found && *out == NULL)
		abort(); /* PostgreSQL's JSON always parses */
	return found;
}
