/*
 * generations — see generations.h.  Like training.c, the slow part (the
 * FAL submit) runs outside any transaction, between a committed claim and a
 * conditional store.
 */
#include "generations.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "callback.h"
#include "fal_api.h"
#include "fal_job.h"
#include "fal_models.h"
#include "keyboard.h"
#include "log.h"
#include "outbox.h"
#include "reply.h"
#include "sbuf.h"
#include "templates.h"
#include "texts.h"

const struct gen_aspect gen_aspects[GEN_ASPECTS] = {
	{"1:1", "square_hd"},
	{"3:4", "portrait_4_3"},
	{"9:16", "portrait_16_9"},
	{"4:3", "landscape_4_3"},
	{"16:9", "landscape_16_9"},
};


/* --- create --------------------------------------------------------------------- */

#define ACTIVE_COUNT \
    "(SELECT count(*) FROM generations x WHERE x.user_id = $1" \
    " AND x.status IN ('queued', 'submitting', 'running'))"
/* The generator follows what the avatar holds ($lora / $finetune: the
 * endpoints of fal_models.c's rows). */
#define ENDPOINT_OF(a, lora, ft) \
    "CASE WHEN " a ".diffusers_lora_file_url IS NOT NULL THEN " lora " ELSE " ft " END"

static struct db_stmt st_create = DB_STMT("gen_create",
    "INSERT INTO generations (user_id, avatar_id, chat_id, template_key, user_prompt, prompt,"
    " aspect_ratio, num_images, seed, endpoint)"
    " SELECT $1, a.id, $3, $4, $5, $6, $7, $8, $9, " ENDPOINT_OF("a", "$11", "$12")
    " FROM avatars a WHERE a.id = $2 AND a.user_id = $1 AND a.status = 'completed'"
    " AND a.deleted_at IS NULL AND " ACTIVE_COUNT " < $10 RETURNING id");
static struct db_stmt st_repeat = DB_STMT("gen_repeat",
    "INSERT INTO generations (user_id, avatar_id, chat_id, template_key, user_prompt, prompt,"
    " aspect_ratio, num_images, seed, endpoint)"
    " SELECT g.user_id, g.avatar_id, $3, g.template_key, g.user_prompt, g.prompt,"
    "  g.aspect_ratio, g.num_images, $4, " ENDPOINT_OF("a", "$6", "$7")
    " FROM generated_images i JOIN generations g ON g.id = i.generation_id"
    " JOIN avatars a ON a.id = g.avatar_id"
    " WHERE i.id = $2 AND i.user_id = $1 AND i.deleted_at IS NULL AND a.status = 'completed'"
    " AND a.deleted_at IS NULL AND " ACTIVE_COUNT " < $5 RETURNING id");
static struct db_stmt st_active = DB_STMT("gen_active", "SELECT " ACTIVE_COUNT);

static int64_t
new_seed(void)
{
	return (int64_t)randombytes_uniform(2147483647U);
}

static enum gen_create
why_not(struct app_ctx *ctx, int64_t user_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	PGresult *r = db_run(&ctx->db, &st_active, &p);
	if (r == NULL)
		return GEN_DB_ERROR;
	int n = (int)db_i64(r, 0, 0);
	PQclear(r);
	return n >= ctx->cfg.gen_max_active ? GEN_TOO_MANY : GEN_NOT_READY;
}

static enum gen_create
created(struct app_ctx *ctx, PGresult *r, int64_t user_id, int64_t *id)
{
	if (r == NULL)
		return GEN_DB_ERROR;
	int ok = PQntuples(r) == 1;
	if (ok)
		*id = db_i64(r, 0, 0);
	PQclear(r);
	if (ok)
		log_info("generation %" PRId64 " queued", *id);
	return ok ? GEN_CREATED : why_not(ctx, user_id);
}

