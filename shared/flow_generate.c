#include "flow_generate.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "avatars.h"
#include "fal_models.h"
#include "flow_credits.h"
#include "generations.h"
#include "http_out.h"
#include "jobs.h"
#include "keyboard.h"
#include "log.h"
#include "sbuf.h"
#include "templates.h"

#define TPL_PER_PAGE 6
#define PICK_MAX 10


/* A picture's style as its owner sees it (template_label). */
static const char *
style_of(enum lang l, const struct gen_image *m, char out[TEMPLATE_LABEL_MAX])
{
	template_label(l, m->template_key, m->user_prompt, out, TEMPLATE_LABEL_MAX);
	return out;
}

/* --- choosing ------------------------------------------------------------------ */

/* edit: in place of the pressed message (a menu's step); else a new one
 * (an answer to an action: the pressed message may say the same already,
 * and Telegram refuses an edit that changes nothing). */
static void
no_avatar(struct turn *t, bool edit)
{
	cJSON *kb = kb_new();

	kb_button_t(kb, t->user.lang, T_BTN_CREATE, CB_CREATE, 0, 0);
	kb_button_t(kb, t->user.lang, T_BTN_BACK, CB_MENU, 0, 0);
	if (edit)
		turn_show(t, turn_text(t, T_GEN_NO_AVATAR), kb);
	else
		turn_send(t, turn_text(t, T_GEN_NO_AVATAR), kb);
}

/* The avatar asked for cannot generate (deleted, or not trained): the one
 * that can, when there is one; else how to get one. */
static int
say_not_ready(struct turn *t)
{
	struct avatar a;
	struct sbuf s = SBUF_INIT;
	int found = avatar_for_generation(&t->ctx->db, t->user.id, 0, &a);

	if (found < 0)
		return -1;
	if (found == 0) {
		turn_toast(t, turn_text(t, T_GEN_NOT_READY));
		no_avatar(t, false);
		return 0;
	}
	text_addf(&s, t->user.lang, T_GEN_USE_OTHER, a.name);
	turn_toast(t, s.p);
	turn_send(t, s.p, kb_then_menu(t->user.lang, T_BTN_GENERATE, CB_GEN_AVATAR, a.id));
	sbuf_free(&s);
	return 0;
}

static int
show_templates(struct turn *t, int64_t aid, int64_t page)
{
	struct avatar a;
	struct sbuf s = SBUF_INIT;
	enum lang l = t->user.lang;
	int pages = (int)((gen_templates_count + TPL_PER_PAGE - 1) / TPL_PER_PAGE);

	int found = avatar_for_generation(&t->ctx->db, t->user.id, aid, &a);
	if (found == 0 && aid != 0) /* an old card of an avatar that is gone */
		return say_not_ready(t);
	if (found <= 0) {
		if (found == 0)
			no_avatar(t, true);
		return found;
	}
	if (page < 0 || page >= pages)
		page = 0;
	cJSON *kb = kb_new();
	for (int i = 0; i < TPL_PER_PAGE; i++) {
		size_t idx = (size_t)page * TPL_PER_PAGE + (size_t)i + 1;
		const struct gen_template *tp = template_at(idx);
		if (tp == NULL)
			break;
		if (i % 2 == 0 && i > 0)
			kb_row(kb);
		kb_button(kb, tp->name[l], CB_GEN_TPL, a.id, (int64_t)idx);
	}
	kb_row(kb);
	if (pages > 1) {
		char label[32];
		kb_button(kb, "◀", CB_GEN_AVATAR, a.id, (page + pages - 1) % pages);
		snprintf(label, sizeof(label), "%d/%d", (int)page + 1, pages);
		kb_button(kb, label, CB_GEN_AVATAR, a.id, page);
		kb_button(kb, "▶", CB_GEN_AVATAR, a.id, (page + 1) % pages);
		kb_row(kb);
	}
	kb_button_t(kb, l, T_BTN_OWN_PROMPT, CB_GEN_TPL, a.id, 0);
	kb_button_t(kb, l, T_BTN_CHANGE_AVATAR, CB_GEN_PICK, 0, 0);
	kb_row(kb);
	kb_button_t(kb, l, T_BTN_BACK, CB_MENU, 0, 0);
	text_addf(&s, l, T_GEN_CHOOSE, a.name);
	turn_show(t, s.p, kb);
	sbuf_free(&s);
	return 1;
}

