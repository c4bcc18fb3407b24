/*
 * training — see training.h.  The order inside training_start() matters:
 * claim (committed on its own, so a crash leaves a visible claim for the
 * startup checker), then the slow work outside any transaction (downloads,
 * zip, submit), then one conditional UPDATE that stores the FAL request.
 */
#include "training.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zip.h>

#include "auth.h"
#include "avatars.h"
#include "callback.h"
#include "fal_job.h"
#include "fal_models.h"
#include "keyboard.h"
#include "log.h"
#include "outbox.h"
#include "reply.h"
#include "sbuf.h"
#include "texts.h"
#include "tg_api.h"
#include "utf8.h"

#define MAX_ATTEMPTS 5        /* start-training runs per queueing */
#define POLL_BATCH 500
#define PROGRESS_EDIT_EVERY 30 /* seconds between progress edits */

/* --- messages to the user ----------------------------------------------------- */

/* Queues a notification about avatar a in the current transaction. */
static int
notify(struct db *db, const struct avatar_job *a, const char *kind, const char *key_part,
    const char *html, cJSON *kb, int64_t *nid)
{
	char key[120];
	struct outbox_msg m = {0};

	snprintf(key, sizeof(key), "avatar:%" PRId64 ":%s:%s", a->id, key_part, kind);
	m.user_id = a->user_id;
	m.chat_id = a->chat_id;
	m.kind = kind;
	m.dedupe_key = key;
	m.avatar_id = a->id;
	m.method = "sendMessage";
	m.params = reply_message_params(a->chat_id, html, kb);
	return outbox_enqueue(db, &m, nid) < 0 ? -1 : 0;
}

static cJSON *
kb_retry(enum lang l, int64_t aid)
{
	cJSON *kb = kb_new();

	kb_button_t(kb, l, T_BTN_RETRY, CB_AVATAR_RETRY, aid, 0);
	kb_button_t(kb, l, T_BTN_MY_AVATARS, CB_MY_AVATARS, 0, 0);
	return kb;
}

/* Best effort: the avatar's progress message, edited in place. */
static void
edit_progress(struct app_ctx *ctx, const struct avatar_job *a, const char *html)
{
	struct tg_reply r;

	if (a->chat_id == 0 || a->progress_mid == 0)
		return;
	cJSON *p = reply_message_params(a->chat_id, html, NULL);
	cJSON_AddNumberToObject(p, "message_id", (double)a->progress_mid);
	tg_call(ctx->tg, "editMessageText", p, &r);
	tg_reply_free(&r);
	cJSON_Delete(p);
}

static int
expected_minutes(const struct config *c, bool style)
{
	if (c->fal_test_mode)
		return c->fal_test_duration / 60 + 1;
	return style ? 15 : 10;
}

/* --- photos → zip ------------------------------------------------------------------ */

static struct db_stmt st_photos = DB_STMT("training_photos",
    "SELECT file_id FROM avatar_photos WHERE avatar_id = $1 ORDER BY id");

enum step_result { STEP_OK, STEP_RETRY, STEP_FAIL };

static enum step_result
download_photo(struct app_ctx *ctx, const char *file_id, struct sbuf *out, char *why,
    size_t whylen)
{
	struct tg_reply r;
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "file_id", file_id);
	enum tg_result res = tg_call(ctx->tg, "getFile", p, &r);
	cJSON_Delete(p);
	if (res != TG_OK) {
		snprintf(why, whylen, "Telegram getFile: %s", r.description);
		tg_reply_free(&r);
		return res == TG_RETRY || res == TG_NO_TOKEN ? STEP_RETRY : STEP_FAIL;
	}
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(r.result, "file_path");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(r.result, "file_size");
	enum step_result sr = STEP_OK;
	if (!cJSON_IsString(path) || strstr(path->valuestring, "..") != NULL) {
		snprintf(why, whylen, "Telegram gave no usable file_path");
		sr = STEP_FAIL;
	} else if (cJSON_IsNumber(size) && size->valuedouble > 20.0 * 1024 * 1024) {
		snprintf(why, whylen, "a photo is larger than 20 MB");
		sr = STEP_FAIL;
	} else {
		res = tg_download(ctx->tg, path->valuestring, 20 << 20, out);
		if (res != TG_OK) {
			snprintf(why, whylen, "photo download failed");
			sr = res == TG_BAD ? STEP_FAIL : STEP_RETRY;
		}
	}
	tg_reply_free(&r);
	return sr;
}