enum gen_create
generation_create(struct app_ctx *ctx, int64_t user_id, int64_t avatar_id, int64_t chat_id,
    const char *template_key, const char *user_prompt, const char *prompt, int aspect,
    int64_t *id)
{
	struct db_params p;

	if (aspect < 0 || aspect >= GEN_ASPECTS)
		aspect = 0;
	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_i64(&p, avatar_id);
	db_p_i64(&p, chat_id);
	db_p_str(&p, template_key);
	db_p_str(&p, user_prompt);
	db_p_str(&p, prompt);
	db_p_str(&p, gen_aspects[aspect].ratio);
	db_p_i64(&p, ctx->cfg.gen_num_images);
	db_p_i64(&p, new_seed());
	db_p_i64(&p, ctx->cfg.gen_max_active);
	db_p_str(&p, fal_generator_for(FAL_WEIGHTS_LORA)->endpoint);
	db_p_str(&p, fal_generator_for(FAL_WEIGHTS_FINETUNE)->endpoint);
	return created(ctx, db_run(&ctx->db, &st_create, &p), user_id, id);
}

enum gen_create
generation_repeat(struct app_ctx *ctx, int64_t user_id, int64_t image_id, int64_t chat_id,
    int64_t *id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_i64(&p, image_id);
	db_p_i64(&p, chat_id);
	db_p_i64(&p, new_seed());
	db_p_i64(&p, ctx->cfg.gen_max_active);
	db_p_str(&p, fal_generator_for(FAL_WEIGHTS_LORA)->endpoint);
	db_p_str(&p, fal_generator_for(FAL_WEIGHTS_FINETUNE)->endpoint);
	return created(ctx, db_run(&ctx->db, &st_repeat, &p), user_id, id);
}

/* --- messages ------------------------------------------------------------------------ */

struct ginfo {
	int64_t id, user_id, chat_id, seed;
	enum lang lang;
	char template_key[41];
	char aspect[8];
};

static const char *
style_name(const struct ginfo *g)
{
	const struct gen_template *t = template_by_key(g->template_key);

	return t ? t->name[g->lang] : text_get(g->lang, T_GEN_OWN);
}

static int
queue_message(struct db *db, const struct ginfo *g, const char *key_part, const char *method,
    cJSON *params, const int64_t *image_ids, int n_images, int64_t *nid)
{
	char key[120];
	struct outbox_msg m = {0};

	snprintf(key, sizeof(key), "gen:%" PRId64 ":%s", g->id, key_part);
	m.user_id = g->user_id;
	m.chat_id = g->chat_id;
	m.kind = "generation";
	m.dedupe_key = key;
	m.generation_id = g->id;
	m.method = method;
	m.params = params;
	m.image_ids = image_ids;
	m.n_images = n_images;
	return outbox_enqueue(db, &m, nid) < 0 ? -1 : 0;
}

static int
queue_failure(struct db *db, const struct ginfo *g, const char *reason, int64_t *nid)
{
	struct sbuf s = SBUF_INIT;

	text_addf(&s, g->lang, T_GEN_FAILED, reason);
	int rc = queue_message(db, g, "failed", "sendMessage",
	    reply_message_params(g->chat_id, s.p, NULL), NULL, 0, nid);
	sbuf_free(&s);
	return rc;
}

/* --- finish: the one completion path ------------------------------------------------- */

static struct db_stmt st_finish_lock = DB_STMT("gen_finish_lock",
    "SELECT g.id, g.user_id, g.chat_id, g.seed, u.lang, coalesce(g.template_key, ''),"
    " g.aspect_ratio, g.status = 'running', g.avatar_id"
    " FROM generations g JOIN users u ON u.id = g.user_id WHERE g.fal_request_id = $1"
    " FOR UPDATE OF g");
static struct db_stmt st_image = DB_STMT("gen_image",
    "INSERT INTO generated_images (generation_id, user_id, avatar_id, idx, url, width, height,"
    " content_type, seed, nsfw, share_code) VALUES ($1, $2, $3, $4, $5, nullif($6::int, 0),"
    " nullif($7::int, 0), $8, $9, $10, $11) ON CONFLICT (generation_id, idx) DO NOTHING"
    " RETURNING id");
static struct db_stmt st_done = DB_STMT("gen_done",
    "UPDATE generations SET status = $2::generation_status, error = $3,"
    " fal_response_data = coalesce($4::jsonb, fal_response_data), completed_at = now(),"
    " last_status_check = now() WHERE id = $1 AND status = 'running'");

static int
url_ok(const char *s)
{
	return s != NULL && (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) &&
	    strlen(s) < 2000;
}

