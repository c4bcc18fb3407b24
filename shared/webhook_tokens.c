/*
 * webhook_tokens — see webhook_tokens.h.
 */
#include "webhook_tokens.h"

#include <string.h>

#include <sodium.h>

#include "auth.h"

static struct db_stmt st_issue = DB_STMT("webhook_token_issue",
    "INSERT INTO fal_webhook_tokens (kind, job_id, token_hash) VALUES ($1, $2, $3)"
    " ON CONFLICT (kind, job_id) DO UPDATE"
    " SET token_hash = EXCLUDED.token_hash, issued_at = now()");
static struct db_stmt st_get = DB_STMT("webhook_token_get",
    "SELECT token_hash FROM fal_webhook_tokens WHERE kind = $1 AND job_id = $2");
static struct db_stmt st_prune = DB_STMT("webhook_tokens_prune",
    "DELETE FROM fal_webhook_tokens WHERE issued_at < now() - interval '7 days'");

int
webhook_token_issue(struct db *db, const char *secret, const char *kind, int64_t id,
    char out[WEBHOOK_TOKEN_LEN + 1])
{
	struct db_params p;
	char hash[65];

	auth_random_b64(out, WEBHOOK_TOKEN_LEN + 1, 32);
	auth_token_hash(secret, out, hash);
	db_params_init(&p);
	db_p_str(&p, kind);
	db_p_i64(&p, id);
	db_p_str(&p, hash);
	return db_exec(db, &st_issue, &p);
}

int
webhook_token_check(struct db *db, const char *secret, const char *kind, int64_t id,
    const char *token)
{
	struct db_params p;
	char given[65];

	if (token == NULL || strlen(token) != WEBHOOK_TOKEN_LEN)
		return 0;
	db_params_init(&p);
	db_p_str(&p, kind);
	db_p_i64(&p, id);
	PGresult *r = db_run(db, &st_get, &p);
	if (r == NULL)
		return -1;
	int ok = 0;
	if (PQntuples(r) == 1) {
		auth_token_hash(secret, token, given);
		ok = strlen(db_str(r, 0, 0)) == 64 &&
		    sodium_memcmp(given, db_str(r, 0, 0), 64) == 0;
	}
	PQclear(r);
	return ok;
}

int
webhook_tokens_prune(struct db *db)
{
	return db_affected(db, &st_prune, NULL);
}