int
flow_generate_start(struct turn *t, int64_t avatar_id)
{
	return show_templates(t, avatar_id, 0) < 0 ? -1 : 0;
}

static int
pick_avatar(struct turn *t)
{
	struct avatar list[PICK_MAX];
	int n = avatar_list_trained(&t->ctx->db, t->user.id, list, PICK_MAX);

	if (n < 0)
		return -1;
	if (n == 0) {
		no_avatar(t, true);
		return 0;
	}
	cJSON *kb = kb_new();
	for (int i = 0; i < n; i++) {
		char label[200];
		snprintf(label, sizeof(label), "%s%s", list[i].is_main ? "⭐ " : "", list[i].name);
		kb_button(kb, label, CB_GEN_AVATAR, list[i].id, 0);
		kb_row(kb);
	}
	kb_button_t(kb, t->user.lang, T_BTN_BACK, CB_MENU, 0, 0);
	turn_show(t, turn_text(t, T_GEN_PICK_AVATAR), kb);
	return 0;
}

static void
show_aspects(struct turn *t, int64_t aid, int64_t tpl, const char *style)
{
	struct sbuf s = SBUF_INIT;
	cJSON *kb = kb_new();

	for (int i = 0; i < FAL_ASPECTS; i++) {
		if (i == 3)
			kb_row(kb);
		kb_button(kb, fal_aspects[i].ratio, CB_GEN_AR, aid, tpl * 8 + i);
	}
	kb_row(kb);
	kb_button_t(kb, t->user.lang, T_BTN_BACK, CB_GEN_AVATAR, aid, 0);
	sbuf_addf(&s, turn_text(t, T_GEN_CHOOSE_AR), style);
	turn_show(t, s.p, kb);
	sbuf_free(&s);
}

/* Back from "write your prompt": a text is no longer taken as one. */
static int
leave_prompt(struct turn *t)
{
	if (t->conv.state != CONV_GEN_PROMPT)
		return 0;
	return conv_set(&t->ctx->db, &t->conv, CONV_IDLE, 0);
}

static int
on_template(struct turn *t, const struct cb *cb)
{
	if (cb->n[1] == 0) {
		struct sbuf s = SBUF_INIT;
		if (conv_set(&t->ctx->db, &t->conv, CONV_GEN_PROMPT, cb->n[0]) != 0 ||
		    conv_set_prompt(&t->ctx->db, &t->conv, NULL) != 0)
			return -1;
		sbuf_addf(&s, turn_text(t, T_GEN_ASK_PROMPT), PROMPT_MAX);
		cJSON *kb = kb_new();
		kb_button_t(kb, t->user.lang, T_BTN_BACK, CB_GEN_AVATAR, cb->n[0], 0);
		kb_button_t(kb, t->user.lang, T_BTN_MENU, CB_MENU, 0, 0);
		turn_show(t, s.p, kb);
		sbuf_free(&s);
		return 0;
	}
	const struct gen_template *tp = template_at((size_t)cb->n[1]);
	if (tp == NULL) {
		turn_stale(t);
		return 0;
	}
	show_aspects(t, cb->n[0], cb->n[1], tp->name[t->user.lang]);
	return 0;
}

