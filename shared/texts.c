/*
 * texts — lookup and language choice.  The words themselves live in
 * texts_ru.c and texts_en.c.
 */
#include "texts.h"

#include <stdarg.h>
#include <string.h>

const char *
text_get(enum lang l, enum text_id id)
{
	const char *const *t = l == LANG_EN ? texts_en : texts_ru;

	if ((unsigned)id >= T__COUNT)
		return "";
	return t[id] ? t[id] : texts_en[id] ? texts_en[id] : "";
}

void
text_addf(struct sbuf *out, enum lang l, enum text_id id, ...)
{
	const char *f = text_get(l, id);
	va_list ap;

	va_start(ap, id);
	for (; *f; f++) {
		if (*f != '%' || f[1] == '\0') {
			sbuf_addc(out, *f);
			continue;
		}
		switch (*++f) {
		case 's':
			sbuf_add_html(out, va_arg(ap, const char *));
			break;
		case 'd':
			sbuf_addf(out, "%d", va_arg(ap, int));
			break;
		default: /* "%%" */
			sbuf_addc(out, *f);
			break;
		}
	}
	va_end(ap);
}

void
text_plain(struct sbuf *out, const char *html, size_t max)
{
	static const struct { const char *ent, *ch; } ents[] = {
		{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""},
	};
	const size_t nents = sizeof(ents) / sizeof(ents[0]);
	size_t chars = 0;

	for (const char *s = html; *s && chars < max;) {
		if (*s == '<') {
			const char *e = strchr(s, '>');
			s = e ? e + 1 : s + strlen(s);
			continue;
		}
		size_t k = 0;
		while (k < nents && strncmp(s, ents[k].ent, strlen(ents[k].ent)) != 0)
			k++;
		if (k < nents) {
			sbuf_add(out, ents[k].ch);
			s += strlen(ents[k].ent);
		} else {
			do
				sbuf_addc(out, *s++);
			while ((*s & 0xC0) == 0x80);
		}
		chars++;
	}
}

enum lang
lang_from_code(const char *c)
{
	static const char *const ru_like[] = {"ru", "uk", "be", "kk"};

	if (c == NULL)
		return LANG_RU; /* most of our users; unknown -> the seed's language */
	for (size_t i = 0; i < sizeof(ru_like) / sizeof(ru_like[0]); i++)
		if (strncmp(c, ru_like[i], 2) == 0 && (c[2] == '\0' || c[2] == '-' || c[2] == '_'))
			return LANG_RU;
	return LANG_EN;
}

const char *
lang_code(enum lang l)
{
	return l == LANG_EN ? "en" : "ru";
}

int
lang_parse(const char *code, enum lang *out)
{
	if (code == NULL)
		return -1;
	if (strcmp(code, "ru") == 0)
		*out = LANG_RU;
	else if (strcmp(code, "en") == 0)
		*out = LANG_EN;
	else
		return -1;
	return 0;
}

/* Lower-case ASCII copy of s (at most len - 1 bytes): the words below are
 * English, FAL's and ours. */
static void
lower(const char *s, char *out, size_t len)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 1 < len; i++)
		out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
	out[i] = '\0';
}

static bool
has_any(const char *s, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strstr(s, *words) != NULL)
			return true;
	return false;
}

enum text_id
text_failure(const char *error, bool photos)
{
	/* ours, about this server: nothing the person can change */
	static const char *const server[] = {"media_dir", "publish", "database", "holds no",
		NULL};
	static const char *const content[] = {"content_policy", "content checker", "flagged",
		"nsfw", "safety", "moderat", NULL};
	static const char *const busy[] = {"timeout", "timed out", "unavailable", "internal server",
		"http 5", "status code: 5", "overload", "rate limit", "too many requests", "busy",
		"downstream", NULL};
	static const char *const pictures[] = {"image", "photo", "picture", "download",
		"getfile", "file_path", "zip", "archive", "face", "jpeg", "png", NULL};
	char s[600];

	lower(error ? error : "", s, sizeof(s));
	if (has_any(s, server))
		return T_FAIL_UNKNOWN;
	if (has_any(s, content))
		return T_FAIL_CONTENT;
	if (has_any(s, busy))
		return T_FAIL_BUSY;
	if (photos && has_any(s, pictures))
		return T_FAIL_PHOTOS;
	return T_FAIL_UNKNOWN;
}
