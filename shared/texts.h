/*
 * texts — every word a user can see, one table per language (texts_ru.c,
 * texts_en.c), indexed by enum text_id.  Entries with %s/%d are printf
 * formats; both languages must use the same conversions in the same order
 * (a unit test checks that, and that no entry is missing).
 */
#ifndef AISHA_TEXTS_H
#define AISHA_TEXTS_H

#include <stdbool.h>

#include "sbuf.h"

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
	T_BTN_MENU,
	T_HELP,             /* %d..%d photos, %s minutes of training ("10–15") */
	T_USE_MENU,
	T_PRIVATE_ONLY,
	T_STALE_BUTTON,
	T_LANG_CHOOSE,
	T_LANG_SET,
	T_NOTHING_TO_CANCEL,
	T_CMD_START,
	T_CMD_HELP,
	T_CMD_CANCEL,
	T_CMD_LANGUAGE,
	/* create avatar */
	T_CREATE_ASK_NAME,
	T_NAME_EMPTY,
	T_NAME_TOO_LONG,       /* %d max characters */
	T_NAME_BAD_CHARS,
	T_ASK_GENDER,          /* %s name */
	T_BTN_MALE,
	T_BTN_FEMALE,
	T_ASK_TYPE,
	T_BTN_PORTRAIT,
	T_BTN_STYLE,
	T_BTN_TYPE_INFO,
	T_TYPE_INFO,
	T_PHOTOS_RULES,        /* %d min, %d max, %d px: a portrait's photos */
	T_PHOTOS_RULES_STYLE,  /* the same for a style's pictures */
	T_PHOTOS_FULL,         /* %d photos: the maximum */
	T_PHOTOS_ASK,          /* no photo yet */
	T_PHOTOS_PROGRESS,     /* %d count, %d min, %d more */
	T_PHOTOS_ENOUGH,       /* %d count, %d max */
	T_BTN_PHOTOS_DONE,
	T_BTN_CANCEL,
	T_PHOTO_TOO_SMALL,     /* %d min side */
	T_PHOTO_TOO_BIG,
	T_PHOTO_DUPLICATE,
	T_PHOTO_NOT_IMAGE,
	T_PHOTO_LIMIT,         /* %d max */
	T_PHOTO_HINT,          /* %d count, %d min */
	T_PHOTO_NOT_EXPECTED,
	T_PHOTOS_NEED_MORE,    /* %d more */
	T_USE_BUTTONS,
	T_SUMMARY,             /* %s name, %s gender, %s type, %d photos, %d minutes */
	T_TYPE_PORTRAIT,
	T_TYPE_STYLE,
	T_GENDER_MALE,
	T_GENDER_FEMALE,
	T_BTN_START_TRAINING,
	T_BTN_ADD_PHOTOS,
	T_QUEUED,              /* %s name, %d minutes */
	T_ALREADY_QUEUED,
	T_CANCELLED_CREATE,    /* %s name */
	T_CANCELLED_CREATE_NONAME,
	/* my avatars */
	T_AVATARS_EMPTY,
	T_AVATARS_LIST,        /* %d count */
	T_AVATAR_DETAILS,      /* %s name, %s type, %s gender, %s status, %d photos, %s created */
	T_AVATAR_IS_MAIN,
	T_AVATAR_ERROR,        /* %s reason */
	T_BTN_SET_MAIN,
	T_BTN_DELETE,
	T_BTN_RETRY,
	T_BTN_TO_LIST,
	T_MAIN_SET,            /* %s name */
	T_MAIN_NEEDS_COMPLETED,
	T_DELETE_CONFIRM,      /* %s name */
	T_BTN_DELETE_YES,
	T_DELETED,             /* %s name */
	T_CANT_DELETE_TRAINING,
	T_RETRY_QUEUED,        /* %s name */
	T_ST_DRAFT,
	T_ST_PHOTOS,
	T_ST_READY,
	T_ST_QUEUED,
	T_ST_SUBMITTING,
	T_ST_TRAINING,         /* %d percent */
	T_ST_COMPLETED,
	T_ST_ERROR,
	T_ST_CANCELLED,
	/* training */
	T_TRAINING_STARTED,    /* %s name, %d minutes */
	T_TRAINING_PROGRESS,   /* %s name, %d percent */
	T_TRAINING_DONE,       /* %s name */
	T_TRAINING_FAILED,     /* %s name, %s reason */
	T_TRAINING_TIMEOUT,    /* %s name */
	T_TRAINING_UNAVAILABLE,/* %s name */
	/* generation */
	T_GEN_NO_AVATAR,
	T_GEN_CHOOSE,          /* %s avatar name */
	T_BTN_OWN_PROMPT,
	T_BTN_CHANGE_AVATAR,
	T_GEN_PICK_AVATAR,
	T_GEN_ASK_PROMPT,      /* %d max characters */
	T_GEN_PROMPT_EMPTY,
	T_GEN_PROMPT_TOO_LONG, /* %d max characters */
	T_GEN_CHOOSE_AR,       /* %s style */
	T_GEN_CONFIRM,         /* %s avatar, %s style, %s aspect ratio */
	T_BTN_GENERATE_GO,
	T_GEN_OWN,
	T_GEN_STARTED,
	T_GEN_STARTED_DONE,
	T_GEN_TOO_MANY,        /* %d max */
	T_GEN_NOT_READY,
	T_GEN_FAILED,          /* %s reason */
	T_GEN_NSFW,
	T_GEN_CAPTION,         /* %s style, %s aspect ratio */
	T_BTN_REGENERATE,
	T_BTN_FULL_QUALITY,
	T_BTN_SHARE,
	T_SHARE_TEXT,          /* %s link */
	T_BTN_SHARE_INLINE,
	T_GALLERY_EMPTY,
	T_GALLERY_CAPTION,     /* %d n, %d total, %s avatar, %s style, %s date (UTC) */
	T_IMG_DELETE_CONFIRM,
	T_IMG_DELETED,
	T_IMG_GONE,
	T_SHARED_IMAGE,        /* %s style */
	T_FULL_FAILED,
	T_SORRY,
	/* credits */
	T_BALANCE,             /* %d balance, %d training price, %d picture price */
	T_PRICE_LINE,          /* %d price, %d balance */
	T_CREDITS_SHORT,       /* %d price, %d balance */
	T_DAILY_LIMIT,         /* %d per day */
	T_TRAINING_LATER,      /* %s name */
	T_GEN_LATER,
	T_REFUNDED,            /* %d credits */
	T_BTN_BALANCE,
	T_BTN_PACK,            /* %d credits, %d stars */
	T_CMD_BALANCE,
	T_INVOICE_TITLE,       /* %d credits */
	T_INVOICE_DESC,        /* %d credits */
	T_PAID,                /* %d credits, %d balance */
	T_PAY_REFUSED,
	T_PAY_PROBLEM,
	T_PAYSUPPORT,          /* %s who to write to */
	T_PAYSUPPORT_WHO,
	T_TERMS,               /* %d training price, %d picture price */
	T_CMD_PAYSUPPORT,
	T_CMD_TERMS,
	T_PAYMENT_REFUNDED,    /* %d stars, %d credits taken back */
	T_FAIL_PHOTOS,         /* why a job failed, as the person is told it */
	T_FAIL_CONTENT,
	T_FAIL_BUSY,
	T_FAIL_UNKNOWN,
	T_STALE_IN_FLOW,
	T_GEN_USE_OTHER,       /* %s the avatar one can generate with */
	T_DRAFT_FOUND,         /* %s name, %d photos */
	T_BTN_CONTINUE,
	T_BTN_START_OVER,
	T_NAME_TAKEN,          /* %s name */
	T_NAME_NUMBERED,       /* %s the name asked for, %s the one given */
	T_TRAINING_PROGRESS_DONE,  /* %s name: the progress message at the end */
	T_TRAINING_PROGRESS_ENDED, /* %s name */
	T_SHARED_OWN,          /* %s style: the owner opened their own share link */
	T_GEN_STATUS_MADE,     /* «Generating…» once the pictures came */
	T_GEN_STATUS_NOT_MADE,
	T_CHECK_REJECTED,      /* %d photos the checks rejected: the list follows */
	T_CHECK_LINE,          /* %d the photo's place, %s what is wrong */
	T_CHECK_LINE_SAME,     /* %d the photo's place, %d the one it repeats */
	T_CHECK_MORE,          /* %d rejections not listed */
	T_FLAW_NOT_PHOTO,
	T_FLAW_SMALL,
	T_FLAW_DARK,
	T_FLAW_BRIGHT,
	T_FLAW_BLURRY,
	T_FLAW_NO_FACE,
	T_FLAW_FACES,
	T_FLAW_UNREADABLE,
	T_SUMMARY_CHECKS,      /* %d passed the checks */
	T_SUMMARY_CHECKING,    /* %d still being checked */
	T_SUMMARY_REJECTED,    /* %d rejected */
	T_START_WAIT_CHECKS,   /* %d still being checked: Start must wait */
	T_START_NEED_PASSED,   /* %d passed, %d needed */
	T_BTN_REPLACE_REJECTED,
	T__COUNT
};