/* Downloads every photo and writes them into a zip published under
 * MEDIA_DIR with a 128-bit random name; url and path are filled. */
static enum step_result
build_zip(struct app_ctx *ctx, int64_t aid, struct sbuf *url, struct sbuf *path,
    char *why, size_t whylen)
{
	struct db_params p;
	char name[32], tmp[1100];
	enum step_result sr = STEP_OK;

	db_params_init(&p);
	db_p_i64(&p, aid);
	PGresult *r = db_run(&ctx->db, &st_photos, &p);
	if (r == NULL) {
		snprintf(why, whylen, "database");
		return STEP_RETRY;
	}
	int n = PQntuples(r);
	if (n == 0) {
		PQclear(r);
		snprintf(why, whylen, "the avatar has no photos");
		return STEP_FAIL;
	}
	struct sbuf *bufs = xcalloc((size_t)n, sizeof(*bufs));
	auth_random_b64(name, sizeof(name), 16);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s.zip", ctx->cfg.media_dir, name);
	sbuf_addf(path, "%s/%s.zip", ctx->cfg.media_dir, name);
	sbuf_addf(url, "%s/media/%s.zip", ctx->cfg.public_base_url, name);
	int zerr = 0;
	zip_t *z = zip_open(tmp, ZIP_CREATE | ZIP_EXCL, &zerr);
	if (z == NULL) {
		snprintf(why, whylen, "cannot create the zip in MEDIA_DIR (libzip error %d)", zerr);
		sr = STEP_RETRY;
		goto out;
	}
	for (int i = 0; i < n && sr == STEP_OK; i++) {
		char entry[32];
		sr = download_photo(ctx, db_str(r, i, 0), &bufs[i], why, whylen);
		if (sr != STEP_OK)
			break;
		snprintf(entry, sizeof(entry), "photo_%02d.jpg", i + 1);
		zip_source_t *src = zip_source_buffer(z, bufs[i].p, bufs[i].len, 0);
		if (src == NULL || zip_file_add(z, entry, src, ZIP_FL_ENC_UTF_8) < 0) {
			if (src)
				zip_source_free(src);
			snprintf(why, whylen, "zip: %s", zip_strerror(z));
			sr = STEP_RETRY;
		}
	}
	if (sr != STEP_OK) {
		zip_discard(z);
	} else if (zip_close(z) != 0) {
		snprintf(why, whylen, "zip: %s", zip_strerror(z));
		zip_discard(z);
		sr = STEP_RETRY;
	} else if (rename(tmp, path->p) != 0) {
		snprintf(why, whylen, "cannot publish the zip: %s", strerror(errno));
		sr = STEP_RETRY;
	}
out:
	unlink(tmp);
	for (int i = 0; i < n; i++)
		sbuf_free(&bufs[i]);
	free(bufs);
	PQclear(r);
	if (sr != STEP_OK)
		unlink(path->p);
	else
		log_info("avatar %" PRId64 ": %d photos published as a zip", aid, n);
	return sr;
}

/* --- give back / fail ----------------------------------------------------------------- */

static int
backoff(int attempts)
{
	int s = 30;

	for (int i = 1; i < attempts && s < 1800; i++)
		s *= 2;
	return s;
}

/* Ends the claim in error and tells the user (html, with Retry), in one
 * transaction; the message goes out right after commit. */
