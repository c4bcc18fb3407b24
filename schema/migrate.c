/*
 * migrate — applies the migrations in order, each in its own
 * transaction together with its schema_migrations row, so a migration is
 * either wholly applied and recorded or not at all.  An advisory lock keeps
 * two migrates (two hosts starting at once) from racing.
 *
 *   migrate [--dir DIR]            apply what is pending (idempotent)
 *   migrate status [--dir DIR]     list applied / pending / changed-since
 *   … --wait N                     first wait up to N seconds for the
 *                                  database to answer (a boot, a restart)
 *
 * The migrations are compiled in (schema.h: schema/NNN_name.sql at build
 * time), so an installed migrate needs no schema folder; --dir reads a
 * folder instead (a migration being written, the tests).
 *
 * The migration files are the repository's own trusted SQL with many
 * statements, so they alone go through PQexec; every statement that carries
 * a value uses PQexecParams.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "config.h"
#include "sbuf.h"
#include "schema.h"

extern char **environ;

#define LOCK_KEY "4242001"

struct migration {
	char version[16]; /* "001" */
	char *file;       /* "001_initial.sql" */
	char *sql;
	char sum[65];     /* hex sha256 of the file */
};

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct sbuf b = SBUF_INIT;
	char buf[8192];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_addn(&b, buf, n);
	fclose(f);
	return sbuf_take(&b);
}

static void
checksum(struct migration *m)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)m->sql, strlen(m->sql));
	sodium_bin2hex(m->sum, sizeof(m->sum), h, sizeof(h));
}

/* NNN_name.sql files of dir, sorted. */
static int
load(const char *dir, struct migration **out, size_t *nout)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (d == NULL) {
		fprintf(stderr, "migrate: cannot open %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 8 || strcmp(e->d_name + l - 4, ".sql") != 0 ||
		    strspn(e->d_name, "0123456789") != 3 || e->d_name[3] != '_')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	*out = xcalloc(n, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		struct migration *m = &(*out)[i];
		struct sbuf path = SBUF_INIT;
		sbuf_addf(&path, "%s/%s", dir, names[i]);
		m->file = names[i];
		memcpy(m->version, names[i], 3);
		m->sql = read_file(path.p);
		sbuf_free(&path);
		if (m->sql == NULL) {
			fprintf(stderr, "migrate: cannot read %s\n", names[i]);
			m->sql = xstrdup("");
		}
		checksum(m);
	}
	free(names);
	*nout = n;
	return 0;
}

/* The migrations this build holds. */
static int
load_compiled(struct migration **out, size_t *nout)
{
	*out = xcalloc(schema_nfiles ? schema_nfiles : 1, sizeof(**out));
	for (size_t i = 0; i < schema_nfiles; i++) {
		struct migration *m = &(*out)[i];
		m->file = xstrdup(schema_files[i].name);
		memcpy(m->version, m->file, 3);
		m->sql = xstrdup(schema_files[i].sql);
		checksum(m);
	}
	*nout = schema_nfiles;
	return 0;
}

static int
ok(PGconn *c, PGresult *r, const char *what)
{
	ExecStatusType s = PQresultStatus(r);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return 1;
	fprintf(stderr, "migrate: %s: %s", what, PQerrorMessage(c));
	return 0;
}

static int
simple(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
	int good = ok(c, r, what);

	PQclear(r);
	return good ? 0 : -1;
}

/* The checksum recorded for version, "" when applied without one, NULL when
 * not applied.  Result in buf. */
static const char *
applied_sum(PGconn *c, const char *version, char *buf, size_t len)
{
	const char *p[1] = {version};
	PGresult *r = PQexecParams(c,
	    "SELECT coalesce(checksum, '') FROM schema_migrations WHERE version = $1",
	    1, NULL, p, NULL, NULL, 0);
	const char *out = NULL;

	if (ok(c, r, "read schema_migrations") && PQntuples(r) == 1) {
		snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
		out = buf;
	}
	PQclear(r);
	return out;
}

