/*
 * keyboard — inline keyboards as cJSON reply_markup objects.
 * kb_new() starts one, kb_row() opens a row, kb_button() adds a callback
 * button to the current row (text from the language table, data from the
 * callback codec), kb_url_button() a URL button.  The caller owns the result.
 */
#ifndef AISHA_KEYBOARD_H
#define AISHA_KEYBOARD_H

#include <cjson/cJSON.h>

#include "callback.h"
#include "config.h"
#include "texts.h"

cJSON *kb_new(void);
void kb_row(cJSON *kb);
void kb_button(cJSON *kb, const char *text, enum cb_action a, int64_t n1, int64_t n2);
void kb_button_t(cJSON *kb, enum lang l, enum text_id t, enum cb_action a,
    int64_t n1, int64_t n2);
void kb_url_button(cJSON *kb, const char *text, const char *url);
/* A button that opens an inline query for the bot in a chat the person picks. */
void kb_inline_query_button(cJSON *kb, const char *text, const char *query);

/* The main menu. */
cJSON *kb_main_menu(enum lang l);
/* One button: My avatars (a training's queued, progress and end messages). */
cJSON *kb_my_avatars(enum lang l);
/* The buttons under a generated picture: Regenerate, Full quality, Share. */
cJSON *kb_image(enum lang l, int64_t image_id);
/* Under an album: a row per picture (n · Regenerate, n · ⬇️, n · 🔗). */
cJSON *kb_album(enum lang l, const int64_t *image_ids, int n);
/* Under a training that failed: Retry, My avatars. */
cJSON *kb_retry(enum lang l, int64_t avatar_id);
/* The way on from a message that ends a step: one button (t, a, n1), then
 * the main menu. */
cJSON *kb_then_menu(enum lang l, enum text_id t, enum cb_action a, int64_t n1);
/* The credit packs of CREDIT_PACKS, a row each (an empty keyboard when none). */
cJSON *kb_packs(enum lang l, const struct config *c);
/* Under a training that completed: Generate, My avatars. */
cJSON *kb_trained(enum lang l, int64_t avatar_id);

#endif
