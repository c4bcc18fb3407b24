/*
 * callback — the action table is the whole protocol: its names are what
 * travels in buttons, so a name must never change meaning once shipped
 * (add a new one, or bump the version).
 */
#include "callback.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int nargs;
} cb_table[CB__COUNT] = {
	[CB_STALE] = {"", 0},
	[CB_MENU] = {"menu", 0},
	[CB_MY_AVATARS] = {"avs", 0},
	[CB_CREATE] = {"new", 0},
	[CB_GENERATE] = {"gen", 0},
	[CB_GALLERY] = {"gal", 0},
	[CB_HELP] = {"help", 0},
	[CB_LANG] = {"lang", 1},
	[CB_GENDER] = {"sex", 2},
	[CB_TYPE] = {"type", 2},
	[CB_TYPE_INFO] = {"tinfo", 1},
	[CB_PHOTOS_DONE] = {"pdone", 1},
	[CB_ADD_PHOTOS] = {"padd", 1},
	[CB_START_TRAINING] = {"train", 1},
	[CB_CANCEL_CREATE] = {"ccancel", 1},
	[CB_CREATE_RESUME] = {"cgo", 1},
	[CB_CREATE_FRESH] = {"cnew", 1},
	[CB_CREATE_BACK] = {"cback", 1},
	[CB_AVATAR_OPEN] = {"av", 1},
	[CB_AVATAR_MAIN] = {"avmain", 1},
	[CB_AVATAR_DELETE] = {"avdel", 1},
	[CB_AVATAR_DELETE_OK] = {"avdelok", 1},
	[CB_AVATAR_RETRY] = {"avretry", 1},
	[CB_GEN_AVATAR] = {"g", 2},
	[CB_GEN_PICK] = {"gpick", 0},
	[CB_GEN_TPL] = {"gt", 2},
	[CB_GEN_AR] = {"gar", 2},
	[CB_GEN_GO] = {"ggo", 2},
	[CB_IMG_REGEN] = {"iregen", 1},
	[CB_IMG_FULL] = {"ifull", 1},
	[CB_IMG_SHARE] = {"ishare", 1},
	[CB_IMG_DELETE] = {"idel", 1},
	[CB_IMG_DELETE_OK] = {"idelok", 1},
	[CB_GAL_PAGE] = {"galp", 1},
	[CB_BALANCE] = {"bal", 0},
	[CB_BUY] = {"buy", 2},
};

int
cb_encode(const struct cb *cb, char out[CB_MAX + 1])
{
	if (cb->action <= CB_STALE || cb->action >= CB__COUNT)
		return -1;
	int na = cb_table[cb->action].nargs;
	int n = snprintf(out, CB_MAX + 1, "v1:%s", cb_table[cb->action].name);
	for (int i = 0; i < na && n > 0 && n <= CB_MAX; i++) {
		if (cb->n[i] < 0)
			return -1;
		n += snprintf(out + n, (size_t)(CB_MAX + 1 - n), ":%lld", (long long)cb->n[i]);
	}
	return n > 0 && n <= CB_MAX ? 0 : -1;
}

/* A decimal 0..2^53 of at most 16 digits, no sign, no leading zeros. */
static int
parse_num(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > 16 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > (INT64_C(1) << 53))
		return -1;
	*out = v;
	return 0;
}

enum cb_action
cb_decode(const char *data, struct cb *cb)
{
	const char *p, *seg[4];
	size_t len[4];
	int nseg = 0;

	memset(cb, 0, sizeof(*cb));
	cb->action = CB_INVALID;
	if (data == NULL || strlen(data) == 0 || strlen(data) > CB_MAX)
		return CB_INVALID;
	if (data[0] == 'v' && strncmp(data, "v1:", 3) != 0 && strchr(data, ':') != NULL) {
		cb->action = CB_STALE; /* another version of the format */
		return CB_STALE;
	}
	if (strncmp(data, "v1:", 3) != 0)
		return CB_INVALID;
	p = data + 3;
	for (;;) {
		const char *c = strchr(p, ':');
		if (nseg == 4)
			return CB_INVALID;
		seg[nseg] = p;
		len[nseg++] = c ? (size_t)(c - p) : strlen(p);
		if (c == NULL)
			break;
		p = c + 1;
	}
	for (int a = CB_STALE + 1; a < CB__COUNT; a++) {
		if (strlen(cb_table[a].name) != len[0] || strncmp(seg[0], cb_table[a].name, len[0]) != 0)
			continue;
		if (nseg - 1 != cb_table[a].nargs)
			return CB_INVALID;
		for (int i = 1; i < nseg; i++)
			if (parse_num(seg[i], len[i], &cb->n[i - 1]) != 0)
				return CB_INVALID;
		cb->action = (enum cb_action)a;
		return cb->action;
	}
	return CB_INVALID;
}
