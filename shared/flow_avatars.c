#include "flow_avatars.h"

#include <inttypes.h>

#include "avatars.h"
#include "flow_credits.h"
#include "keyboard.h"
#include "log.h"
#include "sbuf.h"

#define LIST_MAX 20

static const enum text_id status_text[AV__COUNT] = {
	[AV_DRAFT] = T_ST_DRAFT, [AV_PHOTOS] = T_ST_PHOTOS, [AV_READY] = T_ST_READY,
	[AV_QUEUED] = T_ST_QUEUED, [AV_SUBMITTING] = T_ST_SUBMITTING,
	[AV_TRAINING] = T_ST_TRAINING, [AV_COMPLETED] = T_ST_COMPLETED,
	[AV_ERROR] = T_ST_ERROR, [AV_CANCELLED] = T_ST_CANCELLED,
};

static void
add_status(const struct turn *t, const struct avatar *a, struct sbuf *s)
{
	if (a->status == AV_TRAINING)
		sbuf_addf(s, turn_text(t, T_ST_TRAINING), a->progress);
	else
		sbuf_add(s, turn_text(t, status_text[a->status]));
}

int
flow_avatars_list(struct turn *t)
{
	struct avatar list[LIST_MAX];
	struct sbuf s = SBUF_INIT, label = SBUF_INIT;
	enum lang l = t->user.lang;
	int n = avatar_list(&t->ctx->db, t->user.id, list, LIST_MAX);
	cJSON *kb = kb_new();

	if (n < 0) {
		cJSON_Delete(kb);
		return -1;
	}
	if (n == 0) {
		kb_button_t(kb, l, T_BTN_CREATE, CB_CREATE, 0, 0);
		kb_row(kb);
		kb_button_t(kb, l, T_BTN_BACK, CB_MENU, 0, 0);
		turn_show(t, turn_text(t, T_AVATARS_EMPTY), kb);
		return 0;
	}
	sbuf_addf(&s, turn_text(t, T_AVATARS_LIST), n);
	for (int i = 0; i < n; i++) {
		sbuf_reset(&label);
		sbuf_addf(&label, "%s%s — ", list[i].is_main ? "⭐ " : "", list[i].name);
		add_status(t, &list[i], &label);
		kb_button(kb, label.p, CB_AVATAR_OPEN, list[i].id, 0);
		kb_row(kb);
	}
	kb_button_t(kb, l, T_BTN_CREATE, CB_CREATE, 0, 0);
	kb_button_t(kb, l, T_BTN_BACK, CB_MENU, 0, 0);
	turn_show(t, s.p, kb);
	sbuf_free(&s);
	sbuf_free(&label);
	return 0;
}

static void
show_details(struct turn *t, const struct avatar *a)
{
	struct sbuf s = SBUF_INIT, st = SBUF_INIT;
	enum lang l = t->user.lang;
	cJSON *kb = kb_new();

	add_status(t, a, &st);
	text_addf(&s, l, T_AVATAR_DETAILS, a->name,
	    turn_text(t, a->type == TRAIN_STYLE ? T_TYPE_STYLE : T_TYPE_PORTRAIT),
	    a->gender < 0 ? "—" : turn_text(t, a->gender ? T_GENDER_FEMALE : T_GENDER_MALE),
	    st.p, a->photos, a->created);
	if (a->is_main)
		sbuf_addf(&s, "\n%s", turn_text(t, T_AVATAR_IS_MAIN));
	if (a->status == AV_ERROR && a->error[0]) {
		sbuf_add(&s, "\n");
		text_addf(&s, l, T_AVATAR_ERROR, text_get(l, text_failure(a->error, true)));
	}
	if (a->status == AV_COMPLETED) {
		kb_button_t(kb, l, T_BTN_GENERATE, CB_GEN_AVATAR, a->id, 0);
		if (!a->is_main)
			kb_button_t(kb, l, T_BTN_SET_MAIN, CB_AVATAR_MAIN, a->id, 0);
		kb_row(kb);
	}
	if (a->status == AV_ERROR) {
		kb_button_t(kb, l, T_BTN_RETRY, CB_AVATAR_RETRY, a->id, 0);
		kb_row(kb);
	}
	if (a->status <= AV_READY) { /* a draft: its step again */
		kb_button_t(kb, l, T_BTN_CONTINUE, CB_CREATE_RESUME, a->id, 0);
		kb_row(kb);
	}
	if (a->status != AV_SUBMITTING && a->status != AV_TRAINING)
		kb_button_t(kb, l, T_BTN_DELETE, CB_AVATAR_DELETE, a->id, 0);
	kb_button_t(kb, l, T_BTN_TO_LIST, CB_MY_AVATARS, 0, 0);
	turn_show(t, s.p, kb);
	sbuf_free(&s);
	sbuf_free(&st);
}

