/*
 * photo_checks — see photo_checks.h.
 */
#include "photo_checks.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faces.h"
#include "flow_create.h"
#include "log.h"
#include "outbox.h"
#include "photo_quality.h"
#include "photos.h"
#include "tg_files.h"

#define CHECK_BATCH 1     /* photos claimed at once: a stopped checker leaves none */
#define CHECK_TRIES 5     /* fetches before a photo is called unreadable */
#define CHECK_POLL_MS 100 /* a running checker looks for photos this often */

static struct db_stmt st_lock = DB_STMT("photo_checker_lock",
    "SELECT pg_try_advisory_lock(" PHOTO_CHECKER_LOCK ")");
static struct db_stmt st_unlock = DB_STMT("photo_checker_unlock",
    "SELECT pg_advisory_unlock(" PHOTO_CHECKER_LOCK ")");
/* Photos still to check, of avatars still being created (a draft too: Back
 * from the photos keeps them), each claimed for a minute (a checker killed
 * mid-photo leaves it to the next). */
static struct db_stmt st_claim = DB_STMT("photo_checks_claim",
    "UPDATE avatar_photos p SET check_claimed_until = now() + interval '60 seconds',"
    " check_tries = p.check_tries + 1"
    " FROM (SELECT p.id FROM avatar_photos p JOIN avatars a ON a.id = p.avatar_id"
    "  WHERE p.verdict IS NULL AND a.status IN ('draft', 'photos', 'ready')"
    "   AND (p.check_claimed_until IS NULL OR p.check_claimed_until < now())"
    "  ORDER BY p.id LIMIT $1 FOR UPDATE OF p SKIP LOCKED) c"
    " WHERE p.id = c.id RETURNING p.id, p.avatar_id, p.file_id, p.check_tries,"
    "  (SELECT a.training_type = 'portrait' FROM avatars a WHERE a.id = p.avatar_id),"
    "  p.source = 'document'");
static struct db_stmt st_owner = DB_STMT("photo_checks_owner",
    "SELECT a.user_id, u.lang FROM avatars a JOIN users u ON u.id = a.user_id"
    " WHERE a.id = $1 FOR UPDATE OF a");
static struct db_stmt st_passed = DB_STMT("photo_checks_passed",
    "SELECT id, phash FROM avatar_photos WHERE avatar_id = $1 AND verdict = 'ok'"
    " AND phash IS NOT NULL AND id <> $2 ORDER BY id");
static struct db_stmt st_judge = DB_STMT("photo_checks_judge",
    "UPDATE avatar_photos SET verdict = $2, phash = $3::bigint, brightness = $4::real,"
    " sharpness = $5::real, same_as = nullif($6::bigint, 0), check_claimed_until = NULL,"
    " faces = nullif($7::int, -1) WHERE id = $1 AND verdict IS NULL");

static struct db_stmt st_waiting = DB_STMT("photo_checks_waiting",
    "SELECT EXISTS (SELECT 1 FROM avatar_photos p JOIN avatars a ON a.id = p.avatar_id"
    " WHERE p.verdict IS NULL AND a.status IN ('draft', 'photos', 'ready')"
    "  AND (p.check_claimed_until IS NULL OR p.check_claimed_until < now()))");

/* SIGTERM: finish the photo in hand, then stop (a reload's new settings
 * reach the next checker). */
static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

struct claimed {
	int64_t id, avatar_id;
	char file_id[257];
	int tries;
	bool portrait; /* its photos must show one face */
	bool document; /* sent as a file: its size is known only once decoded */
};

/* What the checks found: the verdict and, when the photo decoded, its
 * measures. */
struct finding {
	enum photo_check_verdict verdict;
	bool measured;
	struct photo_quality q;
	int64_t same_as;
};

static enum photo_check_verdict
verdict_of(enum photo_flaw f)
{
	switch (f) {
	case FLAW_NONE: return PV_OK;
	case FLAW_NOT_PHOTO: return PV_NOT_PHOTO;
	case FLAW_DARK: return PV_DARK;
	case FLAW_BRIGHT: return PV_BRIGHT;
	case FLAW_BLURRY: return PV_BLURRY;
	}
	return PV_NOT_PHOTO;
}