/* One picture: a photo with its own buttons. */
static int
queue_photo(struct db *db, const struct ginfo *g, int64_t image_id, const char *url,
    int64_t *nid)
{
	struct sbuf cap = SBUF_INIT;
	cJSON *params = cJSON_CreateObject();

	sbuf_addf(&cap, text_get(g->lang, T_GEN_CAPTION), style_name(g), g->aspect);
	cJSON_AddNumberToObject(params, "chat_id", (double)g->chat_id);
	cJSON_AddStringToObject(params, "photo", url);
	cJSON_AddStringToObject(params, "caption", cap.p);
	cJSON_AddItemToObject(params, "reply_markup", kb_image(g->lang, image_id));
	sbuf_free(&cap);
	return queue_message(db, g, "img", "sendPhoto", params, &image_id, 1, nid);
}

/* Several pictures: a media group (which cannot carry buttons), then one
 * message with a row of buttons per picture. */
static int
queue_album(struct db *db, const struct ginfo *g, const int64_t *ids, char urls[][2001], int n,
    int64_t *nids, int *nn)
{
	struct sbuf cap = SBUF_INIT;
	cJSON *params = cJSON_CreateObject(), *media = cJSON_AddArrayToObject(params, "media");
	cJSON *kb = kb_new();
	enum lang l = g->lang;

	sbuf_addf(&cap, text_get(l, T_GEN_CAPTION), style_name(g), g->aspect);
	cJSON_AddNumberToObject(params, "chat_id", (double)g->chat_id);
	for (int i = 0; i < n; i++) {
		cJSON *m = cJSON_CreateObject();
		char label[64];
		cJSON_AddStringToObject(m, "type", "photo");
		cJSON_AddStringToObject(m, "media", urls[i]);
		if (i == 0)
			cJSON_AddStringToObject(m, "caption", cap.p);
		cJSON_AddItemToArray(media, m);
		if (i > 0)
			kb_row(kb);
		snprintf(label, sizeof(label), "%d · %s", i + 1, text_get(l, T_BTN_REGENERATE));
		kb_button(kb, label, CB_IMG_REGEN, ids[i], 0);
		snprintf(label, sizeof(label), "%d · ⬇️", i + 1);
		kb_button(kb, label, CB_IMG_FULL, ids[i], 0);
		snprintf(label, sizeof(label), "%d · 🔗", i + 1);
		kb_button(kb, label, CB_IMG_SHARE, ids[i], 0);
	}
	sbuf_free(&cap);
	if (queue_message(db, g, "album", "sendMediaGroup", params, ids, n, &nids[(*nn)++]) != 0)
		return -1;
	return queue_message(db, g, "album-buttons", "sendMessage",
	    reply_message_params(g->chat_id, text_get(l, T_GEN_STARTED_DONE), kb), NULL, 0,
	    &nids[(*nn)++]);
}

