/*
 * flow_create — creating an avatar:
 *
 *   Create ─▶ name (text) ─▶ gender (button) ─▶ type (button, ℹ️ more)
 *        ─▶ photos (photos, albums, image documents; one progress message
 *           edited in place) ─▶ summary ─▶ Start training / Add photos / Cancel
 *
 * Each step checks that the button or message fits the conversation's state
 * and avatar; anything else is stale and changes nothing.  /cancel at any
 * step discards the avatar being created with its photos.
 */
#ifndef AISHA_FLOW_CREATE_H
#define AISHA_FLOW_CREATE_H

#include <stddef.h>
#include <stdint.h>

#include "turn.h"
#include "callback.h"


enum name_check { NAME_OK, NAME_EMPTY, NAME_TOO_LONG, NAME_BAD_CHARS };

/* Trims in into out (≥ 4*40+1 bytes) and checks it: 1–40 characters of
 * valid UTF-8 without control characters. */
enum name_check avatar_name_check(const char *in, char *out, size_t outlen);

int flow_create_start(struct turn *t);
/* A message while the conversation is in the flow. */
int flow_create_message(struct turn *t);
/* A button of the flow. */
int flow_create_button(struct turn *t, const struct cb *cb);
/* /cancel: 1 when something was cancelled, 0 nothing to cancel, -1 error. */
int flow_create_cancel(struct turn *t);
/* Queues the edit of avatar aid's progress message to show its photos and
 * their checks as they stand (in the caller's transaction, under the
 * avatar's row lock).  0, or -1 on a database error. */
int flow_create_progress(struct app_ctx *ctx, int64_t user_id, enum lang l, int64_t aid);

#endif