/* Fetches and measures one photo; 0 judged, 1 to be tried again later. */
static int
examine(struct app_ctx *ctx, const struct claimed *c, struct finding *f)
{
	char *buf = NULL, why[256] = "";
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	memset(f, 0, sizeof(*f));
	if (m == NULL)
		return 1;
	enum fal_step sr = tg_file_fetch(ctx, c->file_id, PHOTO_MAX_BYTES, m, why, sizeof(why));
	fclose(m);
	if (sr != FAL_STEP_OK) {
		free(buf);
		log_warn("photo %" PRId64 " (avatar %" PRId64 "): %s", c->id, c->avatar_id, why);
		if (sr == FAL_STEP_RETRY && c->tries < CHECK_TRIES)
			return 1;
		f->verdict = PV_UNREADABLE;
		return 0;
	}
	f->measured = photo_quality_measure((const unsigned char *)buf, len, &f->q) == 0;
	free(buf);
	f->verdict = verdict_of(photo_quality_judge(&f->q));
	unsigned side = f->q.width < f->q.height ? f->q.width : f->q.height;
	if (f->verdict == PV_OK && c->document && side < (unsigned)ctx->cfg.photo_min_side)
		f->verdict = PV_SMALL; /* (a photo's size was checked when it came) */
	if (f->verdict == PV_OK && c->portrait && f->q.faces >= 0 && f->q.faces != 1)
		f->verdict = f->q.faces == 0 ? PV_NO_FACE : PV_FACES;
	return 0;
}

/* A photo that passed is a repeat when a photo of the avatar that passed
 * before looks the same. */
static int
find_repeat(struct db *db, const struct claimed *c, struct finding *f)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, c->avatar_id);
	db_p_i64(&p, c->id);
	PGresult *r = db_run(db, &st_passed, &p);
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r) && f->verdict == PV_OK; i++)
		if (photo_hash_distance((uint64_t)db_i64(r, i, 1), f->q.phash) <=
		    PHOTO_SAME_SHOT_BITS) {
			f->verdict = PV_DUPLICATE;
			f->same_as = db_i64(r, i, 0);
		}
	PQclear(r);
	return 0;
}

static int
store(struct db *db, const struct claimed *c, const struct finding *f)
{
	struct db_params p;
	char brightness[32], sharpness[32];

	snprintf(brightness, sizeof(brightness), "%.2f", f->q.brightness);
	snprintf(sharpness, sizeof(sharpness), "%.2f", f->q.sharpness);
	db_params_init(&p);
	db_p_i64(&p, c->id);
	db_p_str(&p, photo_verdict_name(f->verdict));
	if (f->measured) {
		db_p_i64(&p, (int64_t)f->q.phash);
		db_p_str(&p, brightness);
		db_p_str(&p, sharpness);
	} else {
		db_p_null(&p);
		db_p_null(&p);
		db_p_null(&p);
	}
	db_p_i64(&p, f->same_as);
	db_p_i64(&p, f->measured ? f->q.faces : -1);
	return db_affected(db, &st_judge, &p) < 0 ? -1 : 0;
}

/* The verdict and the progress message's edit, together. */
static int
record(struct app_ctx *ctx, const struct claimed *c, struct finding *f)
{
	struct db *db = &ctx->db;
	struct db_params p;
	enum lang l = LANG_RU;

