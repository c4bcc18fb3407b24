/*
 * payments — see payments.h.
 */
#include "payments.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct db_stmt st_record = DB_STMT("payments_record",
    "INSERT INTO payments (charge_id, user_id, telegram_id, credits, stars, payload)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (charge_id) DO NOTHING RETURNING 1");
static struct db_stmt st_get = DB_STMT("payments_get",
    "SELECT charge_id, user_id, telegram_id, credits, stars, refunded_at IS NOT NULL"
    " FROM payments WHERE charge_id = $1");
static struct db_stmt st_refunded = DB_STMT("payments_mark_refunded",
    "UPDATE payments SET refunded_at = now(), credits_taken = $2"
    " WHERE charge_id = $1 AND refunded_at IS NULL RETURNING 1");

int
payments_payload(char *out, size_t len, int credits, int stars, int64_t user_id)
{
	int n = snprintf(out, len, "pack:%d:%d:%" PRId64, credits, stars, user_id);

	return n > 0 && (size_t)n < len && n <= 128 ? 0 : -1;
}

/* A positive decimal without sign or leading zeros, up to max, ending at
 * stop; *s moves past it. */
static int
number(const char **s, char stop, int64_t max, int64_t *out)
{
	const char *p = *s;
	int64_t v = 0;

	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > max)
			return -1;
	}
	if (*p != stop)
		return -1;
	*out = v;
	*s = stop ? p + 1 : p;
	return 0;
}

int
payments_parse_payload(const char *s, int *credits, int *stars, int64_t *user_id)
{
	int64_t c, st;

	if (s == NULL || strncmp(s, "pack:", 5) != 0)
		return -1;
	s += 5;
	if (number(&s, ':', 1000000, &c) != 0 || number(&s, ':', 100000, &st) != 0 ||
	    number(&s, '\0', 9007199254740991LL, user_id) != 0)
		return -1;
	*credits = (int)c;
	*stars = (int)st;
	return 0;
}

int
payments_record(struct db *db, const struct payment *p, const char *payload)
{
	struct db_params q;

	db_params_init(&q);
	db_p_str(&q, p->charge_id);
	db_p_i64(&q, p->user_id);
	db_p_i64(&q, p->telegram_id);
	db_p_i64(&q, p->credits);
	db_p_i64(&q, p->stars);
	db_p_str(&q, payload);
	PGresult *r = db_run(db, &st_record, &q);
	int n = r == NULL ? -1 : PQntuples(r) == 1;
	PQclear(r);
	return n;
}

int
payments_get(struct db *db, const char *charge_id, struct payment *out)
{
	struct db_params q;

	memset(out, 0, sizeof(*out));
	db_params_init(&q);
	db_p_str(&q, charge_id);
	PGresult *r = db_run(db, &st_get, &q);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found) {
		snprintf(out->charge_id, sizeof(out->charge_id), "%s", db_str(r, 0, 0));
		out->user_id = db_i64(r, 0, 1);
		out->telegram_id = db_i64(r, 0, 2);
		out->credits = (int)db_i64(r, 0, 3);
		out->stars = (int)db_i64(r, 0, 4);
		out->refunded = db_bool(r, 0, 5);
	}
	PQclear(r);
	return found;
}

int
payments_mark_refunded(struct db *db, const char *charge_id, int credits_taken)
{
	struct db_params q;

	db_params_init(&q);
	db_p_str(&q, charge_id);
	db_p_i64(&q, credits_taken);
	PGresult *r = db_run(db, &st_refunded, &q);
	int n = r == NULL ? -1 : PQntuples(r) == 1;
	PQclear(r);
	return n;
}
