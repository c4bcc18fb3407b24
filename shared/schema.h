/*
 * schema — the migrations, compiled in (tools/embed-schema.sh writes them
 * from schema/NNN_name.sql at build time).  `migrate` applies them; every
 * function compares the newest version here with the database's
 * schema_migrations, so /healthz fails while a migration is pending.
 */
#ifndef AISHA_SCHEMA_H
#define AISHA_SCHEMA_H

#include <stddef.h>

struct schema_file {
	const char *name; /* "001_initial.sql" */
	const char *sql;
};

extern const struct schema_file schema_files[];
extern const size_t schema_nfiles;

/* The newest version this build knows ("011"), "" with none. */
const char *schema_latest(void);

#endif