/* Stores the images and queues their delivery; returns the number stored. */
static int
store_images(struct app_ctx *ctx, const struct ginfo *g, int64_t avatar_id,
    const cJSON *output, int64_t *nids, int *nn)
{
	const cJSON *images = cJSON_GetObjectItemCaseSensitive(output, "images");
	const cJSON *nsfw = cJSON_GetObjectItemCaseSensitive(output, "has_nsfw_concepts");
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(output, "seed");
	const cJSON *img;
	int64_t ids[4];
	char urls[4][2001];
	int idx = 0, shown = 0, hidden = 0;

	if (!cJSON_IsArray(images))
		images = NULL;
	cJSON_ArrayForEach(img, images) {
		const cJSON *url = cJSON_GetObjectItemCaseSensitive(img, "url");
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(img, "width");
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(img, "height");
		const cJSON *ct = cJSON_GetObjectItemCaseSensitive(img, "content_type");
		bool bad = cJSON_IsTrue(cJSON_GetArrayItem(nsfw, idx));
		char code[32];
		struct db_params p;
		if (idx > 3)
			break;
		if (!cJSON_IsString(url) || !url_ok(url->valuestring)) {
			idx++;
			continue;
		}
		auth_random_b64(code, sizeof(code), 16);
		db_params_init(&p);
		db_p_i64(&p, g->id);
		db_p_i64(&p, g->user_id);
		db_p_i64(&p, avatar_id);
		db_p_i64(&p, idx);
		db_p_str(&p, url->valuestring);
		db_p_i64(&p, cJSON_IsNumber(w) && w->valuedouble > 0 && w->valuedouble < 100000 ? (int64_t)w->valuedouble : 0);
		db_p_i64(&p, cJSON_IsNumber(h) && h->valuedouble > 0 && h->valuedouble < 100000 ? (int64_t)h->valuedouble : 0);
		db_p_str(&p, cJSON_IsString(ct) ? ct->valuestring : "image/jpeg");
		db_p_i64(&p, cJSON_IsNumber(seed) ? (int64_t)seed->valuedouble : g->seed);
		db_p_bool(&p, bad);
		db_p_str(&p, code);
		PGresult *r = db_run(&ctx->db, &st_image, &p);
		if (r == NULL)
			return -1;
		int64_t image_id = PQntuples(r) ? db_i64(r, 0, 0) : 0;
		PQclear(r);
		if (image_id && bad) {
			hidden++;
		} else if (image_id) {
			ids[shown] = image_id;
			snprintf(urls[shown], sizeof(urls[shown]), "%s", url->valuestring);
			shown++;
		}
		idx++;
	}
	if (shown == 1 && queue_photo(&ctx->db, g, ids[0], urls[0], &nids[(*nn)++]) != 0)
		return -1;
	if (shown > 1 && queue_album(&ctx->db, g, ids, urls, shown, nids, nn) != 0)
		return -1;
	if (hidden > 0 && queue_message(&ctx->db, g, "nsfw", "sendMessage",
	    reply_message_params(g->chat_id, text_get(g->lang, T_GEN_NSFW), NULL), NULL, 0,
	    &nids[(*nn)++]) != 0)
		return -1;
	return shown + hidden;
}

int
generation_finish(struct app_ctx *ctx, const char *request_id, int64_t expect_gen, bool ok,
    const cJSON *output, const char *error)
{
	struct db_params p;
	struct ginfo g;
	int64_t nids[8];
	int nn = 0, rc = -1;
	char *json = output ? cJSON_PrintUnformatted(output) : NULL;

	if (db_begin(&ctx->db) != 0)
		goto out;
	db_params_init(&p);
	db_p_str(&p, request_id);
	PGresult *r = db_run(&ctx->db, &st_finish_lock, &p);
	if (r == NULL)
		goto fail;
	if (PQntuples(r) != 1 || (expect_gen && db_i64(r, 0, 0) != expect_gen) || !db_bool(r, 0, 7)) {
		PQclear(r);
		db_rollback(&ctx->db);
		rc = 0;
		goto out;
	}
	memset(&g, 0, sizeof(g));
	g.id = db_i64(r, 0, 0);
	g.user_id = db_i64(r, 0, 1);
	g.chat_id = db_i64(r, 0, 2);
	g.seed = db_i64(r, 0, 3);
	(void)lang_parse(db_str(r, 0, 4), &g.lang);
	snprintf(g.template_key, sizeof(g.template_key), "%s", db_str(r, 0, 5));
	snprintf(g.aspect, sizeof(g.aspect), "%s", db_str(r, 0, 6));
	int64_t avatar_id = db_i64(r, 0, 8);
	PQclear(r);
	const char *err = error;
	if (ok) {
		int n = store_images(ctx, &g, avatar_id, output, nids, &nn);
		if (n < 0)
			goto fail;
		if (n == 0)
			ok = false, err = "the result holds no images";
	}
	if (!ok && queue_failure(&ctx->db, &g, err ? err : "FAL reported an error", &nids[nn++]) != 0)
		goto fail;
	db_params_init(&p);
	db_p_i64(&p, g.id);
	db_p_str(&p, ok ? "completed" : "error");
	db_p_str(&p, ok ? NULL : err);
	db_p_str(&p, json);
	if (db_exec(&ctx->db, &st_done, &p) != 0 || db_commit(&ctx->db) != 0)
		goto fail;
	log_info("generation %" PRId64 " %s", g.id, ok ? "completed" : "failed");
	for (int i = 0; i < nn; i++)
		if (nids[i])
			outbox_deliver(ctx, nids[i], 1);
	rc = 1;
	goto out;
fail:
	db_rollback(&ctx->db);
out:
	cJSON_free(json);
	return rc;
}