	if (db_begin(db) != 0)
		return -1;
	db_params_init(&p);
	db_p_i64(&p, c->avatar_id);
	PGresult *r = db_run(db, &st_owner, &p);
	if (r == NULL || PQntuples(r) != 1) {
		PQclear(r);
		db_rollback(db);
		return r == NULL ? -1 : 0; /* the avatar is gone, and its photos */
	}
	int64_t user_id = db_i64(r, 0, 0);
	(void)lang_parse(db_str(r, 0, 1), &l);
	PQclear(r);
	/* (a photo that passed shows nothing new: it was counted when it came) */
	if ((f->verdict == PV_OK && find_repeat(db, c, f) != 0) || store(db, c, f) != 0 ||
	    (f->verdict != PV_OK && flow_create_progress(ctx, user_id, l, c->avatar_id) != 0) ||
	    db_commit(db) != 0) {
		db_rollback(db);
		return -1;
	}
	log_info("photo %" PRId64 " of avatar %" PRId64 ": %s (sharpness %.0f, brightness %.0f)",
	    c->id, c->avatar_id, photo_verdict_name(f->verdict), f->q.sharpness, f->q.brightness);
	outbox_wake(ctx);
	return 0;
}

/* Claims a batch; how many, or -1. */
static int
claim(struct db *db, struct claimed *out, int max)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, max);
	PGresult *r = db_run(db, &st_claim, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		out[i].id = db_i64(r, i, 0);
		out[i].avatar_id = db_i64(r, i, 1);
		snprintf(out[i].file_id, sizeof(out[i].file_id), "%s", db_str(r, i, 2));
		out[i].tries = (int)db_i64(r, i, 3);
		out[i].portrait = db_bool(r, i, 4);
		out[i].document = db_bool(r, i, 5);
	}
	PQclear(r);
	return n;
}

static int
one_batch(struct app_ctx *ctx, int *checked)
{
	struct claimed batch[CHECK_BATCH];
	struct finding f;
	int n = claim(&ctx->db, batch, CHECK_BATCH);

	for (int i = 0; i < n; i++) {
		if (examine(ctx, &batch[i], &f) != 0)
			continue;
		if (record(ctx, &batch[i], &f) != 0)
			return -1;
		++*checked;
	}
	return n;
}

/* Runs a statement that answers yes or no (a lock taken, photos waiting). */
static bool
answer_yes(struct db *db, struct db_stmt *st)
{
	PGresult *r = db_run(db, st, NULL);
	bool yes = r != NULL && PQntuples(r) == 1 && db_bool(r, 0, 0);

	PQclear(r);
	return yes;
}

/* Claims until nothing came for idle_seconds; the last batch's size (-1:
 * a database error). */
static int
check_while_photos_come(struct app_ctx *ctx, int idle_seconds, time_t until, int *checked)
{
	struct timespec poll = {0, CHECK_POLL_MS * 1000000L};
	unsigned gen = ctx->db.gen;
	time_t last = time(NULL);

	for (;;) {
		int n = one_batch(ctx, checked);
		if (n < 0 || ctx->db.gen != gen) /* a new connection holds no lock */
			return n < 0 ? -1 : 0;
		if (stopping || (until != 0 && time(NULL) >= until))
			return 0;
		if (n > 0) {
			last = time(NULL);
			continue;
		}
		if (time(NULL) - last >= idle_seconds)
			return 0;
		nanosleep(&poll, NULL);
	}
}

static bool
waiting(struct db *db)
{
	return answer_yes(db, &st_waiting);
}

int
photo_checks_run(struct app_ctx *ctx, int idle_seconds, int max_seconds)
{
	struct timespec settle = {0, CHECK_POLL_MS * 1000000L};
	struct sigaction sa;
	int checked = 0, rc = 0;
	time_t until = max_seconds > 0 ? time(NULL) + max_seconds : 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	photo_quality_count_faces(faces_open(ctx->cfg.face_model) ? faces_count : NULL);
	while (rc == 0 && !stopping && answer_yes(&ctx->db, &st_lock)) {
		rc = check_while_photos_come(ctx, idle_seconds, until, &checked);
		(void)answer_yes(&ctx->db, &st_unlock);
		/* A photo stored by a turn that saw this checker still running is
		 * not left for cron: one more look once the lock is given up. */
		nanosleep(&settle, NULL);
		if (rc != 0 || (until != 0 && time(NULL) >= until) || !waiting(&ctx->db))
			break;
	}
	if (checked > 0)
		log_info("photo checker: %d photo(s) checked", checked);
	return rc < 0 ? -1 : checked;
}
