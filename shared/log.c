/*
 * log — formats the whole line in one buffer and writes it with a single
 * write(2), so lines from concurrent workers sharing lighttpd's error log do
 * not interleave.  Control characters anywhere after the timestamp — in the
 * message and in the context, which may hold values from outside (a FAL
 * request id, a header) — are written as \xNN: one event, one line, and
 * nobody can forge a line.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "aisha";
static enum log_level log_min = LOG_INFO;
static char log_ctx[160];

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

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[1024];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	if (lvl < log_min)
		return;
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