/* --- submit ------------------------------------------------------------------------------- */

static struct db_stmt st_claim = DB_STMT("gen_claim",
    "UPDATE generations g SET status = 'submitting', claimed_at = now(),"
    " attempts = g.attempts + 1 FROM avatars a, users u"
    " WHERE g.id = $1 AND g.status = 'queued' AND a.id = g.avatar_id AND u.id = g.user_id"
    " RETURNING g.endpoint, g.prompt, g.aspect_ratio, g.num_images, g.seed,"
    "  coalesce(a.diffusers_lora_file_url, ''), coalesce(a.finetune_id, ''), u.lang, g.chat_id,"
    "  g.user_id, coalesce(g.template_key, '')");
static struct db_stmt st_running = DB_STMT("gen_running",
    "UPDATE generations SET status = 'running', fal_request_id = $2, status_url = $3,"
    " response_url = $4, cancel_url = $5, params = $6::jsonb WHERE id = $1"
    " AND status = 'submitting'");
static struct db_stmt st_fail = DB_STMT("gen_fail",
    "UPDATE generations SET status = 'error', error = $2, completed_at = now()"
    " WHERE id = $1 AND status = 'submitting'");

static int
aspect_index(const char *ratio)
{
	for (int i = 0; i < GEN_ASPECTS; i++)
		if (strcmp(gen_aspects[i].ratio, ratio) == 0)
			return i;
	return 0;
}

/* The job's FAL input, by the model row its endpoint names (fal_models.c);
 * the tunable parameters come from the configuration. */
static cJSON *
fal_input(const struct config *c, const PGresult *r)
{
	int ar = aspect_index(db_str(r, 0, 2));
	struct fal_gen_args a = {
		.prompt = db_str(r, 0, 1), .num_images = (int)db_i64(r, 0, 3),
		.seed = db_i64(r, 0, 4), .lora_url = db_str(r, 0, 5), .finetune_id = db_str(r, 0, 6),
		.ratio = gen_aspects[ar].ratio, .image_size = gen_aspects[ar].image_size, .cfg = c,
	};

	return fal_generation_input(db_str(r, 0, 0), &a);
}

/* The placeholder result of test mode: real JPEGs that make up serves. */
static cJSON *
placeholder_output(const struct config *c, int n, int64_t seed)
{
	cJSON *out = cJSON_CreateObject(), *imgs = cJSON_AddArrayToObject(out, "images");
	cJSON *nsfw = cJSON_AddArrayToObject(out, "has_nsfw_concepts");
	char url[1200];

	for (int i = 0; i < n; i++) {
		cJSON *img = cJSON_CreateObject();
		snprintf(url, sizeof(url), "%s/media/placeholder/placeholder-%d.jpg",
		    c->public_base_url, (int)((seed + i) % 3) + 1);
		cJSON_AddStringToObject(img, "url", url);
		cJSON_AddNumberToObject(img, "width", 512);
		cJSON_AddNumberToObject(img, "height", 512);
		cJSON_AddStringToObject(img, "content_type", "image/jpeg");
		cJSON_AddItemToArray(imgs, img);
		cJSON_AddItemToArray(nsfw, cJSON_CreateFalse());
	}
	cJSON_AddNumberToObject(out, "seed", (double)seed);
	return out;
}

static int
mark_running(struct app_ctx *ctx, int64_t gid, const struct fal_submitted *s, const cJSON *in)
{
	struct db_params p;
	char *json = cJSON_PrintUnformatted(in);

	db_params_init(&p);
	db_p_i64(&p, gid);
	db_p_str(&p, s->request_id);
	db_p_str(&p, s->status_url[0] ? s->status_url : NULL);
	db_p_str(&p, s->response_url[0] ? s->response_url : NULL);
	db_p_str(&p, s->cancel_url[0] ? s->cancel_url : NULL);
	db_p_str(&p, json);
	int rc = db_exec(&ctx->db, &st_running, &p);
	cJSON_free(json);
	return rc;
}

