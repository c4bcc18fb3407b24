/*
 * one_select — the one-round-trip limit for the benchmark (issue 18): a
 * FastCGI program behind the same lighttpd that, per request, runs one
 * prepared SELECT of a known user (GET /bench/one?id=N, the telegram id) and
 * answers its row as JSON built with cJSON.  Nothing else: no transaction,
 * no write.  The Python peer (fastapi_peer.py) does the same job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <fcgiapp.h>
#include <libpq-fe.h>

static const char sql[] =
    "SELECT id, telegram_id, lang, first_name FROM users WHERE telegram_id = $1";

static PGconn *
connect_db(void)
{
	const char *url = getenv("DATABASE_URL");
	PGconn *c = PQconnectdb(url ? url : "");

	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	PGresult *r = PQprepare(c, "one", sql, 1, NULL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* The id in "id=N" of the query string, or "0". */
static void
query_id(const char *qs, char *out, size_t len)
{
	const char *p = qs ? strstr(qs, "id=") : NULL;
	size_t n = 0;

	if (p != NULL)
		for (p += 3; p[n] >= '0' && p[n] <= '9' && n + 1 < len; n++)
			out[n] = p[n];
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
}

static char *
answer(PGconn *db, const char *id, int *status)
{
	const char *v[1] = {id};
	PGresult *r = PQexecPrepared(db, "one", 1, v, NULL, NULL, 0);
	cJSON *o = cJSON_CreateObject();

	*status = 500;
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		*status = PQntuples(r) == 1 ? 200 : 404;
		cJSON_AddBoolToObject(o, "ok", *status == 200);
		if (*status == 200) {
			cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(r, 0, 0)));
			cJSON_AddNumberToObject(o, "telegram_id", atof(PQgetvalue(r, 0, 1)));
			cJSON_AddStringToObject(o, "lang", PQgetvalue(r, 0, 2));
			cJSON_AddStringToObject(o, "first_name", PQgetvalue(r, 0, 3));
		}
	}
	PQclear(r);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int
main(void)
{
	FCGX_Request rq;
	PGconn *db = connect_db();
	char id[24];

	if (db == NULL || FCGX_Init() != 0 || FCGX_InitRequest(&rq, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&rq) >= 0) {
		int status;
		query_id(FCGX_GetParam("QUERY_STRING", rq.envp), id, sizeof(id));
		char *body = answer(db, id, &status), head[160];
		/* fcgi2's own printf knows no %zu: the head is built here */
		int n = snprintf(head, sizeof(head), "Status: %d\r\nContent-Type: application/json"
		    "\r\nContent-Length: %zu\r\n\r\n", status, strlen(body));
		FCGX_PutStr(head, n, rq.out);
		FCGX_PutS(body, rq.out);
		cJSON_free(body);
		FCGX_Finish_r(&rq);
	}
	PQfinish(db);
	return 0;
}
