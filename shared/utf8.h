/*
 * utf8 — validation and counting for text from outside.  Telegram sends
 * UTF-8, but a forged request may not; cJSON does not check.
 */
#ifndef AISHA_UTF8_H
#define AISHA_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
bool utf8_valid(const char *s, size_t n);
/* Code points in a valid string. */
size_t utf8_count(const char *s);
/*
 * Makes s (NUL-terminated, from outside or cut by snprintf) safe to store and
 * send: an invalid byte becomes '?', and a sequence cut short at the end is
 * removed.  Returns s.
 */
char *utf8_clean(char *s);
/* Copies at most max code points of s into out (outlen bytes, always
 * terminated), never splitting a character; returns out. */
char *utf8_copy(char *out, size_t outlen, const char *s, size_t max);

#endif