static int
fail_submit(struct app_ctx *ctx, int64_t gid, const PGresult *r, const char *why)
{
	struct db_params p;
	struct ginfo g;
	int64_t nid = 0;

	memset(&g, 0, sizeof(g));
	g.id = gid;
	g.chat_id = db_i64(r, 0, 8);
	g.user_id = db_i64(r, 0, 9);
	(void)lang_parse(db_str(r, 0, 7), &g.lang);
	log_warn("generation %" PRId64 ": %s", gid, why);
	db_params_init(&p);
	db_p_i64(&p, gid);
	db_p_str(&p, why);
	if (db_begin(&ctx->db) != 0)
		return -1;
	if (db_exec(&ctx->db, &st_fail, &p) != 0 || queue_failure(&ctx->db, &g, why, &nid) != 0 ||
	    db_commit(&ctx->db) != 0) {
		db_rollback(&ctx->db);
		return -1;
	}
	if (nid)
		outbox_deliver(ctx, nid, 1);
	return -1;
}

/* Submits the job with its own webhook token (one per generation). */
static int
post_job(struct app_ctx *ctx, int64_t gid, const char *endpoint, const cJSON *in,
    struct fal_submitted *sub, char *why, size_t whylen)
{
	struct sbuf hook = SBUF_INIT;
	char token[65];

	auth_token(ctx->cfg.fal_webhook_secret, "generation", gid, token);
	sbuf_addf(&hook, "%s/fal/webhook?generation=%" PRId64 "&token=%s",
	    ctx->cfg.public_base_url, gid, token);
	enum fal_submit_result res = fal_job_submit(ctx, endpoint, in, hook.p, sub, NULL, why,
	    whylen);
	sbuf_free(&hook);
	return res == FAL_SUBMITTED ? 0 : -1;
}

int
generation_submit(struct app_ctx *ctx, int64_t gid)
{
	struct db_params p;
	struct fal_submitted sub;
	char why[600] = "";
	int rc = -1;

	db_params_init(&p);
	db_p_i64(&p, gid);
	PGresult *r = db_run(&ctx->db, &st_claim, &p);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0; /* someone else has it */
	}
	cJSON *in = fal_input(&ctx->cfg, r);
	memset(&sub, 0, sizeof(sub));
	if (ctx->cfg.fal_test_mode) {
		char rnd[24];
		auth_random_b64(rnd, sizeof(rnd), 12);
		snprintf(sub.request_id, sizeof(sub.request_id), "test-gen-%s", rnd);
		if (mark_running(ctx, gid, &sub, in) == 0) {
			cJSON *out = placeholder_output(&ctx->cfg, (int)db_i64(r, 0, 3), db_i64(r, 0, 4));
			rc = generation_finish(ctx, sub.request_id, gid, true, out, NULL) < 0 ? -1 : 0;
			cJSON_Delete(out);
		}
	} else if (post_job(ctx, gid, db_str(r, 0, 0), in, &sub, why, sizeof(why)) == 0) {
		rc = mark_running(ctx, gid, &sub, in);
		log_info("generation %" PRId64 " submitted: request %s", gid, sub.request_id);
	} else {
		rc = fail_submit(ctx, gid, r, why);
	}
	cJSON_Delete(in);
	PQclear(r);
	return rc;
}

/* --- polling ------------------------------------------------------------------------------ */

static struct db_stmt st_poll = DB_STMT("gen_poll_claim",
    "UPDATE generations SET last_status_check = now() WHERE id IN (SELECT id FROM generations"
    " WHERE status = 'running' AND status_url IS NOT NULL"
    " AND (last_status_check IS NULL OR last_status_check < now() - interval '10 seconds')"
    " ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, fal_request_id, status_url, coalesce(response_url, '')");