int
flow_generate_prompt(struct turn *t)
{
	struct sbuf clean = SBUF_INIT, s = SBUF_INIT;
	struct avatar a;
	int rc = 0;

	int found = avatar_for_generation(&t->ctx->db, t->user.id, t->conv.avatar_id, &a);
	if (found < 0)
		return -1;
	if (found == 0) {
		if (conv_set(&t->ctx->db, &t->conv, CONV_IDLE, 0) != 0)
			return -1;
		no_avatar(t, true);
		return 0;
	}
	/* The cleaned text is what is kept, never the raw one (a 2,400-character
	 * message of spaces may clean to 600 but would not fit the row); the
	 * trigger word and cues are put around it when the job is made. */
	switch (prompt_clean(t->u->text, &clean)) {
	case PROMPT_EMPTY:
		turn_send(t, turn_text(t, T_GEN_PROMPT_EMPTY), NULL);
		break;
	case PROMPT_TOO_LONG:
		sbuf_addf(&s, turn_text(t, T_GEN_PROMPT_TOO_LONG), PROMPT_MAX);
		turn_send(t, s.p, NULL);
		break;
	case PROMPT_OK:
		rc = conv_set_prompt(&t->ctx->db, &t->conv, clean.p);
		if (rc == 0) {
			char label[TEMPLATE_LABEL_MAX];
			template_label(t->user.lang, NULL, clean.p, label, sizeof(label));
			show_aspects(t, a.id, 0, label);
		}
		break;
	}
	sbuf_free(&clean);
	sbuf_free(&s);
	return rc;
}

static int
on_aspect(struct turn *t, const struct cb *cb)
{
	struct avatar a;
	struct sbuf s = SBUF_INIT;
	int64_t tpl = cb->n[1] / 8, ar = cb->n[1] % 8;
	const struct gen_template *tp = template_at((size_t)tpl);

	if (ar >= FAL_ASPECTS || (tpl != 0 && tp == NULL) ||
	    (tpl == 0 && (t->conv.state != CONV_GEN_PROMPT || t->conv.avatar_id != cb->n[0]))) {
		turn_stale(t);
		return 0;
	}
	int found = avatar_for_generation(&t->ctx->db, t->user.id, cb->n[0], &a);
	if (found <= 0) {
		if (found == 0)
			turn_toast(t, turn_text(t, T_GEN_NOT_READY));
		return found;
	}
	cJSON *kb = kb_new();
	kb_button_t(kb, t->user.lang, T_BTN_GENERATE_GO, CB_GEN_GO, a.id, cb->n[1]);
	kb_row(kb);
	kb_button_t(kb, t->user.lang, T_BTN_BACK, CB_GEN_AVATAR, a.id, 0);
	char own[4 * PROMPT_MAX + 1] = "", label[TEMPLATE_LABEL_MAX];
	if (tp == NULL && conv_get_prompt(&t->ctx->db, &t->conv, own, sizeof(own)) != 0) {
		cJSON_Delete(kb);
		return -1;
	}
	template_label(t->user.lang, tp ? tp->key : NULL, own, label, sizeof(label));
	text_addf(&s, t->user.lang, T_GEN_CONFIRM, a.name, label, fal_aspects[ar].ratio);
	if (flow_credits_price(t, CREDIT_JOB_PICTURE, &s) != 0) {
		cJSON_Delete(kb);
		sbuf_free(&s);
		return -1;
	}
	turn_show(t, s.p, kb);
	sbuf_free(&s);
	return 0;
}

/* --- generating ---------------------------------------------------------------------- */

static void
chat_action(struct turn *t)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, "chat_id", (double)t->u->chat_id);
	cJSON_AddStringToObject(p, "action", "upload_photo");
	reply_add(&t->out, "sendChatAction", p);
}

/* Tells the user what became of a create/repeat request. */
static int
say_created(struct turn *t, enum gen_create rc, int64_t gid, bool edit)
{
	struct sbuf s = SBUF_INIT;

	switch (rc) {
	case GEN_CREATED:
		t->after_generate = gid;
		turn_toast(t, NULL);
		if (edit)
			turn_show(t, turn_text(t, T_GEN_STARTED), NULL);
		else
			turn_send(t, turn_text(t, T_GEN_STARTED), NULL);
		chat_action(t);
		break;
	case GEN_TOO_MANY:
		sbuf_addf(&s, turn_text(t, T_GEN_TOO_MANY), t->ctx->cfg.gen_max_active);
		turn_toast(t, s.p);
		turn_send(t, s.p, NULL);
		break;
	case GEN_NOT_READY:
		sbuf_free(&s);
		return say_not_ready(t);
	case GEN_DB_ERROR:
		break;
	}
	sbuf_free(&s);
	return 0;
}

