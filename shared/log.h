/*
 * log — one line per event on stderr (lighttpd's error log):
 *   2026-11-28T09:30:00Z INFO tg-update upd=902113401 user=184467301 start
 * The program name is set once, the request context (ids) per request.  Never
 * pass a token, secret or key to these functions: nothing here can tell.
 */
#ifndef AISHA_LOG_H
#define AISHA_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_init(const char *program, enum log_level min);
void log_set_level(enum log_level min);
/* One JSON object per line (LOG_FORMAT=json) instead of text. */
void log_set_json(bool on);
/* Context printed after the program name until cleared ("" or NULL). */
void log_set_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_clear_ctx(void);
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