static int
apply(PGconn *c, const struct migration *m)
{
	const char *p[3] = {m->version, m->file, m->sum};

	if (simple(c, "BEGIN", "begin") != 0)
		return -1;
	PGresult *r = PQexec(c, m->sql); /* trusted file from schema/ */
	int good = ok(c, r, m->file);
	PQclear(r);
	if (good) {
		r = PQexecParams(c, "INSERT INTO schema_migrations (version, name, checksum)"
		    " VALUES ($1, $2, $3)", 3, NULL, p, NULL, NULL, 0);
		good = ok(c, r, "record migration");
		PQclear(r);
	}
	if (!good) {
		(void)simple(c, "ROLLBACK", "rollback");
		return -1;
	}
	return simple(c, "COMMIT", "commit");
}

static int
run(PGconn *c, const char *dir, int status_only)
{
	struct migration *ms = NULL;
	size_t n = 0, pending = 0, applied = 0;
	int rc = 0;
	char sum[80];

	if ((dir != NULL ? load(dir, &ms, &n) : load_compiled(&ms, &n)) != 0)
		return 1;
	if (simple(c, "SELECT pg_advisory_lock(" LOCK_KEY ")", "lock") != 0 ||
	    simple(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	        " version text PRIMARY KEY, name text NOT NULL, checksum text,"
	        " applied_at timestamptz NOT NULL DEFAULT now())", "create schema_migrations") != 0) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *have = applied_sum(c, ms[i].version, sum, sizeof(sum));
		if (have != NULL) {
			applied++;
			int changed = *have && strcmp(have, ms[i].sum) != 0;
			if (status_only || changed)
				printf("applied  %s%s\n", ms[i].file,
				    changed ? "  (WARNING: file changed since it was applied)" : "");
			continue;
		}
		pending++;
		if (status_only) {
			printf("pending  %s\n", ms[i].file);
			continue;
		}
		if (apply(c, &ms[i]) != 0) {
			rc = 1;
			break;
		}
		printf("applied  %s\n", ms[i].file);
	}
	if (rc == 0)
		printf("migrate: %zu applied, %zu %s\n", applied + (status_only ? 0 : pending),
		    pending, status_only ? "pending" : "newly applied");
	(void)simple(c, "SELECT pg_advisory_unlock(" LOCK_KEY ")", "unlock");
out:
	for (size_t i = 0; i < n; i++) {
		free(ms[i].file);
		free(ms[i].sql);
	}
	free(ms);
	return rc;
}

/* The connection, tried once a second for up to wait seconds. */
static PGconn *
connect_waiting(const char *url, int wait)
{
	PGconn *c = PQconnectdb(url);

	for (int i = 0; i < wait && PQstatus(c) != CONNECTION_OK; i++) {
		if (i == 0)
			fprintf(stderr, "migrate: waiting up to %d s for the database\n", wait);
		PQfinish(c);
		sleep(1);
		c = PQconnectdb(url);
	}
	return c;
}

static void
warn_line(const char *line)
{
	fprintf(stderr, "migrate: warning: %s\n", line);
}

int
main(int argc, char **argv)
{
	struct config cfg;
	char err[300];
	const char *dir = NULL; /* the compiled-in migrations */
	int status_only = 0, wait = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "status") == 0)
			status_only = 1;
		else if (strcmp(argv[i], "up") == 0)
			status_only = 0;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc &&
		    (wait = atoi(argv[i + 1])) >= 0 && wait <= 3600)
			i++;
		else {
			fprintf(stderr, "usage: migrate [up|status] [--dir DIR] [--wait SECONDS]\n");
			return strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	if (sodium_init() < 0 || config_load(&cfg, environ, err, sizeof(err)) != 0 ||
	    config_require(&cfg, "DATABASE_URL", err, sizeof(err)) != 0) {
		fprintf(stderr, "migrate: %s\n", err);
		config_free(&cfg);
		return 78;
	}
	config_each_warning(&cfg, warn_line);
	PGconn *c = connect_waiting(cfg.database_url, wait);
	config_free(&cfg);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "migrate: cannot connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	(void)simple(c, "SET client_min_messages = warning", "quiet notices");
	int rc = run(c, dir, status_only);
	PQfinish(c);
	return rc;
}