static int
on_go(struct turn *t, const struct cb *cb)
{
	struct avatar a;
	struct sbuf prompt = SBUF_INIT;
	char own[4 * PROMPT_MAX + 1] = "";
	int64_t tpl = cb->n[1] / 8, ar = cb->n[1] % 8, gid = 0;
	const struct gen_template *tp = template_at((size_t)tpl);

	if (ar >= FAL_ASPECTS || (tpl != 0 && tp == NULL)) {
		turn_stale(t);
		return 0;
	}
	int found = avatar_get(&t->ctx->db, cb->n[0], t->user.id, &a);
	if (found < 0)
		return -1;
	if (found == 0 || a.status != AV_COMPLETED) {
		return say_created(t, GEN_NOT_READY, 0, false);
		return 0;
	}
	if (tp != NULL) {
		template_render(tp, a.trigger, a.gender, &prompt);
	} else {
		if (t->conv.state != CONV_GEN_PROMPT || t->conv.avatar_id != a.id ||
		    conv_get_prompt(&t->ctx->db, &t->conv, own, sizeof(own)) != 0 || own[0] == '\0') {
			turn_stale(t);
			return 0;
		}
		if (prompt_wrap(own, a.trigger, a.gender, &prompt) != PROMPT_OK) {
			turn_stale(t);
			sbuf_free(&prompt);
			return 0;
		}
	}
	int may = flow_credits_gate(t, CREDIT_JOB_PICTURE);
	if (may <= 0) {
		sbuf_free(&prompt);
		return may;
	}
	/* the pressed confirmation becomes «Generating…» (say_created): its id
	 * lets the delivery end it */
	int64_t status_mid = t->u->callback_text ? t->u->message_id : 0;
	enum gen_create rc = generation_create(t->ctx, t->user.id, a.id, t->u->chat_id,
	    tp ? tp->key : NULL, tp ? NULL : own, prompt.p, (int)ar, status_mid, &gid);
	sbuf_free(&prompt);
	if (rc == GEN_DB_ERROR)
		return -1;
	if (rc == GEN_CREATED && tp == NULL && conv_set(&t->ctx->db, &t->conv, CONV_IDLE, 0) != 0)
		return -1;
	if (say_created(t, rc, gid, true) != 0)
		return -1;
	return 0;
}

/* --- pictures ------------------------------------------------------------------------- */

static const char *
photo_ref(const struct gen_image *m)
{
	return m->file_id[0] ? m->file_id : m->url;
}

static void
share_link(const struct turn *t, const struct gen_image *m, struct sbuf *out)
{
	const char *bot = t->ctx->cfg.tg_bot_username;

	if (bot[0] != '\0')
		sbuf_addf(out, "https://t.me/%s?start=img_%s", bot, m->code);
	else
		sbuf_addf(out, "/start img_%s", m->code);
}

static cJSON *
full_params(enum lang l, int64_t chat_id, const struct gen_image *m)
{
	cJSON *p = cJSON_CreateObject();
	struct sbuf cap = SBUF_INIT;

	char label[TEMPLATE_LABEL_MAX];
	/* a photo's caption is plain text (no parse mode): nothing to escape */
	sbuf_addf(&cap, text_get(l, T_GEN_CAPTION), style_of(l, m, label), m->aspect);
	cJSON_AddNumberToObject(p, "chat_id", (double)chat_id);
	cJSON_AddStringToObject(p, "caption", cap.p);
	sbuf_free(&cap);
	return p;
}

/* Telegram sends a JPEG as a document only from an upload or a file_id it
 * gave ("sending by URL will currently only work for GIF, PDF and ZIP"):
 * the first time, the bytes are uploaded after commit (flow_generate_full). */
