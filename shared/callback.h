/*
 * callback — the versioned callback_data codec.
 *
 *   v1:<action>[:<n1>[:<n2>]]      e.g. "v1:menu", "v1:av.open:42"
 *
 * Actions are a fixed table with the number of integer arguments each takes;
 * decoding accepts exactly that shape (≤ 64 bytes, known version, known
 * action, plain decimal arguments) and nothing else, so forged or truncated
 * data never reaches a handler.  Unknown versions decode as CB_STALE: a
 * button from an older release gets the "out of date" notice.
 */
#ifndef AISHA_CALLBACK_H
#define AISHA_CALLBACK_H

#include <stdint.h>

enum cb_action {
	CB_INVALID = -1,
	CB_STALE = 0,
	CB_MENU,
	CB_MY_AVATARS,
	CB_CREATE,
	CB_GENERATE,
	CB_GALLERY,
	CB_HELP,
	CB_LANG,          /* n1: 0 ru, 1 en */
	/* creating an avatar: n1 is the avatar being created */
	CB_GENDER,        /* n2: 0 male, 1 female */
	CB_TYPE,          /* n2: 0 portrait, 1 style */
	CB_TYPE_INFO,
	CB_PHOTOS_DONE,
	CB_ADD_PHOTOS,
	CB_START_TRAINING,
	CB_CANCEL_CREATE,
	CB_CREATE_RESUME, /* n1: a draft to go on with (its step again) */
	CB_CREATE_FRESH,  /* n1: the draft to drop before a new one */
	CB_CREATE_BACK,   /* n1: the draft, one step back */
	/* my avatars: n1 is the avatar */
	CB_AVATAR_OPEN,
	CB_AVATAR_MAIN,
	CB_AVATAR_DELETE,
	CB_AVATAR_DELETE_OK,
	CB_AVATAR_RETRY,
	/* generation: n1 avatar (0: main) */
	CB_GEN_AVATAR,    /* n2: template page */
	CB_GEN_PICK,      /* choose another avatar */
	CB_GEN_TPL,       /* n2: template (1-based; 0 own prompt) */
	CB_GEN_AR,        /* n2: template * 8 + aspect ratio */
	CB_GEN_GO,        /* n2: template * 8 + aspect ratio */
	/* images: n1 image id */
	CB_IMG_REGEN,
	CB_IMG_FULL,
	CB_IMG_SHARE,
	CB_IMG_DELETE,
	CB_IMG_DELETE_OK,
	CB_GAL_PAGE,      /* n1: 0-based page */
	/* credits */
	CB_BALANCE,
	CB_BUY,           /* n1: pack index, n2: its credits (a pack changed since is refused) */
	CB__COUNT
};

struct cb {
	enum cb_action action;
	int64_t n[2];
};

#define CB_MAX 64

/* Writes the callback_data for cb into out (CB_MAX + 1 bytes); 0 or -1. */
int cb_encode(const struct cb *cb, char out[CB_MAX + 1]);
/* Fills cb; returns its action (CB_INVALID for anything malformed). */
enum cb_action cb_decode(const char *data, struct cb *cb);

#endif