int
generation_poll_all(struct app_ctx *ctx, cJSON *summary)
{
	int done = 0, checked = 0;

	for (;;) {
		PGresult *r = db_run(&ctx->db, &st_poll, NULL);
		if (r == NULL)
			break;
		int n = PQntuples(r);
		if (n == 0) {
			PQclear(r);
			break;
		}
		checked += n;
		struct fal_poll *fp = xcalloc((size_t)n, sizeof(*fp));
		for (int i = 0; i < n; i++)
			fp[i] = (struct fal_poll){.status_url = db_str(r, i, 2),
			    .response_url = db_str(r, i, 3)};
		fal_job_poll(ctx, fp, (size_t)n, false);
		for (int i = 0; i < n; i++) {
			if (fp[i].state == FAL_POLL_ENDED) {
				const cJSON *doc = fp[i].result;
				bool ok = fp[i].result_status >= 200 && fp[i].result_status < 300 &&
				    cJSON_GetObjectItemCaseSensitive(doc, "images") != NULL;
				struct fal_result fr;
				fal_classify_result(fp[i].result_status, doc, &fr);
				if (generation_finish(ctx, db_str(r, i, 1), db_i64(r, i, 0), ok, doc,
				    ok ? NULL : fr.error) == 1)
					done++;
			}
			fal_poll_free(&fp[i]);
		}
		free(fp);
		PQclear(r);
	}
	cJSON_AddNumberToObject(summary, "generations_checked", checked);
	cJSON_AddNumberToObject(summary, "generations_completed", done);
	return 0;
}

/* --- timeouts ----------------------------------------------------------------------------- */

static struct db_stmt st_expired_running = DB_STMT("gen_expired_running",
    "SELECT fal_request_id FROM generations WHERE status = 'running'"
    " AND created_at < now() - make_interval(secs => $1) ORDER BY id LIMIT 500");
/* Never submitted (the worker died before or while submitting): failed
 * here, the person told in the same transaction. */
static struct db_stmt st_expired_unsent = DB_STMT("gen_expired_unsent",
    "UPDATE generations g SET status = 'error', error = $2, completed_at = now()"
    " FROM users u WHERE u.id = g.user_id AND g.id IN (SELECT id FROM generations"
    "  WHERE status IN ('queued', 'submitting')"
    "  AND created_at < now() - make_interval(secs => $1) ORDER BY id LIMIT 500"
    "  FOR UPDATE SKIP LOCKED)"
    " RETURNING g.id, g.user_id, g.chat_id, u.lang");

static int
expire_unsent(struct app_ctx *ctx, const char *why)
{
	struct db_params p;
	int64_t nids[500];
	int nn = 0;

	if (db_begin(&ctx->db) != 0)
		return -1;
	db_params_init(&p);
	db_p_i64(&p, ctx->cfg.gen_timeout);
	db_p_str(&p, why);
	PGresult *r = db_run(&ctx->db, &st_expired_unsent, &p);
	if (r == NULL) {
		db_rollback(&ctx->db);
		return -1;
	}
	for (int i = 0; i < PQntuples(r) && nn < 500; i++) {
		struct ginfo g;
		memset(&g, 0, sizeof(g));
		g.id = db_i64(r, i, 0);
		g.user_id = db_i64(r, i, 1);
		g.chat_id = db_i64(r, i, 2);
		(void)lang_parse(db_str(r, i, 3), &g.lang);
		log_warn("generation %" PRId64 ": never submitted; timed out", g.id);
		if (queue_failure(&ctx->db, &g, why, &nids[nn++]) != 0) {
			PQclear(r);
			db_rollback(&ctx->db);
			return -1;
		}
	}
	PQclear(r);
	if (db_commit(&ctx->db) != 0)
		return -1;
	for (int i = 0; i < nn; i++)
		outbox_deliver(ctx, nids[i], 1);
	return nn;
}

int
generation_expire(struct app_ctx *ctx, cJSON *summary)
{
	struct db_params p;
	char why[80];
	int n = 0;

	snprintf(why, sizeof(why), "timed out after %d s", ctx->cfg.gen_timeout);
	db_params_init(&p);
	db_p_i64(&p, ctx->cfg.gen_timeout);
	PGresult *r = db_run(&ctx->db, &st_expired_running, &p);
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		log_warn("generation request %s: no result in %d s; failed", db_str(r, i, 0),
		    ctx->cfg.gen_timeout);
		if (generation_finish(ctx, db_str(r, i, 0), 0, false, NULL, why) == 1)
			n++;
	}
	PQclear(r);
	int unsent = expire_unsent(ctx, why);
	if (unsent < 0)
		return -1;
	n += unsent;
	cJSON_AddNumberToObject(summary, "generations_timed_out", n);
	return n;
}

/* --- images -------------------------------------------------------------------------------- */

