/*
 * log — formats the whole line in one buffer and writes it with a single
 * write(2), so lines from concurrent workers sharing lighttpd's error log do
 * not interleave.  Control characters anywhere after the timestamp — in the
 * message and in the context, which may hold values from outside (a FAL
 * request id, a header) — are written as \xNN: one event, one line, and
 * nobody can forge a line.
 *
 * LOG_FORMAT=json writes the same event as one JSON object per line: time
 * (UTC, milliseconds), level, program, the context's ids as fields (req →
 * request_id, upd → update_id, user, avatar, generation, fal) and event.
 */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static const char *log_prog = "aisha";
static enum log_level log_min = LOG_INFO;
static char log_ctx[160];
static bool log_json;

static const char *const log_names[] = {
	[LOG_DEBUG] = "DEBUG", [LOG_INFO] = "INFO",
	[LOG_WARN] = "WARN", [LOG_ERROR] = "ERROR",
};

void
log_init(const char *program, enum log_level min)
{
	log_prog = program;
	log_min = min;
}

void
log_set_level(enum log_level min)
{
	log_min = min;
}

void
log_set_json(bool on)
{
	log_json = on;
}

void
log_set_ctx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log_ctx, sizeof(log_ctx), fmt, ap);
	va_end(ap);
}

void
log_clear_ctx(void)
{
	log_ctx[0] = '\0';
}

int
log_level_parse(const char *s, enum log_level *out)
{
	static const char *const low[] = {"debug", "info", "warn", "error"};

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, low[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* The context's "k=v k=v" as fields; all-digit values as numbers. */
static void
ctx_fields(cJSON *o)
{
	static const char *const names[][2] = {{"req", "request_id"}, {"upd", "update_id"},
	    {"fal", "fal_request"}};
	char buf[sizeof(log_ctx)], *save = NULL;

	memcpy(buf, log_ctx, sizeof(buf));
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');
		if (eq == NULL || eq == t)
			continue;
		*eq = '\0';
		const char *k = t, *v = eq + 1;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(k, names[i][0]) == 0)
				k = names[i][1];
		size_t d = strspn(v, "0123456789");
		if (d > 0 && d < 16 && v[d] == '\0')
			cJSON_AddNumberToObject(o, k, strtod(v, NULL));
		else
			cJSON_AddStringToObject(o, k, v);
	}
}

static void
write_json(enum log_level lvl, const char *msg)
{
	static const char *const low[] = {"debug", "info", "warn", "error"};
	struct timespec ts;
	struct tm tm;
	char when[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddStringToObject(o, "level", low[lvl]);
	cJSON_AddStringToObject(o, "program", log_prog);
	ctx_fields(o);
	cJSON_AddStringToObject(o, "event", msg);
	char *js = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (js == NULL)
		return;
	size_t len = strlen(js);
	char *line = realloc(js, len + 2);
	if (line == NULL) {
		free(js);
		return;
	}
	line[len] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len + 1);
	(void)w;
	free(line);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[1024];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	if (lvl < log_min)
		return;
	if (log_json) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		write_json(lvl, line); /* cJSON escapes control characters */
		return;
	}
	gmtime_r(&now, &tm);
	int n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "%s %s%s%s ",
	    log_names[lvl], log_prog, log_ctx[0] ? " " : "", log_ctx);
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 1)
		len = sizeof(line) - 1;
	char out[sizeof(line) * 4 + 2];
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '\n';
	ssize_t w = write(STDERR_FILENO, out, o);
	(void)w;
}
