#include "keyboard.h"

#include <stdio.h>
#include <stdlib.h>

static cJSON *
kb_rows(cJSON *kb)
{
	return cJSON_GetObjectItemCaseSensitive(kb, "inline_keyboard");
}

cJSON *
kb_new(void)
{
	cJSON *kb = cJSON_CreateObject();

	cJSON_AddItemToObject(kb, "inline_keyboard", cJSON_CreateArray());
	return kb;
}

/* Opens a new row unless the current one is still empty (Telegram refuses
 * empty rows). */
void
kb_row(cJSON *kb)
{
	cJSON *rows = kb_rows(kb);
	int n = cJSON_GetArraySize(rows);

	if (n > 0 && cJSON_GetArraySize(cJSON_GetArrayItem(rows, n - 1)) == 0)
		return;
	cJSON_AddItemToArray(rows, cJSON_CreateArray());
}

static cJSON *
kb_current_row(cJSON *kb)
{
	cJSON *rows = kb_rows(kb);
	int n = cJSON_GetArraySize(rows);

	if (n == 0) {
		kb_row(kb);
		n = 1;
	}
	return cJSON_GetArrayItem(rows, n - 1);
}

void
kb_button(cJSON *kb, const char *text, enum cb_action a, int64_t n1, int64_t n2)
{
	struct cb cb = {a, {n1, n2}};
	char data[CB_MAX + 1];
	cJSON *b;

	if (cb_encode(&cb, data) != 0)
		abort(); /* our own button: a programming error */
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "text", text);
	cJSON_AddStringToObject(b, "callback_data", data);
	cJSON_AddItemToArray(kb_current_row(kb), b);
}

void
kb_button_t(cJSON *kb, enum lang l, enum text_id t, enum cb_action a, int64_t n1,
    int64_t n2)
{
	kb_button(kb, text_get(l, t), a, n1, n2);
}

/* A button of another kind than callback data: {text, field: value}. */
static void
kb_button_of(cJSON *kb, const char *text, const char *field, const char *value)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "text", text);
	cJSON_AddStringToObject(b, field, value);
	cJSON_AddItemToArray(kb_current_row(kb), b);
}

void
kb_url_button(cJSON *kb, const char *text, const char *url)
{
	kb_button_of(kb, text, "url", url);
}

void
kb_inline_query_button(cJSON *kb, const char *text, const char *query)
{
	kb_button_of(kb, text, "switch_inline_query", query);
}

cJSON *
kb_main_menu(enum lang l)
{
	cJSON *kb = kb_new();

	kb_button_t(kb, l, T_BTN_MY_AVATARS, CB_MY_AVATARS, 0, 0);
	kb_button_t(kb, l, T_BTN_CREATE, CB_CREATE, 0, 0);
	kb_row(kb);
	kb_button_t(kb, l, T_BTN_GENERATE, CB_GENERATE, 0, 0);
	kb_button_t(kb, l, T_BTN_GALLERY, CB_GALLERY, 0, 0);
	kb_row(kb);
	kb_button_t(kb, l, T_BTN_BALANCE, CB_BALANCE, 0, 0);
	kb_button_t(kb, l, T_BTN_HELP, CB_HELP, 0, 0);
	return kb;
}

cJSON *
kb_image(enum lang l, int64_t image_id)
{
	cJSON *kb = kb_new();

	kb_button_t(kb, l, T_BTN_REGENERATE, CB_IMG_REGEN, image_id, 0);
	kb_button_t(kb, l, T_BTN_FULL_QUALITY, CB_IMG_FULL, image_id, 0);
	kb_row(kb);
	kb_button_t(kb, l, T_BTN_SHARE, CB_IMG_SHARE, image_id, 0);
	return kb;
}

cJSON *
kb_album(enum lang l, const int64_t *image_ids, int n)
{
	cJSON *kb = kb_new();
	char label[64];

	for (int i = 0; i < n; i++) {
		if (i > 0)
			kb_row(kb);
		snprintf(label, sizeof(label), "%d · %s", i + 1, text_get(l, T_BTN_REGENERATE));
		kb_button(kb, label, CB_IMG_REGEN, image_ids[i], 0);
		snprintf(label, sizeof(label), "%d · ⬇️", i + 1);
		kb_button(kb, label, CB_IMG_FULL, image_ids[i], 0);
		snprintf(label, sizeof(label), "%d · 🔗", i + 1);
		kb_button(kb, label, CB_IMG_SHARE, image_ids[i], 0);
	}
	return kb;
}

cJSON *
kb_my_avatars(enum lang l)
{
	cJSON *kb = kb_new();

	kb_button_t(kb, l, T_BTN_MY_AVATARS, CB_MY_AVATARS, 0, 0);
	return kb;
}

/* One button, then My avatars. */
static cJSON *
kb_then_avatars(enum lang l, enum text_id t, enum cb_action a, int64_t avatar_id)
{
	cJSON *kb = kb_new();

	kb_button_t(kb, l, t, a, avatar_id, 0);
	kb_button_t(kb, l, T_BTN_MY_AVATARS, CB_MY_AVATARS, 0, 0);
	return kb;
}

cJSON *
kb_then_menu(enum lang l, enum text_id t, enum cb_action a, int64_t n1)
{
	cJSON *kb = kb_new();

	kb_button_t(kb, l, t, a, n1, 0);
	kb_button_t(kb, l, T_BTN_MENU, CB_MENU, 0, 0);
	return kb;
}

cJSON *
kb_retry(enum lang l, int64_t avatar_id)
{
	return kb_then_avatars(l, T_BTN_RETRY, CB_AVATAR_RETRY, avatar_id);
}

cJSON *
kb_trained(enum lang l, int64_t avatar_id)
{
	return kb_then_avatars(l, T_BTN_GENERATE, CB_GEN_AVATAR, avatar_id);
}

cJSON *
kb_packs(enum lang l, const struct config *c)
{
	cJSON *kb = kb_new();
	char label[96];

	for (int i = 0; i < c->n_packs; i++) {
		kb_row(kb);
		snprintf(label, sizeof(label), text_get(l, T_BTN_PACK), c->packs[i].credits,
		    c->packs[i].stars);
		kb_button(kb, label, CB_BUY, i, c->packs[i].credits);
	}
	return kb;
}