#define IMAGE_COLS \
    "i.id, i.generation_id, coalesce(i.avatar_id, 0), i.url, coalesce(i.tg_file_id, ''),"  \
    " coalesce(i.share_code, ''), coalesce(g.template_key, ''), g.aspect_ratio,"         \
    " to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),"                  \
    " coalesce(i.tg_doc_file_id, '')"

static struct db_stmt st_img_get = DB_STMT("image_get",
    "SELECT " IMAGE_COLS " FROM generated_images i JOIN generations g ON g.id = i.generation_id"
    " WHERE i.id = $1 AND i.user_id = $2 AND i.deleted_at IS NULL AND NOT i.nsfw");
static struct db_stmt st_img_page = DB_STMT("image_page",
    "SELECT " IMAGE_COLS ", count(*) OVER () FROM generated_images i"
    " JOIN generations g ON g.id = i.generation_id"
    " WHERE i.user_id = $1 AND i.deleted_at IS NULL AND NOT i.nsfw"
    " ORDER BY i.id DESC OFFSET $2 LIMIT 1");
static struct db_stmt st_img_count = DB_STMT("image_count",
    "SELECT count(*) FROM generated_images WHERE user_id = $1 AND deleted_at IS NULL"
    " AND NOT nsfw");
static struct db_stmt st_img_code = DB_STMT("image_by_code",
    "SELECT " IMAGE_COLS " FROM generated_images i JOIN generations g ON g.id = i.generation_id"
    " WHERE i.share_code = $1 AND i.deleted_at IS NULL AND NOT i.nsfw");
static struct db_stmt st_img_delete = DB_STMT("image_delete",
    "UPDATE generated_images SET deleted_at = now(), share_code = NULL"
    " WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL RETURNING id");

static struct db_stmt st_img_doc = DB_STMT("image_doc_file_id",
    "UPDATE generated_images SET tg_doc_file_id = $2 WHERE id = $1");

static void
read_image(const PGresult *r, int i, struct gen_image *m)
{
	memset(m, 0, sizeof(*m));
	m->id = db_i64(r, i, 0);
	m->generation_id = db_i64(r, i, 1);
	m->avatar_id = db_i64(r, i, 2);
	snprintf(m->url, sizeof(m->url), "%s", db_str(r, i, 3));
	snprintf(m->file_id, sizeof(m->file_id), "%s", db_str(r, i, 4));
	snprintf(m->code, sizeof(m->code), "%s", db_str(r, i, 5));
	snprintf(m->template_key, sizeof(m->template_key), "%s", db_str(r, i, 6));
	snprintf(m->aspect, sizeof(m->aspect), "%s", db_str(r, i, 7));
	snprintf(m->created, sizeof(m->created), "%s", db_str(r, i, 8));
	snprintf(m->doc_file_id, sizeof(m->doc_file_id), "%s", db_str(r, i, 9));
}

static int
one_image(PGresult *r, struct gen_image *out)
{
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		read_image(r, 0, out);
	PQclear(r);
	return found;
}

int
image_get(struct db *db, int64_t id, int64_t user_id, struct gen_image *out)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_i64(&p, user_id);
	return one_image(db_run(db, &st_img_get, &p), out);
}

int
image_page(struct db *db, int64_t user_id, int page, struct gen_image *out, int *total)
{
	struct db_params p;

	*total = 0;
	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_i64(&p, page < 0 ? 0 : page);
	PGresult *r = db_run(db, &st_img_page, &p);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		read_image(r, 0, out);
		*total = (int)db_i64(r, 0, 10);
		PQclear(r);
		return 1;
	}
	PQclear(r);
	db_params_init(&p);
	db_p_i64(&p, user_id);
	r = db_run(db, &st_img_count, &p);
	if (r == NULL)
		return -1;
	*total = (int)db_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

int
image_by_code(struct db *db, const char *code, struct gen_image *out)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, code);
	return one_image(db_run(db, &st_img_code, &p), out);
}

int
image_set_doc_file_id(struct db *db, int64_t id, const char *file_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, file_id);
	return db_exec(db, &st_img_doc, &p);
}

int
image_delete(struct db *db, int64_t id, int64_t user_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_i64(&p, user_id);
	PGresult *r = db_run(db, &st_img_delete, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r) > 0;
	PQclear(r);
	return n;
}
