/*
 * flow_create — the create-avatar conversation.  State changes happen in
 * the update's transaction; the progress message is edited after commit
 * under an advisory lock per avatar, so concurrent album items show their
 * counts in order and never go backwards.
 */
#include "flow_create.h"

#include <inttypes.h>
#include <string.h>

#include "avatars.h"
#include "flow_credits.h"
#include "keyboard.h"
#include "log.h"
#include "outbox.h"
#include "photos.h"
#include "sbuf.h"
#include "training.h"
#include "utf8.h"

/* --- names ----------------------------------------------------------------- */

static int
is_space_at(const unsigned char *s, size_t *len)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
		*len = 1;
		return 1;
	}
	if (s[0] == 0xC2 && s[1] == 0xA0) { /* no-break space */
		*len = 2;
		return 1;
	}
	return 0;
}

enum name_check
avatar_name_check(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in, *e;
	size_t l;

	out[0] = '\0';
	if (in == NULL)
		return NAME_EMPTY;
	while (*s && is_space_at(s, &l))
		s += l;
	e = s + strlen((const char *)s);
	while (e > s) { /* trailing spaces, ASCII or no-break */
		if (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')
			e--;
		else if (e - s >= 2 && e[-2] == 0xC2 && e[-1] == 0xA0)
			e -= 2;
		else
			break;
	}
	size_t n = (size_t)(e - s);
	if (n == 0)
		return NAME_EMPTY;
	if (!utf8_valid((const char *)s, n))
		return NAME_BAD_CHARS;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return NAME_BAD_CHARS;
	if (n >= outlen)
		return NAME_TOO_LONG;
	memcpy(out, s, n);
	out[n] = '\0';
	if (utf8_count(out) > AVATAR_NAME_MAX) {
		out[0] = '\0';
		return NAME_TOO_LONG;
	}
	return NAME_OK;
}

/* --- screens ----------------------------------------------------------------- */

static cJSON *
kb_cancel(const struct turn *t, int64_t aid)
{
	cJSON *kb = kb_new();

	kb_button_t(kb, t->user.lang, T_BTN_CANCEL, CB_CANCEL_CREATE, aid, 0);
	return kb;
}

static cJSON *
kb_types(const struct turn *t, int64_t aid, bool with_info)
{
	cJSON *kb = kb_new();
	enum lang l = t->user.lang;

	kb_button_t(kb, l, T_BTN_PORTRAIT, CB_TYPE, aid, 0);
	kb_button_t(kb, l, T_BTN_STYLE, CB_TYPE, aid, 1);
	kb_row(kb);
	if (with_info)
		kb_button_t(kb, l, T_BTN_TYPE_INFO, CB_TYPE_INFO, aid, 0);
	kb_button_t(kb, l, T_BTN_BACK, CB_CREATE_BACK, aid, 0);
	kb_button_t(kb, l, T_BTN_CANCEL, CB_CANCEL_CREATE, aid, 0);
	return kb;
}

/* How the checks went, when they have a say: "✅ 8 passed · ⏳ 2 …". */
static void
summary_checks(enum lang l, const struct photo_tally *tl, struct sbuf *s)
{
	if (tl->pending == 0 && tl->rejected == 0)
		return;
	sbuf_add(s, "\n");
	text_addf(s, l, T_SUMMARY_CHECKS, tl->passed);
	if (tl->pending > 0)
		text_addf(s, l, T_SUMMARY_CHECKING, tl->pending);
	if (tl->rejected > 0)
		text_addf(s, l, T_SUMMARY_REJECTED, tl->rejected);
}

static int
show_summary(struct turn *t, const struct avatar *a, bool as_new)
{
	struct sbuf s = SBUF_INIT;
	struct photo_tally tl;
	enum lang l = t->user.lang;

	if (photos_tally(&t->ctx->db, a->id, &tl) != 0)
		return -1;
	cJSON *kb = kb_new();
	text_addf(&s, l, T_SUMMARY, a->name,
	    a->gender < 0 ? "—" : turn_text(t, a->gender ? T_GENDER_FEMALE : T_GENDER_MALE),
	    turn_text(t, a->type == TRAIN_STYLE ? T_TYPE_STYLE : T_TYPE_PORTRAIT), a->photos,
	    training_minutes(&t->ctx->cfg, a->type == TRAIN_STYLE));
	summary_checks(l, &tl, &s);
	(void)flow_credits_price(t, CREDIT_JOB_TRAINING, &s);
	kb_button_t(kb, l, T_BTN_START_TRAINING, CB_START_TRAINING, a->id, 0);
	kb_row(kb);
	if (a->photos < t->ctx->cfg.photos_max)
		kb_button_t(kb, l, tl.rejected > 0 ? T_BTN_REPLACE_REJECTED : T_BTN_ADD_PHOTOS,
		    CB_ADD_PHOTOS, a->id, 0);
	kb_row(kb);
	kb_button_t(kb, l, T_BTN_BACK, CB_CREATE_BACK, a->id, 0);
	kb_button_t(kb, l, T_BTN_CANCEL, CB_CANCEL_CREATE, a->id, 0);
	if (as_new)
		turn_send(t, s.p, kb);
	else
		turn_show(t, s.p, kb);
	sbuf_free(&s);
	return 0;
}

/* The checks' verdicts on the progress message: each rejected photo by its
 * place, with what is wrong.  A photo that passes changes nothing on it —
 * it was counted when it came — so it costs no edit (Telegram allows about
 * one a second in a chat); the summary says how many are still checked. */
static void
progress_checks(enum lang l, const struct photo_tally *tl, struct sbuf *s)
{
	static const enum text_id flaw[] = {
		[PV_NOT_PHOTO] = T_FLAW_NOT_PHOTO, [PV_SMALL] = T_FLAW_SMALL, [PV_DARK] = T_FLAW_DARK,
		[PV_BRIGHT] = T_FLAW_BRIGHT, [PV_BLURRY] = T_FLAW_BLURRY,
		[PV_NO_FACE] = T_FLAW_NO_FACE, [PV_FACES] = T_FLAW_FACES,
		[PV_UNREADABLE] = T_FLAW_UNREADABLE,
	};

	if (tl->rejected == 0)
		return;
	sbuf_add(s, "\n\n");
	text_addf(s, l, T_CHECK_REJECTED, tl->rejected);
	for (int i = 0; i < tl->listed; i++) {
		const struct photo_rejection *r = &tl->list[i];
		sbuf_add(s, "\n");
		if (r->verdict == PV_DUPLICATE)
			text_addf(s, l, T_CHECK_LINE_SAME, r->nth, r->same_as);
		else
			text_addf(s, l, T_CHECK_LINE, r->nth, text_get(l, flaw[r->verdict]));
	}
	if (tl->rejected > tl->listed) {
		sbuf_add(s, "\n");
		text_addf(s, l, T_CHECK_MORE, tl->rejected - tl->listed);
	}
}

/* The text and keyboard of the progress message for the photos so far:
 * what to send (a face for a portrait, one style for a style avatar) stays
 * on it, and the checks' verdicts come under the count. */
static void
progress_screen(const struct config *c, enum lang l, int64_t aid, const struct photo_tally *tl,
    bool style, bool open, struct sbuf *s, cJSON **kb)
{
	int count = tl->passed + tl->pending;

	*kb = NULL;
	sbuf_addf(s, text_get(l, style ? T_PHOTOS_RULES_STYLE : T_PHOTOS_RULES), c->photos_min,
	    c->photos_max, c->photo_min_side);
	sbuf_add(s, "\n\n");
	if (count == 0)
		sbuf_add(s, text_get(l, T_PHOTOS_ASK));
	else if (count < c->photos_min)
		sbuf_addf(s, text_get(l, T_PHOTOS_PROGRESS), count, c->photos_min,
		    c->photos_min - count);
	else if (count >= c->photos_max)
		sbuf_addf(s, text_get(l, T_PHOTOS_FULL), count);
	else
		sbuf_addf(s, text_get(l, T_PHOTOS_ENOUGH), count, c->photos_max);
	progress_checks(l, tl, s);
	if (!open)
		return;
	*kb = kb_new();
	if (count >= c->photos_min)
		kb_button_t(*kb, l, T_BTN_PHOTOS_DONE, CB_PHOTOS_DONE, aid, 0);
	kb_row(*kb);
	kb_button_t(*kb, l, T_BTN_BACK, CB_CREATE_BACK, aid, 0);
	kb_button_t(*kb, l, T_BTN_CANCEL, CB_CANCEL_CREATE, aid, 0);
}

/* The progress screen of avatar aid as it stands; -1 on a database error. */
static int
photos_screen(struct turn *t, int64_t aid, bool style, struct sbuf *s, cJSON **kb)
{
	struct photo_tally tl;

	if (photos_tally(&t->ctx->db, aid, &tl) != 0)
		return -1;
	progress_screen(&t->ctx->cfg, t->user.lang, aid, &tl, style, true, s, kb);
	return 0;
}

/* --- steps --------------------------------------------------------------------- */

/* Discards the avatar being created, if any, and returns to idle. */
static int
discard_current(struct turn *t)
{
	if (t->conv.avatar_id != 0 && avatar_discard(&t->ctx->db, t->conv.avatar_id) < 0)
		return -1;
	return conv_set(&t->ctx->db, &t->conv, CONV_IDLE, 0);
}

/* A draft with a name (and maybe photos) is not thrown away unasked: go on
 * with it, or start over (which drops it). */
static int
offer_draft(struct turn *t)
{
	struct avatar a;
	struct sbuf s = SBUF_INIT;
	enum lang l = t->user.lang;
	int found = avatar_get(&t->ctx->db, t->conv.avatar_id, t->user.id, &a);

	if (found <= 0)
		return found;
	text_addf(&s, l, T_DRAFT_FOUND, a.name, a.photos);
	cJSON *kb = kb_new();
	kb_button_t(kb, l, T_BTN_CONTINUE, CB_CREATE_RESUME, a.id, 0);
	kb_row(kb);
	kb_button_t(kb, l, T_BTN_START_OVER, CB_CREATE_FRESH, a.id, 0);
	turn_send(t, s.p, kb);
	sbuf_free(&s);
	return 1;
}

int
flow_create_start(struct turn *t)
{
	if (conv_in_create(&t->conv) && t->conv.avatar_id != 0) {
		int offered = offer_draft(t);
		if (offered != 0)
			return offered < 0 ? -1 : 0;
	}
	if (conv_in_create(&t->conv) && discard_current(t) != 0)
		return -1;
	if (conv_set(&t->ctx->db, &t->conv, CONV_CREATE_NAME, 0) != 0)
		return -1;
	turn_send(t, turn_text(t, T_CREATE_ASK_NAME), kb_cancel(t, 0));
	return 0;
}

/* edit: in place of the pressed message (Back), else a new one. */
static void
ask_gender(struct turn *t, int64_t aid, const char *name, bool edit)
{
	struct sbuf s = SBUF_INIT;
	cJSON *kb = kb_new();

	text_addf(&s, t->user.lang, T_ASK_GENDER, name);
	kb_button_t(kb, t->user.lang, T_BTN_MALE, CB_GENDER, aid, 0);
	kb_button_t(kb, t->user.lang, T_BTN_FEMALE, CB_GENDER, aid, 1);
	kb_row(kb);
	kb_button_t(kb, t->user.lang, T_BTN_BACK, CB_CREATE_BACK, aid, 0);
	kb_button_t(kb, t->user.lang, T_BTN_CANCEL, CB_CANCEL_CREATE, aid, 0);
	if (edit)
		turn_show(t, s.p, kb);
	else
		turn_send(t, s.p, kb);
	sbuf_free(&s);
}

/* A new draft named name, or, when the person has an avatar of that name,
 * "name (2)", "name (3)"…: two would differ only by the star.  The name it
 * got in out; 1, 0 when none is free, -1. */
static int
create_named(struct turn *t, const char *name, char *out, size_t outlen, int64_t *aid)
{
	char base[4 * (AVATAR_NAME_MAX - 5) + 1]; /* room for " (99)" */

	snprintf(out, outlen, "%s", name);
	int made = avatar_create(&t->ctx->db, t->user.id, out, aid);
	if (made == 0)
		utf8_copy(base, sizeof(base), name, AVATAR_NAME_MAX - 5);
	for (int n = 2; made == 0 && n <= 99; n++) {
		snprintf(out, outlen, "%s (%d)", base, n);
		made = avatar_create(&t->ctx->db, t->user.id, out, aid);
	}
	return made;
}

static int
on_name(struct turn *t)
{
	char name[4 * AVATAR_NAME_MAX + 1];
	struct sbuf s = SBUF_INIT;
	int64_t aid;

	switch (avatar_name_check(t->u->text, name, sizeof(name))) {
	case NAME_EMPTY:
		turn_send(t, turn_text(t, T_NAME_EMPTY), NULL);
		return 0;
	case NAME_TOO_LONG:
		sbuf_addf(&s, turn_text(t, T_NAME_TOO_LONG), AVATAR_NAME_MAX);
		turn_send(t, s.p, NULL);
		sbuf_free(&s);
		return 0;
	case NAME_BAD_CHARS:
		turn_send(t, turn_text(t, T_NAME_BAD_CHARS), NULL);
		return 0;
	case NAME_OK:
		break;
	}
	char numbered[4 * AVATAR_NAME_MAX + 1];
	int made = create_named(t, name, numbered, sizeof(numbered), &aid);
	if (made == 0) {
		text_addf(&s, t->user.lang, T_NAME_TAKEN, name);
		turn_send(t, s.p, kb_cancel(t, 0));
		sbuf_free(&s);
		return 0;
	}
	if (made < 0 || conv_set(&t->ctx->db, &t->conv, CONV_CREATE_GENDER, aid) != 0)
		return -1;
	if (strcmp(numbered, name) != 0) { /* the person hears which name it got */
		text_addf(&s, t->user.lang, T_NAME_NUMBERED, name, numbered);
		turn_send(t, s.p, NULL);
		sbuf_free(&s);
	}
	ask_gender(t, aid, numbered, false);
	return 0;
}

static void
reject_photo(struct turn *t, enum text_id id, int arg)
{
	struct sbuf s = SBUF_INIT;

	sbuf_addf(&s, turn_text(t, id), arg);
	turn_send(t, s.p, NULL);
	sbuf_free(&s);
}

/* The progress message shows the new count and rejections: edited through
 * the outbox (no request waits on Telegram), a newer state replacing one
 * not yet sent — an album's ten photos make one or two edits, not ten.
 * The key is what it shows: photos only come and rejections only land
 * (each a photo fewer counted), so a state never comes back, and a photo
 * that passes queues nothing new. */
int
flow_create_progress(struct app_ctx *ctx, int64_t user_id, enum lang l, int64_t aid)
{
	struct avatar_photo_progress pp;
	struct photo_tally tl;
	struct sbuf s = SBUF_INIT;
	cJSON *kb = NULL;
	char key[96];
	int64_t id;

	int found = avatar_photo_progress(&ctx->db, aid, &pp);
	if (found <= 0 || pp.chat_id == 0)
		return found < 0 ? -1 : 0;
	if (photos_tally(&ctx->db, aid, &tl) != 0)
		return -1;
	progress_screen(&ctx->cfg, l, aid, &tl, pp.style, pp.open, &s, &kb);
	snprintf(key, sizeof(key), "progress:%" PRId64 ":%d:%d", aid, tl.passed + tl.pending,
	    tl.rejected);
	struct outbox_msg m = {.user_id = user_id, .chat_id = pp.chat_id,
		.kind = "photo_progress", .dedupe_key = key, .avatar_id = aid,
		.method = pp.message_id != 0 ? "editMessageText" : "sendMessage",
		.params = pp.message_id != 0 ?
		    reply_edit_params(pp.chat_id, pp.message_id, s.p, kb) :
		    reply_message_params(pp.chat_id, s.p, kb)};
	sbuf_free(&s);
	return outbox_replace(&ctx->db, &m, &id) < 0 ? -1 : 0;
}

/* When the avatar is full, the summary follows by itself. */
static int
to_summary(struct turn *t, int64_t aid)
{
	struct avatar a;

	if (avatar_transition(&t->ctx->db, aid, AV_PHOTOS, AV_READY) < 0 ||
	    conv_set(&t->ctx->db, &t->conv, CONV_CREATE_SUMMARY, aid) != 0 ||
	    avatar_get(&t->ctx->db, aid, t->user.id, &a) != 1)
		return -1;
	return show_summary(t, &a, true);
}

static int
on_photo(struct turn *t)
{
	const struct config *c = &t->ctx->cfg;
	const char *mime;
	enum photo_add_result res;
	int count;
	bool checker_idle;

	switch (photo_check(t->u, c->photo_min_side, &mime)) {
	case PHOTO_NOT_IMAGE:
		reject_photo(t, T_PHOTO_NOT_IMAGE, 0);
		return 0;
	case PHOTO_TOO_SMALL:
		reject_photo(t, T_PHOTO_TOO_SMALL, c->photo_min_side);
		return 0;
	case PHOTO_TOO_BIG:
		reject_photo(t, T_PHOTO_TOO_BIG, 0);
		return 0;
	case PHOTO_NONE:
		return 0;
	case PHOTO_OK:
		break;
	}
	if (photos_add(&t->ctx->db, t->conv.avatar_id, t->u, mime, c->photos_max, &res, &count,
	    &checker_idle) != 0)
		return -1;
	switch (res) {
	case PHOTO_ADDED:
		log_info("avatar %" PRId64 ": photo %d stored", t->conv.avatar_id, count);
		t->after_check_photos = checker_idle;
		if (count >= c->photos_max && to_summary(t, t->conv.avatar_id) != 0)
			return -1;
		return flow_create_progress(t->ctx, t->user.id, t->user.lang, t->conv.avatar_id);
	case PHOTO_DUPLICATE:
		reject_photo(t, T_PHOTO_DUPLICATE, 0);
		return 0;
	case PHOTO_FULL:
	case PHOTO_GONE:
		reject_photo(t, T_PHOTO_LIMIT, c->photos_max);
		return 0;
	}
	return 0;
}

int
flow_create_message(struct turn *t)
{
	const struct tg_update *u = t->u;
	bool media = u->has_photo || u->has_document;

	switch (t->conv.state) {
	case CONV_CREATE_NAME:
		if (u->text != NULL)
			return on_name(t);
		turn_send(t, turn_text(t, T_CREATE_ASK_NAME), kb_cancel(t, 0));
		return 0;
	case CONV_CREATE_PHOTOS:
		if (media)
			return on_photo(t);
		int n = photos_count(&t->ctx->db, t->conv.avatar_id);
		if (n < 0)
			return -1;
		struct sbuf s = SBUF_INIT;
		sbuf_addf(&s, turn_text(t, T_PHOTO_HINT), n, t->ctx->cfg.photos_min);
		turn_send(t, s.p, NULL);
		sbuf_free(&s);
		return 0;
	case CONV_CREATE_SUMMARY:
		if (media) {
			reject_photo(t, T_PHOTO_LIMIT, t->ctx->cfg.photos_max);
			return 0;
		}
		/* fall through */
	default:
		turn_send(t, turn_text(t, T_USE_BUTTONS), NULL);
		return 0;
	}
}

/* --- buttons ------------------------------------------------------------------ */

static int
on_gender(struct turn *t, const struct cb *cb)
{
	if (t->conv.state != CONV_CREATE_GENDER || cb->n[1] > 1) {
		turn_stale(t);
		return 0;
	}
	if (avatar_set_gender(&t->ctx->db, cb->n[0], (int)cb->n[1]) != 0 ||
	    conv_set(&t->ctx->db, &t->conv, CONV_CREATE_TYPE, cb->n[0]) != 0)
		return -1;
	turn_toast(t, NULL);
	turn_show(t, turn_text(t, T_ASK_TYPE), kb_types(t, cb->n[0], true));
	return 0;
}

static int
on_type(struct turn *t, const struct cb *cb)
{
	const struct tg_update *u = t->u;
	struct sbuf s = SBUF_INIT;
	cJSON *kb;

	if (t->conv.state != CONV_CREATE_TYPE || cb->n[1] > 1) {
		turn_stale(t);
		return 0;
	}
	/* The pressed message becomes the progress message (edited in place). */
	int64_t mid = u->callback_text ? u->message_id : 0;
	if (avatar_open_photos(&t->ctx->db, cb->n[0], cb->n[1] ? TRAIN_STYLE : TRAIN_PORTRAIT,
	    u->chat_id, mid) != 0 ||
	    conv_set(&t->ctx->db, &t->conv, CONV_CREATE_PHOTOS, cb->n[0]) != 0)
		return -1;
	turn_toast(t, NULL);
	if (photos_screen(t, cb->n[0], cb->n[1] == 1, &s, &kb) != 0)
		return -1;
	turn_show(t, s.p, kb);
	sbuf_free(&s);
	return 0;
}

static int
on_type_info(struct turn *t, const struct cb *cb)
{
	if (t->conv.state != CONV_CREATE_TYPE) {
		turn_stale(t);
		return 0;
	}
	turn_toast(t, NULL);
	turn_show(t, turn_text(t, T_TYPE_INFO), kb_types(t, cb->n[0], false));
	return 0;
}

static int
on_photos_done(struct turn *t, const struct cb *cb)
{
	struct avatar a;
	struct sbuf s = SBUF_INIT;

	if (t->conv.state != CONV_CREATE_PHOTOS) {
		turn_stale(t);
		return 0;
	}
	if (avatar_get(&t->ctx->db, cb->n[0], t->user.id, &a) != 1)
		return -1;
	if (a.photos < t->ctx->cfg.photos_min) {
		sbuf_addf(&s, turn_text(t, T_PHOTOS_NEED_MORE), t->ctx->cfg.photos_min - a.photos);
		turn_toast(t, s.p);
		sbuf_free(&s);
		return 0;
	}
	if (avatar_transition(&t->ctx->db, a.id, AV_PHOTOS, AV_READY) < 0 ||
	    conv_set(&t->ctx->db, &t->conv, CONV_CREATE_SUMMARY, a.id) != 0)
		return -1;
	turn_toast(t, NULL);
	return show_summary(t, &a, true);
}

static int
on_add_photos(struct turn *t, const struct cb *cb)
{
	struct avatar a;
	struct sbuf s = SBUF_INIT;
	int n;

	if (t->conv.state != CONV_CREATE_SUMMARY) {
		turn_stale(t);
		return 0;
	}
	if (avatar_get(&t->ctx->db, cb->n[0], t->user.id, &a) != 1)
		return -1;
	if ((n = a.photos) >= t->ctx->cfg.photos_max) {
		sbuf_addf(&s, turn_text(t, T_PHOTO_LIMIT), t->ctx->cfg.photos_max);
		turn_toast(t, s.p);
		sbuf_free(&s);
		return 0;
	}
	if (avatar_transition(&t->ctx->db, cb->n[0], AV_READY, AV_PHOTOS) < 0 ||
	    conv_set(&t->ctx->db, &t->conv, CONV_CREATE_PHOTOS, cb->n[0]) != 0)
		return -1;
	turn_toast(t, NULL);
	cJSON *kb;
	if (photos_screen(t, cb->n[0], a.type == TRAIN_STYLE, &s, &kb) != 0)
		return -1;
	turn_show(t, s.p, kb);
	sbuf_free(&s);
	return 0;
}

/* Nothing is paid for before every photo is checked and enough passed:
 * 1 go on, 0 the person was told why not, -1 error. */
static int
checks_allow_start(struct turn *t, int64_t aid)
{
	struct photo_tally tl;
	struct sbuf s = SBUF_INIT;

	if (photos_tally(&t->ctx->db, aid, &tl) != 0)
		return -1;
	if (tl.pending > 0)
		text_addf(&s, t->user.lang, T_START_WAIT_CHECKS, tl.pending);
	else if (tl.passed < t->ctx->cfg.photos_min)
		text_addf(&s, t->user.lang, T_START_NEED_PASSED, tl.passed, t->ctx->cfg.photos_min);
	else
		return 1;
	turn_toast(t, s.p);
	sbuf_free(&s);
	return 0;
}

static int
on_start_training(struct turn *t, const struct cb *cb)
{
	struct avatar a;
	struct sbuf s = SBUF_INIT;

	int found = avatar_get(&t->ctx->db, cb->n[0], t->user.id, &a);
	if (found < 0)
		return -1;
	if (found == 0) {
		turn_stale(t);
		return 0;
	}
	if (a.status == AV_READY) {
		int ready = checks_allow_start(t, a.id);
		if (ready <= 0)
			return ready;
	}
	int may = a.status == AV_READY ? flow_credits_gate(t, CREDIT_JOB_TRAINING) : 1;
	if (may <= 0)
		return may;
	int queued = avatar_queue(&t->ctx->db, a.id, false);
	if (queued < 0)
		return -1;
	if (queued == 0) {
		/* A second tap, or a button from an old summary. */
		turn_toast(t, a.status >= AV_QUEUED && a.status <= AV_COMPLETED ?
		    turn_text(t, T_ALREADY_QUEUED) : turn_text(t, T_STALE_BUTTON));
		return 0;
	}
	if (t->conv.avatar_id == a.id && conv_set(&t->ctx->db, &t->conv, CONV_IDLE, 0) != 0)
		return -1;
	/* The summary, now saying "queued", becomes the progress message. */
	if (t->u->callback_text &&
	    avatar_set_progress_message(&t->ctx->db, a.id, t->u->chat_id, t->u->message_id) != 0)
		return -1;
	log_info("avatar %" PRId64 " queued for training (%d photos)", a.id, a.photos);
	t->after_trigger = a.id;
	text_addf(&s, t->user.lang, T_QUEUED, a.name,
	    training_minutes(&t->ctx->cfg, a.type == TRAIN_STYLE));
	turn_toast(t, NULL);
	turn_show(t, s.p, kb_my_avatars(t->user.lang));
	sbuf_free(&s);
	return 0;
}

/* Says what was cancelled and shows the menu. */
static int
cancel_and_say(struct turn *t)
{
	struct avatar a;
	struct sbuf s = SBUF_INIT;
	bool named = false;

	if (t->conv.avatar_id != 0) {
		int found = avatar_get(&t->ctx->db, t->conv.avatar_id, t->user.id, &a);
		if (found < 0)
			return -1;
		named = found == 1;
	}
	if (discard_current(t) != 0)
		return -1;
	if (named) {
		text_addf(&s, t->user.lang, T_CANCELLED_CREATE, a.name);
	} else {
		sbuf_add(&s, turn_text(t, T_CANCELLED_CREATE_NONAME));
	}
	turn_show(t, s.p, NULL);
	turn_send_menu(t, false);
	sbuf_free(&s);
	return 0;
}

int
flow_create_cancel(struct turn *t)
{
	if (!conv_in_create(&t->conv))
		return 0;
	return cancel_and_say(t) == 0 ? 1 : -1;
}

/* The screen of creation step st for draft a: in place of the pressed
 * message (edit: Back), or as a new one (Continue). */
static int
show_step(struct turn *t, const struct avatar *a, enum conv_state st, bool edit)
{
	struct sbuf s = SBUF_INIT;
	cJSON *kb = NULL;

	switch (st) {
	case CONV_CREATE_NAME:
		sbuf_add(&s, turn_text(t, T_CREATE_ASK_NAME));
		kb = kb_cancel(t, 0);
		break;
	case CONV_CREATE_GENDER:
		ask_gender(t, a->id, a->name, edit);
		return 0;
	case CONV_CREATE_TYPE:
		sbuf_add(&s, turn_text(t, T_ASK_TYPE));
		kb = kb_types(t, a->id, true);
		break;
	case CONV_CREATE_SUMMARY:
		return show_summary(t, a, !edit);
	default:
		if (photos_screen(t, a->id, a->type == TRAIN_STYLE, &s, &kb) != 0)
			return -1;
		break;
	}
	if (edit)
		turn_show(t, s.p, kb);
	else
		turn_send(t, s.p, kb);
	sbuf_free(&s);
	return 0;
}

/* The draft's step again, as a new message: from the offer above, or from
 * the draft's card (the conversation moves to it; another draft stays as it
 * is, on the list). */
static int
on_resume(struct turn *t, int64_t aid)
{
	struct avatar a;
	int found = avatar_get(&t->ctx->db, aid, t->user.id, &a);

	if (found < 0)
		return -1;
	if (found == 0 || a.status > AV_READY) {
		turn_stale(t);
		return 0;
	}
	enum conv_state st = a.status == AV_PHOTOS ? CONV_CREATE_PHOTOS :
	    a.status == AV_READY ? CONV_CREATE_SUMMARY :
	    a.gender < 0 ? CONV_CREATE_GENDER : CONV_CREATE_TYPE;
	if (conv_set(&t->ctx->db, &t->conv, st, a.id) != 0)
		return -1;
	turn_toast(t, NULL);
	return show_step(t, &a, st, false);
}

/* One step back, in place of the pressed message: the name (the draft,
 * which has nothing else yet, goes), the gender, the type (the photos
 * stay), the photos. */
static int
on_back(struct turn *t, int64_t aid)
{
	struct avatar a;
	struct db *db = &t->ctx->db;
	enum conv_state to;
	int found = avatar_get(db, aid, t->user.id, &a);

	if (found <= 0)
		return found;
	switch (t->conv.state) {
	case CONV_CREATE_GENDER:
		to = CONV_CREATE_NAME;
		if (discard_current(t) != 0)
			return -1;
		aid = 0;
		break;
	case CONV_CREATE_TYPE:
		to = CONV_CREATE_GENDER;
		break;
	case CONV_CREATE_PHOTOS:
		to = CONV_CREATE_TYPE;
		if (avatar_transition(db, aid, AV_PHOTOS, AV_DRAFT) < 0)
			return -1;
		break;
	case CONV_CREATE_SUMMARY:
		to = CONV_CREATE_PHOTOS;
		if (avatar_transition(db, aid, AV_READY, AV_PHOTOS) < 0)
			return -1;
		break;
	default:
		turn_stale(t);
		return 0;
	}
	if (conv_set(db, &t->conv, to, aid) != 0)
		return -1;
	turn_toast(t, NULL);
	return show_step(t, &a, to, true);
}

/* Start over: the offered draft goes, and a new one begins. */
static int
on_fresh(struct turn *t, int64_t aid)
{
	if (!conv_in_create(&t->conv) || t->conv.avatar_id != aid) {
		turn_stale(t);
		return 0;
	}
	turn_toast(t, NULL);
	if (discard_current(t) != 0)
		return -1;
	return flow_create_start(t);
}

int
flow_create_button(struct turn *t, const struct cb *cb)
{
	if (cb->action == CB_START_TRAINING)
		return on_start_training(t, cb);
	if (cb->action == CB_CREATE_RESUME)
		return on_resume(t, cb->n[0]);
	if (cb->action == CB_CREATE_FRESH)
		return on_fresh(t, cb->n[0]);
	/* Every other button of the flow belongs to the avatar being created
	 * (0 for the name step's Cancel). */
	if (!conv_in_create(&t->conv) || cb->n[0] != t->conv.avatar_id) {
		turn_stale(t);
		return 0;
	}
	switch (cb->action) {
	case CB_GENDER: return on_gender(t, cb);
	case CB_TYPE: return on_type(t, cb);
	case CB_TYPE_INFO: return on_type_info(t, cb);
	case CB_PHOTOS_DONE: return on_photos_done(t, cb);
	case CB_ADD_PHOTOS: return on_add_photos(t, cb);
	case CB_CANCEL_CREATE:
		turn_toast(t, NULL);
		return cancel_and_say(t);
	case CB_CREATE_BACK:
		return on_back(t, cb->n[0]);
	default:
		turn_stale(t);
		return 0;
	}
}