static void
send_full(struct turn *t, const struct gen_image *m)
{
	if (m->doc_file_id[0] == '\0') {
		t->after_full = m->id;
		return;
	}
	cJSON *p = full_params(t->user.lang, t->u->chat_id, m);
	cJSON_AddStringToObject(p, "document", m->doc_file_id);
	reply_add(&t->out, "sendDocument", p);
}

static void
full_failed(struct app_ctx *ctx, int64_t chat_id, enum lang l, int64_t image_id)
{
	struct tg_reply tr;
	cJSON *kb = kb_new();

	kb_button_t(kb, l, T_BTN_FULL_QUALITY, CB_IMG_FULL, image_id, 0);
	kb_button_t(kb, l, T_BTN_BACK, CB_MENU, 0, 0);
	cJSON *p = reply_message_params(chat_id, text_get(l, T_FULL_FAILED), kb);
	tg_call(ctx->tg, "sendMessage", p, &tr);
	tg_reply_free(&tr);
	cJSON_Delete(p);
}

void
flow_generate_full(struct app_ctx *ctx, int64_t image_id, int64_t user_id, int64_t chat_id,
    enum lang l)
{
	struct gen_image m;
	struct http_out r;
	struct tg_reply tr;
	char name[64];

	if (image_get(&ctx->db, image_id, user_id, &m) != 1)
		return;
	http_out_init(&r, "GET", m.url);
	r.max_bytes = 20u << 20;
	r.timeout_ms = 30000;
	if (http_out_one(&r) != 0 || r.status != 200 || r.resp.len == 0) {
		log_warn("full quality of image %" PRId64 ": download answered %ld (%s)", image_id,
		    r.status, r.error);
		full_failed(ctx, chat_id, l, image_id);
		http_out_free(&r);
		return;
	}
	bool png = strstr(m.url, ".png") != NULL;
	snprintf(name, sizeof(name), "aisha-%" PRId64 ".%s", image_id, png ? "png" : "jpg");
	cJSON *p = full_params(l, chat_id, &m);
	if (tg_upload(ctx->tg, "sendDocument", p, "document", name, png ? "image/png" : "image/jpeg",
	    r.resp.p, r.resp.len, &tr) == TG_OK) {
		const cJSON *doc = cJSON_GetObjectItemCaseSensitive(tr.result, "document");
		const cJSON *fid = cJSON_GetObjectItemCaseSensitive(doc, "file_id");
		if (cJSON_IsString(fid) && strlen(fid->valuestring) < sizeof(m.doc_file_id) &&
		    image_set_doc_file_id(&ctx->db, image_id, fid->valuestring) != 0)
			log_warn("full quality of image %" PRId64 ": file_id not kept", image_id);
	} else if (tr.res != TG_BLOCKED) {
		full_failed(ctx, chat_id, l, image_id);
	}
	tg_reply_free(&tr);
	cJSON_Delete(p);
	http_out_free(&r);
}

static void
send_share(struct turn *t, const struct gen_image *m)
{
	struct sbuf link = SBUF_INIT, s = SBUF_INIT, q = SBUF_INIT;
	cJSON *kb = kb_new();

	share_link(t, m, &link);
	sbuf_addf(&s, turn_text(t, T_SHARE_TEXT), link.p);
	sbuf_addf(&q, "img_%s", m->code);
	kb_inline_query_button(kb, turn_text(t, T_BTN_SHARE_INLINE), q.p);
	turn_send(t, s.p, kb);
	sbuf_free(&link);
	sbuf_free(&s);
	sbuf_free(&q);
}