static enum train_outcome
fail_with(struct app_ctx *ctx, const struct avatar_job *a, const char *why, const char *kind,
    const char *html)
{
	char key[32];
	int64_t nid = 0;

	snprintf(key, sizeof(key), "c%" PRId64, a->claim_epoch);
	int rc = db_begin(&ctx->db);
	if (rc == 0)
		rc = avatar_fail_start(&ctx->db, a->id, why);
	if (rc == 0)
		rc = notify(&ctx->db, a, kind, key, html, kb_retry(a->lang, a->id), &nid);
	if (rc == 0)
		rc = db_commit(&ctx->db);
	else
		db_rollback(&ctx->db);
	log_error("avatar %" PRId64 ": training not started (%s): %s", a->id, kind, why);
	if (rc == 0 && nid)
		outbox_deliver(ctx, nid, 1);
	return rc == 0 ? TRAIN_FAILED : TRAIN_DB_ERROR;
}

/* Back to the queue for a later try, or — past the attempts — an error the
 * user is told about. */
static enum train_outcome
give_back(struct app_ctx *ctx, const struct avatar_job *a, const char *why)
{
	struct sbuf s = SBUF_INIT;

	if (a->attempts < MAX_ATTEMPTS) {
		int secs = backoff(a->attempts);
		log_warn("avatar %" PRId64 ": back to the queue for %d s: %s", a->id, secs, why);
		return avatar_give_back(&ctx->db, a->id, why, secs) == 0 ? TRAIN_RETRY_LATER :
		    TRAIN_DB_ERROR;
	}
	text_addf(&s, a->lang, T_TRAINING_UNAVAILABLE, a->name);
	enum train_outcome o = fail_with(ctx, a, why, "unavailable", s.p);
	sbuf_free(&s);
	return o;
}

/* FAL refused the job (or it cannot be built): error at once, reason shown. */
static enum train_outcome
fail_start(struct app_ctx *ctx, const struct avatar_job *a, const char *why)
{
	struct sbuf s = SBUF_INIT;

	text_addf(&s, a->lang, T_TRAINING_FAILED, a->name, why);
	enum train_outcome o = fail_with(ctx, a, why, "failed", s.p);
	sbuf_free(&s);
	return o;
}

/* --- start ------------------------------------------------------------------------------ */

static void
webhook_url(const struct config *c, int64_t aid, struct sbuf *out)
{
	char token[65];

	auth_token(c->fal_webhook_secret, "avatar", aid, token);
	sbuf_addf(out, "%s/fal/webhook?avatar=%" PRId64 "&token=%s", c->public_base_url, aid, token);
}