/* Formats text id with the avatar's (escaped) name. */
static void
with_name(const struct turn *t, enum text_id id, const struct avatar *a, struct sbuf *s)
{
	text_addf(s, t->user.lang, id, a->name);
}

static int
on_main(struct turn *t, struct avatar *a)
{
	struct sbuf s = SBUF_INIT;
	int done = avatar_set_main(&t->ctx->db, a->id, t->user.id);

	if (done < 0)
		return -1;
	if (done == 0) {
		turn_toast(t, turn_text(t, T_MAIN_NEEDS_COMPLETED));
		return 0;
	}
	with_name(t, T_MAIN_SET, a, &s);
	turn_toast(t, s.p);
	a->is_main = true;
	show_details(t, a);
	sbuf_free(&s);
	return 0;
}

static int
on_delete_ok(struct turn *t, struct avatar *a)
{
	struct sbuf s = SBUF_INIT;
	int done = avatar_delete(&t->ctx->db, a->id, t->user.id);

	if (done < 0)
		return -1;
	if (done == 0) {
		turn_toast(t, turn_text(t, T_CANT_DELETE_TRAINING));
		return 0;
	}
	if (t->conv.avatar_id == a->id && conv_set(&t->ctx->db, &t->conv, CONV_IDLE, 0) != 0)
		return -1;
	log_info("avatar %" PRId64 " deleted by its owner", a->id);
	with_name(t, T_DELETED, a, &s);
	cJSON *kb = kb_new();
	kb_button_t(kb, t->user.lang, T_BTN_TO_LIST, CB_MY_AVATARS, 0, 0);
	turn_toast(t, NULL);
	turn_show(t, s.p, kb);
	sbuf_free(&s);
	return 0;
}

static int
on_retry(struct turn *t, struct avatar *a)
{
	struct sbuf s = SBUF_INIT;
	int may = a->status == AV_ERROR ? flow_credits_gate(t, CREDIT_JOB_TRAINING) : 1;

	if (may <= 0)
		return may;
	int done = avatar_queue(&t->ctx->db, a->id, true);
	if (done < 0)
		return -1;
	if (done == 0) {
		turn_stale(t);
		return 0;
	}
	if (t->u->callback_text &&
	    avatar_set_progress_message(&t->ctx->db, a->id, t->u->chat_id, t->u->message_id) != 0)
		return -1;
	log_info("avatar %" PRId64 " re-queued by its owner", a->id);
	t->after_trigger = a->id;
	with_name(t, T_RETRY_QUEUED, a, &s);
	cJSON *kb = kb_new();
	kb_button_t(kb, t->user.lang, T_BTN_TO_LIST, CB_MY_AVATARS, 0, 0);
	turn_toast(t, NULL);
	turn_show(t, s.p, kb);
	sbuf_free(&s);
	return 0;
}

int
flow_avatars_button(struct turn *t, const struct cb *cb)
{
	struct avatar a;
	struct sbuf s = SBUF_INIT;

	if (cb->action == CB_MY_AVATARS) {
		turn_toast(t, NULL);
		return flow_avatars_list(t);
	}
	int found = avatar_get(&t->ctx->db, cb->n[0], t->user.id, &a);
	if (found < 0)
		return -1;
	if (found == 0) {
		turn_stale(t);
		return 0;
	}
	switch (cb->action) {
	case CB_AVATAR_OPEN:
		turn_toast(t, NULL);
		show_details(t, &a);
		return 0;
	case CB_AVATAR_MAIN:
		return on_main(t, &a);
	case CB_AVATAR_DELETE: {
		if (a.status == AV_SUBMITTING || a.status == AV_TRAINING) {
			turn_toast(t, turn_text(t, T_CANT_DELETE_TRAINING));
			return 0;
		}
		cJSON *kb = kb_new();
		kb_button_t(kb, t->user.lang, T_BTN_DELETE_YES, CB_AVATAR_DELETE_OK, a.id, 0);
		kb_button_t(kb, t->user.lang, T_BTN_BACK, CB_AVATAR_OPEN, a.id, 0);
		with_name(t, T_DELETE_CONFIRM, &a, &s);
		turn_toast(t, NULL);
		turn_show(t, s.p, kb);
		sbuf_free(&s);
		return 0;
	}
	case CB_AVATAR_DELETE_OK:
		return on_delete_ok(t, &a);
	case CB_AVATAR_RETRY:
		return on_retry(t, &a);
	default:
		turn_stale(t);
		return 0;
	}
}