extern const char *const texts_ru[T__COUNT];
extern const char *const texts_en[T__COUNT];

const char *text_get(enum lang l, enum text_id id);
/* Appends text id in language l, filling %d with ints and %s with strings
 * HTML-escaped (the messages go out in parse mode HTML, and any string may
 * hold a user's words).  Texts use only %s, %d and %%. */
void text_addf(struct sbuf *out, enum lang l, enum text_id id, ...);
/* html (a text as text_addf makes it) as plain text: tags dropped, the
 * entities &lt; &gt; &amp; &quot; decoded, at most max characters — for
 * what Telegram shows without a parse mode (answerCallbackQuery). */
void text_plain(struct sbuf *out, const char *html, size_t max);
/* What a person is told of a failure whose technical reason is error (FAL's
 * words or ours): the photos could not be read, the content was refused,
 * the service is busy, or something else — never the technical text, which
 * stays in the logs and the operator API.  photos: whether "the photos"
 * can be the reason (a training). */
enum text_id text_failure(const char *error, bool photos);
/* ru for ru/uk/be/kk (and their regional forms), en otherwise. */
enum lang lang_from_code(const char *language_code);
const char *lang_code(enum lang l); /* "ru" / "en" */
int lang_parse(const char *code, enum lang *out); /* exactly "ru"/"en" */

#endif