enum train_outcome
training_start(struct app_ctx *ctx, int64_t aid)
{
	struct avatar_job a;
	struct fal_train_params tp;
	struct fal_submitted sub;
	struct sbuf url = SBUF_INIT, path = SBUF_INIT, hook = SBUF_INIT, msg = SBUF_INIT;
	cJSON *answer = NULL;
	char why[700] = "";
	enum train_outcome out;

	int won = avatar_claim_for_training(&ctx->db, aid, &a);
	if (won < 0)
		return TRAIN_DB_ERROR;
	if (won == 0) {
		int exists = avatar_exists(&ctx->db, aid);
		return exists < 0 ? TRAIN_DB_ERROR : exists ? TRAIN_NOT_QUEUED : TRAIN_UNKNOWN;
	}
	log_set_ctx("req=%s avatar=%" PRId64, ctx->req_id, aid);
	log_info("claimed (attempt %d, %s)", a.attempts, ctx->cfg.fal_test_mode ? "test mode" : "live");
	enum step_result sr = build_zip(ctx, aid, &url, &path, why, sizeof(why));
	if (sr != STEP_OK) {
		out = sr == STEP_RETRY ? give_back(ctx, &a, why) : fail_start(ctx, &a, why);
		goto done;
	}
	fal_train_params_init(&tp, &ctx->cfg, a.style, a.user_id, aid);
	tp.zip_url = url.p;
	webhook_url(&ctx->cfg, aid, &hook);
	memset(&sub, 0, sizeof(sub));
	if (ctx->cfg.fal_test_mode) {
		char rnd[32];
		auth_random_b64(rnd, sizeof(rnd), 12);
		snprintf(sub.request_id, sizeof(sub.request_id), "test-%s", rnd);
		answer = cJSON_CreateObject();
		cJSON_AddStringToObject(answer, "request_id", sub.request_id);
		cJSON_AddStringToObject(answer, "mode", "test");
	} else {
		cJSON *in = fal_train_input(&tp);
		enum fal_submit_result fr = fal_job_submit(ctx, tp.endpoint, in, hook.p, &sub, &answer,
		    why, sizeof(why));
		cJSON_Delete(in);
		sr = fr == FAL_SUBMITTED ? STEP_OK : fr == FAL_REFUSED ? STEP_FAIL : STEP_RETRY;
		if (sr != STEP_OK) {
			unlink(path.p);
			out = sr == STEP_RETRY ? give_back(ctx, &a, why) : fail_start(ctx, &a, why);
			goto done;
		}
	}
	char *answer_json = answer ? cJSON_PrintUnformatted(answer) : NULL;
	int stored = avatar_mark_training(&ctx->db, aid, &tp, &sub, hook.p, path.p, answer_json);
	cJSON_free(answer_json);
	if (stored != 0) {
		/* FAL has the job; the webhook or the poller will find it by
		 * request id only if it was stored — say so loudly. */
		log_error("FAL request %s submitted but not stored", sub.request_id);
		out = TRAIN_DB_ERROR;
		goto done;
	}
	log_info("training started: request %s at %s", sub.request_id, tp.endpoint);
	text_addf(&msg, a.lang, T_TRAINING_STARTED, a.name, expected_minutes(&ctx->cfg, a.style));
	edit_progress(ctx, &a, msg.p);
	out = TRAIN_STARTED;
done:
	cJSON_Delete(answer);
	sbuf_free(&url);
	sbuf_free(&path);
	sbuf_free(&hook);
	sbuf_free(&msg);
	return out;
}

static struct db_stmt st_pending = DB_STMT("training_pending",
    "SELECT id FROM avatars WHERE status = 'queued' AND deleted_at IS NULL"
    " AND coalesce(next_attempt_at, now()) <= now()"
    " AND (queued_at < now() - make_interval(secs => $1) OR attempts > 0)"
    " ORDER BY queued_at LIMIT 100");

int
training_start_pending(struct app_ctx *ctx)
{
	struct db_params p;
	int started = 0;

	/* the bot's trigger claims at once; one it lost is picked up here after
	 * the claim timeout (at most two minutes) */
	db_params_init(&p);
	db_p_i64(&p, ctx->cfg.claim_timeout < 120 ? ctx->cfg.claim_timeout : 120);
	PGresult *r = db_run(&ctx->db, &st_pending, &p);
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		if (training_start(ctx, db_i64(r, i, 0)) == TRAIN_STARTED)
			started++;
	PQclear(r);
	log_clear_ctx();
	return started;
}

/* --- finish: the one completion path ------------------------------------------------- */

static void
finish_message(const struct avatar_job *a, const struct fal_result *r, struct sbuf *s, cJSON **kb)
{
	if (r->ok) {
		text_addf(s, a->lang, T_TRAINING_DONE, a->name);
		*kb = kb_new();
		kb_button_t(*kb, a->lang, T_BTN_GENERATE, CB_GEN_AVATAR, a->id, 0);
		kb_button_t(*kb, a->lang, T_BTN_MY_AVATARS, CB_MY_AVATARS, 0, 0);
		return;
	}
	if (r->timed_out)
		text_addf(s, a->lang, T_TRAINING_TIMEOUT, a->name);
	else
		text_addf(s, a->lang, T_TRAINING_FAILED, a->name, r->error);
	*kb = kb_retry(a->lang, a->id);
}

