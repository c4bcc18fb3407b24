/*
 * schema — what the build knows of the migrations (schema_files.c is
 * generated next to the objects).
 */
#include "schema.h"

#include <string.h>

const char *
schema_latest(void)
{
	static char v[4];

	if (schema_nfiles == 0)
		return "";
	memcpy(v, schema_files[schema_nfiles - 1].name, 3);
	v[3] = '\0';
	return v;
}
