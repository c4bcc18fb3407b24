#include "utf8.h"

#include <string.h>

/* The length of the well-formed sequence at s (n bytes left), or 0. */
static size_t
seq_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

char *
utf8_clean(char *str)
{
	unsigned char *s = (unsigned char *)str;
	size_t n = strlen(str), i = 0;

	while (i < n) {
		size_t len = seq_len(s + i, n - i);
		if (len > 0) {
			i += len;
			continue;
		}
		/* a lead byte whose sequence runs past the end: cut there */
		if (s[i] >= 0xC2 && s[i] <= 0xF4) {
			size_t want = s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : 2, k = 1;
			while (i + k < n && (s[i + k] & 0xC0) == 0x80)
				k++;
			if (i + k == n && k < want) {
				s[i] = '\0';
				break;
			}
		}
		s[i++] = '?';
	}
	return str;
}

char *
utf8_copy(char *out, size_t outlen, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, chars = 0;

	if (outlen == 0)
		return out;
	while (i < n && chars < max) {
		size_t len = seq_len(s + i, n - i);
		if (len == 0)
			len = 1;
		if (i + len >= outlen)
			break;
		i += len;
		chars++;
	}
	memcpy(out, str, i);
	out[i] = '\0';
	return utf8_clean(out);
}

bool
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0, len; i < n; i += len)
		if ((len = seq_len(s + i, n - i)) == 0)
			return false;
	return true;
}

size_t
utf8_count(const char *str)
{
	size_t n = 0;

	for (const unsigned char *s = (const unsigned char *)str; *s; s++)
		if ((*s & 0xC0) != 0x80)
			n++;
	return n;
}
