/*
 * jobs — see jobs.h.
 */
#include "jobs.h"

#include <inttypes.h>
#include <stdio.h>

#include "avatars.h"
#include "billing.h"
#include "flow_credits.h"
#include "gen_job.h"
#include "generations.h"
#include "keyboard.h"
#include "outbox.h"
#include "reply.h"
#include "sbuf.h"
#include "templates.h"
#include "texts.h"
#include "training.h"

/* Queues m (user and chat from j), sent once per dedupe key. */
static int
queue(struct db *db, const struct job *j, struct outbox_msg *m, struct fal_notes *notes)
{
	if (notes->n >= FAL_NOTES_MAX) {
		cJSON_Delete(m->params);
		return -1;
	}
	m->user_id = j->user_id;
	m->chat_id = j->chat_id;
	return outbox_enqueue(db, m, &notes->ids[notes->n++]) < 0 ? -1 : 0;
}

/* --- a training --------------------------------------------------------------------- */

#define AV(j) ((const struct avatar_job *)(j))

/* The key of an event of the avatar's FAL request: "avatar:ID:RID:event".
 * A request id may be 200 characters and a key at most 120: 64 of it. */
static void
request_key(char *key, size_t size, const struct job *j, const char *event)
{
	snprintf(key, size, "avatar:%" PRId64 ":%.64s:%s", j->id, j->request_id, event);
}

static void
refunded(const struct job *j, const struct fal_end *e, struct sbuf *s)
{
	if (e->refunded > 0)
		text_addf(s, j->lang, T_REFUNDED, e->refunded);
}

static const char *
training_event(const struct fal_end *e)
{
	static const char *const names[] = {
		[FAL_END_RESULT] = "failed", [FAL_END_TIMED_OUT] = "failed",
		[FAL_END_REFUSED] = "failed", [FAL_END_UNAVAILABLE] = "unavailable",
		[FAL_END_UNPAID] = "unpaid", [FAL_END_DEFERRED] = "later",
	};

	return e->ok ? "done" : names[e->how];
}

static void
training_text(const struct app_ctx *ctx, const struct avatar_job *a, const struct fal_end *e,
    struct sbuf *s, cJSON **kb)
{
	enum lang l = a->j.lang;

	if (e->ok)
		text_addf(s, l, T_TRAINING_DONE, a->name);
	else if (e->how == FAL_END_UNPAID)
		flow_credits_refusal(&ctx->cfg, l, e->bill, e->price, e->balance, e->per_day, s, kb);
	else if (e->how == FAL_END_DEFERRED)
		text_addf(s, l, T_TRAINING_LATER, a->name);
	else if (e->how == FAL_END_UNAVAILABLE)
		text_addf(s, l, T_TRAINING_UNAVAILABLE, a->name);
	else if (e->how == FAL_END_TIMED_OUT)
		text_addf(s, l, T_TRAINING_TIMEOUT, a->name);
	else
		text_addf(s, l, T_TRAINING_FAILED, a->name,
		    text_get(l, text_failure(e->r.error, true)));
	refunded(&a->j, e, s);
	if (e->ok)
		*kb = kb_trained(l, a->j.id);
	else if (e->how != FAL_END_DEFERRED && *kb == NULL)
		*kb = kb_retry(l, a->j.id);
	else if (e->how != FAL_END_DEFERRED) { /* under the packs: Retry, once topped up */
		kb_row(*kb);
		kb_button_t(*kb, l, T_BTN_RETRY, CB_AVATAR_RETRY, a->j.id, 0);
	}
}

/* The progress message of a training that ended does not stay at its last
 * percent: it says how it ended, with the way to the avatars. */
static int
progress_end(struct db *db, const struct job *j, bool ok, struct fal_notes *notes)
{
	const struct avatar_job *a = AV(j);
	struct sbuf s = SBUF_INIT;
	char key[300];

	if (a->progress_mid == 0)
		return 0;
	text_addf(&s, j->lang, ok ? T_TRAINING_PROGRESS_DONE : T_TRAINING_PROGRESS_ENDED, a->name);
	cJSON *kb = kb_my_avatars(j->lang);
	request_key(key, sizeof(key), j, "progress-end");
	struct outbox_msg m = {.kind = "training_progress", .dedupe_key = key, .avatar_id = j->id,
		.method = "editMessageText",
		.params = reply_edit_params(j->chat_id, a->progress_mid, s.p, kb)};
	int rc = queue(db, j, &m, notes);
	sbuf_free(&s);
	return rc;
}

