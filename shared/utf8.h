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

#endif