/* The gallery's page: a photo with ◀ n/N ▶ and the picture's actions. */
static int
show_gallery(struct turn *t, int64_t page, bool edit_media)
{
	struct gen_image m;
	struct sbuf cap = SBUF_INIT;
	enum lang l = t->user.lang;
	int total;

	int found = image_page(&t->ctx->db, t->user.id, (int)page, &m, &total);
	if (found < 0)
		return -1;
	if (found == 0 && total > 0) {
		page = 0;
		found = image_page(&t->ctx->db, t->user.id, 0, &m, &total);
		if (found < 0)
			return -1;
	}
	if (found == 0) {
		cJSON *kb = kb_new();
		kb_button_t(kb, l, T_BTN_GENERATE, CB_GENERATE, 0, 0);
		kb_button_t(kb, l, T_BTN_BACK, CB_MENU, 0, 0);
		turn_send(t, turn_text(t, T_GALLERY_EMPTY), kb);
		return 0;
	}
	cJSON *kb = kb_new();
	char label[32];
	kb_button(kb, "◀", CB_GAL_PAGE, (page + total - 1) % total, 0);
	snprintf(label, sizeof(label), "%d/%d", (int)page + 1, total);
	kb_button(kb, label, CB_GAL_PAGE, page, 0);
	kb_button(kb, "▶", CB_GAL_PAGE, (page + 1) % total, 0);
	kb_row(kb);
	kb_button_t(kb, l, T_BTN_FULL_QUALITY, CB_IMG_FULL, m.id, 0);
	kb_button_t(kb, l, T_BTN_SHARE, CB_IMG_SHARE, m.id, 0);
	kb_row(kb);
	kb_button_t(kb, l, T_BTN_REGENERATE, CB_IMG_REGEN, m.id, 0);
	kb_button_t(kb, l, T_BTN_DELETE, CB_IMG_DELETE, m.id, 0);
	kb_row(kb);
	kb_button_t(kb, l, T_BTN_MENU, CB_MENU, 0, 0);
	char style[TEMPLATE_LABEL_MAX];
	sbuf_addf(&cap, text_get(l, T_GALLERY_CAPTION), (int)page + 1, total,
	    m.avatar_name[0] ? m.avatar_name : "—", style_of(l, &m, style), m.created);
	if (edit_media && t->u->kind == TG_KIND_CALLBACK && t->u->callback_photo)
		reply_add(&t->out, "editMessageMedia", reply_edit_photo_params(t->u->chat_id,
		    t->u->message_id, photo_ref(&m), cap.p, kb));
	else
		reply_add(&t->out, "sendPhoto", reply_photo_params(t->u->chat_id, photo_ref(&m),
		    cap.p, kb));
	sbuf_free(&cap);
	return 0;
}

static int
on_image(struct turn *t, const struct cb *cb)
{
	struct gen_image m;
	int64_t gid = 0;

	int found = image_get(&t->ctx->db, cb->n[0], t->user.id, &m);
	if (found < 0)
		return -1;
	if (found == 0) {
		turn_toast(t, turn_text(t, T_IMG_GONE));
		return 0;
	}
	switch (cb->action) {
	case CB_IMG_REGEN: {
		int may = flow_credits_gate(t, CREDIT_JOB_PICTURE);
		if (may <= 0)
			return may;
		enum gen_create rc = generation_repeat(t->ctx, t->user.id, m.id, t->u->chat_id, &gid);
		if (rc == GEN_DB_ERROR)
			return -1;
		return say_created(t, rc, gid, false);
	}
	case CB_IMG_FULL:
		turn_toast(t, NULL);
		send_full(t, &m);
		return 0;
	case CB_IMG_SHARE:
		turn_toast(t, NULL);
		send_share(t, &m);
		return 0;
	case CB_IMG_DELETE: {
		cJSON *kb = kb_new();
		kb_button_t(kb, t->user.lang, T_BTN_DELETE_YES, CB_IMG_DELETE_OK, m.id, 0);
		kb_button_t(kb, t->user.lang, T_BTN_BACK, CB_GAL_PAGE, m.page, 0);
		turn_toast(t, NULL);
		turn_send(t, turn_text(t, T_IMG_DELETE_CONFIRM), kb);
		return 0;
	}
	case CB_IMG_DELETE_OK: {
		int done = image_delete(&t->ctx->db, m.id, t->user.id);
		if (done < 0)
			return -1;
		turn_toast(t, turn_text(t, T_IMG_DELETED));
		turn_show(t, turn_text(t, T_IMG_DELETED),
		    kb_then_menu(t->user.lang, T_BTN_GALLERY, CB_GALLERY, 0));
		log_info("image %" PRId64 " deleted by its owner", m.id);
		return 0;
	}
	default:
		turn_stale(t);
		return 0;
	}
}