enum finish_outcome
training_finish(struct app_ctx *ctx, const char *request_id, int64_t expect_avatar,
    const struct fal_result *r, const char *logs, const cJSON *full)
{
	struct avatar_job a;
	struct sbuf s = SBUF_INIT;
	cJSON *kb = NULL;
	char *json = full ? cJSON_PrintUnformatted(full) : NULL;
	int64_t nid = 0;
	enum finish_outcome out = FINISH_DB_ERROR;

	if (db_begin(&ctx->db) != 0)
		goto out;
	int found = avatar_lock_by_request(&ctx->db, request_id, expect_avatar, &a);
	if (found < 0)
		goto fail;
	bool unknown = found == 0 || (expect_avatar && a.id != expect_avatar);
	if (unknown || !a.in_training) {
		out = unknown ? FINISH_UNKNOWN : FINISH_DUPLICATE;
		db_rollback(&ctx->db);
		goto out;
	}
	if ((r->ok ? avatar_mark_completed(&ctx->db, a.id, r, logs, json) :
	    avatar_mark_errored(&ctx->db, a.id, r->error, logs, json)) != 0)
		goto fail;
	finish_message(&a, r, &s, &kb);
	if (notify(&ctx->db, &a, r->ok ? "done" : "failed", request_id, s.p, kb, &nid) != 0)
		goto fail;
	if (db_commit(&ctx->db) != 0)
		goto out;
	out = r->ok ? FINISH_COMPLETED : FINISH_FAILED;
	log_info("avatar %" PRId64 ": training %s (request %s)", a.id,
	    r->ok ? "completed" : "failed", request_id);
	if (nid)
		outbox_deliver(ctx, nid, 1);
	goto out;
fail:
	db_rollback(&ctx->db);
out:
	cJSON_free(json);
	sbuf_free(&s);
	return out;
}

/* --- polling ---------------------------------------------------------------------------- */

/* Stores logs/progress and, at most every 30 s, edits the progress message. */
static void
record_progress(struct app_ctx *ctx, const struct avatar_inflight *f, int progress,
    const char *logs)
{
	(void)avatar_record_progress(&ctx->db, f->a.id, logs, progress < 0 ? 0 : progress);
	if (progress <= f->progress || f->since_edit < PROGRESS_EDIT_EVERY)
		return;
	struct sbuf s = SBUF_INIT;
	text_addf(&s, f->a.lang, T_TRAINING_PROGRESS, f->a.name, progress);
	edit_progress(ctx, &f->a, s.p);
	(void)avatar_progress_edited(&ctx->db, f->a.id);
	sbuf_free(&s);
}

/* Test mode: done after FAL_TEST_DURATION, with a recognizable placeholder. */
static void
poll_test(struct app_ctx *ctx, const struct avatar_inflight *f, int *completed)
{
	int dur = ctx->cfg.fal_test_duration;

	if (f->elapsed < dur) {
		record_progress(ctx, f, dur > 0 ? f->elapsed * 100 / dur : 99, "");
		return;
	}
	struct fal_result r;
	memset(&r, 0, sizeof(r));
	r.ok = true;
	if (fal_trainer_model(f->endpoint)->output == FAL_WEIGHTS_FINETUNE)
		snprintf(r.finetune_id, sizeof(r.finetune_id), "test-finetune-%s", f->request_id + 5);
	else
		snprintf(r.lora_url, sizeof(r.lora_url),
		    "https://fal.test/test-mode/%s/pytorch_lora_weights.safetensors", f->request_id);
	cJSON *full = cJSON_CreateObject();
	cJSON_AddStringToObject(full, "mode", "test");
	cJSON_AddStringToObject(full, "request_id", f->request_id);
	if (training_finish(ctx, f->request_id, 0, &r, "test mode: no FAL call was made", full) ==
	    FINISH_COMPLETED)
		(*completed)++;
	cJSON_Delete(full);
}

