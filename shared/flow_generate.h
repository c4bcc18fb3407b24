/*
 * flow_generate — Generate, the Gallery and sharing, in the chat:
 *
 *   Generate ─▶ avatar (main preselected; 🔄 to change) ─▶ style template
 *   (paged) or ✍️ own prompt ─▶ aspect ratio ─▶ confirm ─▶ "generating…"
 *   ─▶ the picture arrives with 🔁 Regenerate · ⬇️ Full quality · 🔗 Share
 *
 *   Gallery ─▶ one picture a page (◀ n/N ▶), Full quality, Share,
 *   Regenerate, Delete (with confirmation)
 *
 *   Share ─▶ a t.me deep link (/start img_<code>) and an inline-query button;
 *   the code is unguessable and dies with the picture.
 *
 * Jobs are created in the tap's transaction (one per tap, under the
 * per-user limit) and submitted after commit (generations.c).
 */
#ifndef AISHA_FLOW_GENERATE_H
#define AISHA_FLOW_GENERATE_H

#include "turn.h"
#include "callback.h"

int flow_generate_start(struct turn *t, int64_t avatar_id);
int flow_generate_button(struct turn *t, const struct cb *cb);
/* Text while waiting for an own prompt. */
int flow_generate_prompt(struct turn *t);
/* /start img_<code>: shows the shared picture; 1 shown, 0 not a share, -1. */
int flow_generate_shared(struct turn *t, const char *arg);
/* inline_query "img_<code>": answers with the picture. */
int flow_generate_inline(struct turn *t);
/* After commit: submits the job created by this update. */
void flow_generate_after(struct app_ctx *ctx, int64_t gen_id);
/* After commit: uploads the picture's bytes as a document (Telegram takes a
 * JPEG document only as an upload) and keeps the file_id it gives, so the
 * next time costs one call with no upload. */
void flow_generate_full(struct app_ctx *ctx, int64_t image_id, int64_t user_id,
    int64_t chat_id, enum lang l);

#endif