/* The key makes each event one message: per claim for a start that failed,
 * per queueing for a wait, per request for an end. */
static int
training_compose(struct app_ctx *ctx, const struct job *j, const struct fal_end *e,
    struct fal_notes *notes)
{
	struct sbuf s = SBUF_INIT;
	cJSON *kb = NULL;
	char key[400];
	const char *event = training_event(e);

	if (e->how == FAL_END_DEFERRED)
		snprintf(key, sizeof(key), "%s:%s", j->charge_ref, event);
	else if (e->how != FAL_END_RESULT && e->how != FAL_END_TIMED_OUT)
		snprintf(key, sizeof(key), "avatar:%" PRId64 ":c%" PRId64 ":%s", j->id,
		    j->claim_epoch, event);
	else
		request_key(key, sizeof(key), j, event);
	training_text(ctx, AV(j), e, &s, &kb);
	struct outbox_msg m = {.kind = event, .dedupe_key = key, .avatar_id = j->id,
		.method = "sendMessage", .params = reply_message_params(j->chat_id, s.p, kb)};
	int rc = queue(&ctx->db, j, &m, notes);
	sbuf_free(&s);
	if (rc == 0 && (e->how == FAL_END_RESULT || e->how == FAL_END_TIMED_OUT))
		rc = progress_end(&ctx->db, j, e->ok, notes);
	return rc;
}

/* The avatar's progress message, edited in place through the outbox
 * (Telegram's limits kept, and only the latest of the edits not yet sent
 * goes: outbox_replace). */
static int
training_show(struct app_ctx *ctx, const struct job *j, enum fal_moment m, int progress)
{
	const struct avatar_job *a = AV(j);
	struct sbuf s = SBUF_INIT;
	char key[400], event[32];
	int64_t id;

	if (j->chat_id == 0 || a->progress_mid == 0)
		return 0;
	if (m == FAL_SHOW_STARTED)
		text_addf(&s, j->lang, T_TRAINING_STARTED, a->name,
		    training_minutes(&ctx->cfg, a->style));
	else
		text_addf(&s, j->lang, T_TRAINING_PROGRESS, a->name, progress);
	cJSON *kb = kb_my_avatars(j->lang);
	cJSON *p = reply_edit_params(j->chat_id, a->progress_mid, s.p, kb);
	sbuf_free(&s);
	if (m == FAL_SHOW_STARTED)
		snprintf(event, sizeof(event), "started");
	else
		snprintf(event, sizeof(event), "progress:%d", progress);
	request_key(key, sizeof(key), j, event);
	struct outbox_msg om = {.user_id = j->user_id, .chat_id = j->chat_id,
		.kind = "training_progress", .dedupe_key = key, .avatar_id = j->id,
		.method = "editMessageText", .params = p};
	return outbox_replace(&ctx->db, &om, &id);
}

const struct fal_kind job_training = {&training_ops, training_compose, training_show};

/* --- a generation ------------------------------------------------------------------ */

static int
gen_queue(struct db *db, const struct job *j, const char *part, const char *method,
    cJSON *params, const struct image_batch *pics, struct fal_notes *notes)
{
	char key[120];
	struct outbox_msg m = {.kind = "generation", .dedupe_key = key, .generation_id = j->id,
		.method = method, .params = params};

	snprintf(key, sizeof(key), "gen:%" PRId64 ":%s", j->id, part);
	if (pics != NULL) {
		m.image_ids = pics->ids;
		m.n_images = pics->shown;
	}
	return queue(db, j, &m, notes);
}

static void
caption(const struct gen_job *g, struct sbuf *s)
{
	char label[TEMPLATE_LABEL_MAX];
	enum lang l = g->j.lang;

	template_label(l, g->template_key, g->user_prompt, label, sizeof(label));
	sbuf_addf(s, text_get(l, T_GEN_CAPTION), label, g->aspect); /* plain text */
}

/* One picture: a photo with its own buttons.  Several: a media group
 * (which cannot carry buttons), then a message with a row per picture. */
