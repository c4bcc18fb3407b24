/*
 * sbuf — the one owned, growable, NUL-terminated string used everywhere.
 *
 * An sbuf starts zeroed (SBUF_INIT) and owns its memory; sbuf_free() releases
 * it and accepts an empty buffer.  Appends never fail silently: on allocation
 * failure the program aborts, because a half-built reply or SQL parameter is
 * worse than a restart (lighttpd respawns the worker).
 */
#ifndef AISHA_SBUF_H
#define AISHA_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

#define SBUF_INIT {NULL, 0, 0}

void sbuf_add(struct sbuf *b, const char *s);
void sbuf_addn(struct sbuf *b, const char *s, size_t n);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_addf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap);
/* Appends s with & < > escaped for Telegram's HTML parse mode. */
void sbuf_add_html(struct sbuf *b, const char *s);
void sbuf_reset(struct sbuf *b);
const char *sbuf_str(const struct sbuf *b); /* "" for an empty buffer */
/* Hands the string to the caller (free() it) and empties b. */
char *sbuf_take(struct sbuf *b);
void sbuf_free(struct sbuf *b);

/* Allocation helpers that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