int
flow_generate_button(struct turn *t, const struct cb *cb)
{
	switch (cb->action) {
	case CB_GENERATE:
		turn_toast(t, NULL);
		return flow_generate_start(t, 0);
	case CB_GEN_AVATAR:
		turn_toast(t, NULL);
		if (leave_prompt(t) != 0)
			return -1;
		return show_templates(t, cb->n[0], cb->n[1]) < 0 ? -1 : 0;
	case CB_GEN_PICK:
		turn_toast(t, NULL);
		return pick_avatar(t);
	case CB_GEN_TPL:
		turn_toast(t, NULL);
		return on_template(t, cb);
	case CB_GEN_AR:
		turn_toast(t, NULL);
		return on_aspect(t, cb);
	case CB_GEN_GO:
		return on_go(t, cb);
	case CB_GALLERY:
		turn_toast(t, NULL);
		return show_gallery(t, 0, false);
	case CB_GAL_PAGE:
		turn_toast(t, NULL);
		return show_gallery(t, cb->n[0], true);
	default:
		return on_image(t, cb);
	}
}

/* --- sharing ---------------------------------------------------------------------------- */

static bool
code_ok(const char *c)
{
	size_t n = strlen(c);

	if (n < 16 || n > 64)
		return false;
	for (; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == '_' || *c == '-'))
			return false;
	return true;
}

int
flow_generate_shared(struct turn *t, const char *arg)
{
	struct gen_image m;
	struct sbuf cap = SBUF_INIT;

	if (strncmp(arg, "img_", 4) != 0)
		return 0;
	if (!code_ok(arg + 4)) {
		turn_send(t, turn_text(t, T_IMG_GONE), NULL);
		return 1;
	}
	int found = image_by_code(&t->ctx->db, arg + 4, &m);
	if (found < 0)
		return -1;
	if (found == 0) {
		turn_send(t, turn_text(t, T_IMG_GONE), NULL);
		return 1;
	}
	/* a stranger sees the template, never the owner's own words; the owner
	 * opening their own link gets their picture with its buttons */
	char label[TEMPLATE_LABEL_MAX];
	bool own = m.user_id == t->user.id;
	template_label(t->user.lang, m.template_key, own ? m.user_prompt : NULL, label,
	    sizeof(label));
	sbuf_addf(&cap, turn_text(t, own ? T_SHARED_OWN : T_SHARED_IMAGE), label);
	reply_add(&t->out, "sendPhoto", reply_photo_params(t->u->chat_id, photo_ref(&m), cap.p,
	    own ? kb_image(t->user.lang, m.id) : NULL));
	sbuf_free(&cap);
	return 1;
}

int
flow_generate_inline(struct turn *t)
{
	const char *q = t->u->inline_query ? t->u->inline_query : "";
	struct gen_image m;
	cJSON *p = cJSON_CreateObject(), *results = cJSON_AddArrayToObject(p, "results");

	cJSON_AddStringToObject(p, "inline_query_id", t->u->inline_id);
	cJSON_AddNumberToObject(p, "cache_time", 0);
	cJSON_AddTrueToObject(p, "is_personal");
	if (strncmp(q, "img_", 4) == 0 && code_ok(q + 4)) {
		int found = image_by_code(&t->ctx->db, q + 4, &m);
		if (found < 0) {
			cJSON_Delete(p);
			return -1;
		}
		if (found == 1)
			cJSON_AddItemToArray(results, reply_inline_photo(m.code, m.file_id, m.url));
	}
	reply_add(&t->out, "answerInlineQuery", p);
	return 0;
}

void
flow_generate_after(struct app_ctx *ctx, int64_t gen_id)
{
	(void)fal_job_start(ctx, &job_generation, gen_id);
}
