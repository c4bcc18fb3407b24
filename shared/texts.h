/*
 * texts — every word a user can see, one table per language (texts_ru.c,
 * texts_en.c), indexed by enum text_id.  Entries with %s/%d are printf
 * formats; both languages must use the same conversions in the same order
 * (a unit test checks that, and that no entry is missing).
 */
#ifndef AISHA_TEXTS_H
#define AISHA_TEXTS_H

enum lang { LANG_RU, LANG_EN, LANG__COUNT };

enum text_id {
	T_WELCOME,          /* %s first name (escaped) */
	T_MENU,
	T_BTN_MY_AVATARS,
	T_BTN_CREATE,
	T_BTN_GENERATE,
	T_BTN_GALLERY,
	T_BTN_HELP,
	T_BTN_BACK,
	T_HELP,
	T_USE_MENU,
	T_PRIVATE_ONLY,
	T_STALE_BUTTON,
	T_SOON,
	T_LANG_CHOOSE,
	T_LANG_SET,
	T_NOTHING_TO_CANCEL,
	T_CMD_START,
	T_CMD_HELP,
	T_CMD_CANCEL,
	T_CMD_LANGUAGE,
	T__COUNT
};

extern const char *const texts_ru[T__COUNT];
extern const char *const texts_en[T__COUNT];

const char *text_get(enum lang l, enum text_id id);
/* ru for ru/uk/be/kk (and their regional forms), en otherwise. */
enum lang lang_from_code(const char *language_code);
const char *lang_code(enum lang l); /* "ru" / "en" */
int lang_parse(const char *code, enum lang *out); /* exactly "ru"/"en" */

#endif