static int
poll_batch(struct app_ctx *ctx, int64_t only_id, int *completed, int *failed)
{
	struct avatar_inflight *rows = NULL;
	int n = avatar_claim_inflight(&ctx->db, POLL_BATCH, only_id, &rows);
	if (n < 0)
		return -1;
	struct fal_poll *fp = xcalloc((size_t)(n ? n : 1), sizeof(*fp));
	size_t nf = 0;
	for (int i = 0; i < n; i++) {
		if (strncmp(rows[i].request_id, "test-", 5) == 0)
			poll_test(ctx, &rows[i], completed);
		else if (rows[i].status_url[0] != '\0')
			fp[nf++] = (struct fal_poll){.status_url = rows[i].status_url,
			    .response_url = rows[i].response_url, .user = &rows[i]};
	}
	fal_job_poll(ctx, fp, nf, true);
	for (size_t k = 0; k < nf; k++) {
		const struct avatar_inflight *f = fp[k].user;
		struct fal_result fr;
		if (fp[k].state == FAL_POLL_RUNNING) {
			record_progress(ctx, f, fp[k].progress, sbuf_str(&fp[k].logs));
		} else if (fp[k].state == FAL_POLL_ENDED) {
			fal_classify_result(fp[k].result_status, fp[k].result, &fr);
			enum finish_outcome o = training_finish(ctx, f->request_id, 0, &fr,
			    sbuf_str(&fp[k].logs), fp[k].result);
			*completed += o == FINISH_COMPLETED;
			*failed += o == FINISH_FAILED;
		}
		fal_poll_free(&fp[k]);
	}
	free(fp);
	free(rows);
	return n;
}

int
training_poll_one(struct app_ctx *ctx, int64_t avatar_id)
{
	int completed = 0, failed = 0;

	return poll_batch(ctx, avatar_id, &completed, &failed) < 0 ? -1 : 0;
}

int
training_poll_all(struct app_ctx *ctx, cJSON *summary)
{
	int checked = 0, completed = 0, failed = 0, n;

	while ((n = poll_batch(ctx, 0, &completed, &failed)) > 0)
		checked += n;
	cJSON_AddNumberToObject(summary, "checked", checked);
	cJSON_AddNumberToObject(summary, "completed", completed);
	cJSON_AddNumberToObject(summary, "failed", failed);
	if (checked)
		log_info("trainings polled: %d checked, %d completed, %d failed", checked,
		    completed, failed);
	return n < 0 ? -1 : 0;
}

/* --- the startup checker ------------------------------------------------------------------ */

/* Only files we published: inside MEDIA_DIR, a plain name ending in .zip. */
static void
remove_zip(const struct config *c, const char *path)
{
	size_t ml = strlen(c->media_dir);

	if (strncmp(path, c->media_dir, ml) != 0 || path[ml] != '/' ||
	    strchr(path + ml + 1, '/') != NULL || strstr(path, "..") != NULL)
		return;
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("cannot remove a published zip: %s", strerror(errno));
}

/* What a maintenance step works with, and how many it did. */
struct sweep {
	struct app_ctx *ctx;
	int done;
};

static void
clean_zip(void *ud, int64_t id, const char *path)
{
	struct sweep *s = ud;

	remove_zip(&s->ctx->cfg, path);
	s->done += avatar_forget_zip(&s->ctx->db, id) == 0;
}

int
training_clean_zips(struct app_ctx *ctx)
{
	struct sweep s = {ctx, 0};

	return avatar_each_finished_zip(&ctx->db, clean_zip, &s) < 0 ? -1 : s.done;
}

int
training_requeue_crashed(struct app_ctx *ctx)
{
	return avatar_requeue_crashed(&ctx->db, ctx->cfg.claim_timeout);
}

static void
expire_one(void *ud, const char *request_id)
{
	struct sweep *s = ud;
	struct fal_result fr;

	memset(&fr, 0, sizeof(fr));
	fr.timed_out = true;
	snprintf(fr.error, sizeof(fr.error), "training timed out after %d s",
	    s->ctx->cfg.fal_training_timeout);
	s->done += training_finish(s->ctx, request_id, 0, &fr, NULL, NULL) == FINISH_FAILED;
}

int
training_expire(struct app_ctx *ctx)
{
	struct sweep s = {ctx, 0};

	return avatar_each_timed_out(&ctx->db, ctx->cfg.fal_training_timeout, expire_one, &s) < 0 ?
	    -1 : s.done;
}
