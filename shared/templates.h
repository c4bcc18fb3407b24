/*
 * templates — the prompt-engineering system: style presets that wrap the
 * person's idea with the avatar's trigger word, the right subject and
 * quality cues.  Templates are data (templates.c): one row each with a key,
 * a name per language and an English body where {subject} is replaced by
 * "TOK man" / "TOK woman" (trigger word + gender).  Adding a template is
 * adding a row; a unit test renders every one in both languages.
 */
#ifndef AISHA_TEMPLATES_H
#define AISHA_TEMPLATES_H

#include <stddef.h>

#include "sbuf.h"
#include "texts.h"

struct gen_template {
	const char *key;
	const char *name[LANG__COUNT];
	const char *body; /* English; {subject} marks the person */
};

extern const struct gen_template gen_templates[];
extern const size_t gen_templates_count;

#define PROMPT_MAX 600 /* characters of an own prompt */

/* The template with 1-based index i, or NULL. */
const struct gen_template *template_at(size_t i);
const struct gen_template *template_by_key(const char *key);

/* The prompt for template t, for an avatar with trigger word and gender
 * (0 male, 1 female, -1 unknown). */
void template_render(const struct gen_template *t, const char *trigger, int gender,
    struct sbuf *out);

enum prompt_check { PROMPT_OK, PROMPT_EMPTY, PROMPT_TOO_LONG };
/* A person's own prompt cleaned (control characters dropped, spaces
 * collapsed) into clean, and checked: at most PROMPT_MAX characters of
 * valid UTF-8.  Only a PROMPT_OK text is ever stored. */
enum prompt_check prompt_clean(const char *user, struct sbuf *clean);
/* An own prompt, cleaned (control characters dropped, spaces collapsed),
 * limited, with the trigger word and subject put in front when missing and
 * quality cues after. */
enum prompt_check prompt_wrap(const char *user, const char *trigger, int gender,
    struct sbuf *out);

/* How a picture's style is named to its owner: the template's name, or the
 * own prompt's first TEMPLATE_LABEL_CHARS characters in «», or "own
 * prompt" when there is none to show (plain text: escaped where it goes). */
#define TEMPLATE_LABEL_CHARS 60
#define TEMPLATE_LABEL_MAX (4 * TEMPLATE_LABEL_CHARS + 16)
void template_label(enum lang l, const char *key, const char *user_prompt, char *out,
    size_t outlen);

#endif