static int
gen_pictures(struct db *db, const struct gen_job *g, struct fal_notes *notes)
{
	const struct image_batch *b = &g->pics;
	const struct job *j = &g->j;
	struct sbuf cap = SBUF_INIT;
	int rc;

	caption(g, &cap);
	if (b->shown == 1) {
		rc = gen_queue(db, j, "img", "sendPhoto", reply_photo_params(j->chat_id, b->urls[0],
		    cap.p, kb_image(j->lang, b->ids[0])), b, notes);
	} else {
		rc = gen_queue(db, j, "album", "sendMediaGroup", reply_album_params(j->chat_id,
		    b->urls, b->shown, cap.p), b, notes);
		if (rc == 0)
			rc = gen_queue(db, j, "album-buttons", "sendMessage",
			    reply_message_params(j->chat_id, text_get(j->lang, T_GEN_STARTED_DONE),
			    kb_album(j->lang, b->ids, b->shown)), NULL, notes);
	}
	sbuf_free(&cap);
	return rc;
}

/* A failure (with what was given back), a wait, or unpaid. */
static int
gen_not_made(struct app_ctx *ctx, const struct job *j, const struct fal_end *e,
    struct fal_notes *notes)
{
	struct sbuf s = SBUF_INIT;
	cJSON *kb = NULL;
	const char *part = e->how == FAL_END_DEFERRED ? "later" :
	    e->how == FAL_END_UNPAID ? "unpaid" : "failed";

	if (e->how == FAL_END_DEFERRED)
		text_addf(&s, j->lang, T_GEN_LATER);
	else if (e->how == FAL_END_UNPAID)
		flow_credits_refusal(&ctx->cfg, j->lang, e->bill, e->price, e->balance, e->per_day,
		    &s, &kb);
	else
		text_addf(&s, j->lang, T_GEN_FAILED,
		    text_get(j->lang, text_failure(e->r.error, false)));
	if (kb == NULL)
		kb = kb_then_menu(j->lang, T_BTN_GENERATE, CB_GEN_AVATAR,
		    ((const struct gen_job *)j)->avatar_id);
	refunded(j, e, &s);
	int rc = gen_queue(&ctx->db, j, part, "sendMessage", reply_message_params(j->chat_id, s.p,
	    kb), NULL, notes);
	sbuf_free(&s);
	return rc;
}

/* «Generating…» does not stay in the chat once the job ended: it says so. */
static int
gen_status_end(struct db *db, const struct gen_job *g, bool made, struct fal_notes *notes)
{
	if (g->status_mid == 0)
		return 0;
	enum lang l = g->j.lang;
	cJSON *p = reply_edit_params(g->j.chat_id, g->status_mid,
	    text_get(l, made ? T_GEN_STATUS_MADE : T_GEN_STATUS_NOT_MADE), NULL);
	return gen_queue(db, &g->j, "status", "editMessageText", p, NULL, notes);
}

static int
gen_compose(struct app_ctx *ctx, const struct job *j, const struct fal_end *e,
    struct fal_notes *notes)
{
	const struct gen_job *g = (const struct gen_job *)j;
	struct sbuf s = SBUF_INIT;
	int rc = 0;

	if (!e->ok) {
		rc = gen_not_made(ctx, j, e, notes);
		if (rc == 0 && e->how != FAL_END_DEFERRED) /* a deferred job still waits */
			rc = gen_status_end(&ctx->db, g, false, notes);
		return rc;
	}
	if (g->pics.shown > 0)
		rc = gen_pictures(&ctx->db, g, notes);
	if (rc == 0 && g->pics.hidden > 0) {
		text_addf(&s, j->lang, T_GEN_NSFW);
		refunded(j, e, &s);
		rc = gen_queue(&ctx->db, j, "nsfw", "sendMessage", reply_message_params(j->chat_id,
		    s.p, kb_then_menu(j->lang, T_BTN_GENERATE, CB_GEN_AVATAR, g->avatar_id)), NULL,
		    notes);
	}
	if (rc == 0)
		rc = gen_status_end(&ctx->db, g, g->pics.shown > 0, notes);
	sbuf_free(&s);
	return rc;
}

const struct fal_kind job_generation = {&gen_job_ops, gen_compose, NULL};
