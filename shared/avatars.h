/*
 * avatars — reading and changing avatar rows.
 *
 * Every state change is a conditional UPDATE on the current status
 * (… WHERE id = $1 AND status = 'ready'), so two callers racing for the same
 * transition cannot both win: the loser sees 0 rows and does nothing.
 * Reads for a user always check ownership and skip deleted avatars.
 */
#ifndef AISHA_AVATARS_H
#define AISHA_AVATARS_H

/* An avatar's name: 1..40 characters (the schema's CHECK), in UTF-8 up to
 * four bytes each. */
#define AVATAR_NAME_MAX 40

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "fal_api.h"
#include "job.h"
#include "texts.h"

enum avatar_status {
	AV_DRAFT, AV_PHOTOS, AV_READY, AV_QUEUED, AV_SUBMITTING, AV_TRAINING,
	AV_COMPLETED, AV_ERROR, AV_CANCELLED, AV__COUNT
};

enum training_type { TRAIN_PORTRAIT, TRAIN_STYLE };

struct avatar {
	int64_t id;
	int64_t user_id;
	char name[4 * AVATAR_NAME_MAX + 1];
	enum avatar_status status;
	enum training_type type;
	int gender; /* -1 unknown, 0 male, 1 female */
	int photos;
	int progress;
	bool is_main;
	int64_t progress_chat_id, progress_message_id;
	char created[17]; /* "2026-11-28 09:30" (UTC) */
	char error[301];
	char trigger[101]; /* the trigger word the LoRA / finetune learned */
};

const char *avatar_status_name(enum avatar_status s);
const char *training_type_name(enum training_type t);

/* The operator's view of one avatar: 1 found (*out set), 0 none, -1 error. */
int avatar_status_json(struct db *db, int64_t id, cJSON **out);

/* The user's avatar (not deleted): 1 found, 0 not theirs or none, -1 error. */
int avatar_get(struct db *db, int64_t id, int64_t user_id, struct avatar *a);
/* Up to max of the user's avatars, newest first; returns the count or -1. */
int avatar_list(struct db *db, int64_t user_id, struct avatar *out, int max);

/* The avatar to generate with: id when not 0, else the user's main one,
 * else the newest trained one.  Only trained avatars: 1 found, 0 none, -1. */
int avatar_for_generation(struct db *db, int64_t user_id, int64_t id, struct avatar *a);
/* Up to max trained avatars of the user; the count or -1. */
int avatar_list_trained(struct db *db, int64_t user_id, struct avatar *out, int max);

/* A new draft; its id in *id.  1, 0 when the user has an avatar of that
 * name already (letter case aside: two would differ only by ⭐), -1. */
int avatar_create(struct db *db, int64_t user_id, const char *name, int64_t *id);
int avatar_set_gender(struct db *db, int64_t id, int gender);
/* Chooses the type and opens the photo step; the progress message is the
 * one the bot will edit as photos arrive. */
int avatar_open_photos(struct db *db, int64_t id, enum training_type t,
    int64_t chat_id, int64_t message_id);

/* The message the bot edits as the avatar moves on (training progress). */
int avatar_set_progress_message(struct db *db, int64_t id, int64_t chat_id,
    int64_t message_id);
/* Conditional transition; 1 done, 0 the avatar was not in from, -1 error. */
int avatar_transition(struct db *db, int64_t id, enum avatar_status from,
    enum avatar_status to);
/* ready -> queued, or error -> queued (retry): 1 queued, 0 not, -1 error. */
int avatar_queue(struct db *db, int64_t id, bool retry);
/* Removes an avatar still being created (draft/photos/ready) with its
 * photos: 1 removed, 0 not in such a state, -1 error. */
int avatar_discard(struct db *db, int64_t id);
/* Deletes an avatar that is not training, in the caller's transaction: its
 * photos' file ids, weights, FAL fields, name, webhook audit and the LoRA in
 * its pictures' FAL inputs are erased; the row stays for accounting
 * (schema/008_avatar_erasure.sql).  1 done, 0 training now, -1 error. */
int avatar_delete(struct db *db, int64_t id, int64_t user_id);
/* Makes a completed avatar the user's main one: 1 done, 0 not completed. */
int avatar_set_main(struct db *db, int64_t id, int64_t user_id);

/* In the caller's transaction: locks the avatar; 1 when it takes photos
 * (status photos), 0 not, -1 error. */
int avatar_lock_photos_open(struct db *db, int64_t id);

/* A photo counts towards its avatar's photos unless its check rejected it
 * (schema/014: a NULL verdict is a check still to come). */
#define PHOTO_COUNTED_SQL "(p.verdict IS NULL OR p.verdict = 'ok')"

/* The photo step's progress message and what it is to show (its photos
 * and their checks: photos_tally). */
struct avatar_photo_progress {
	int64_t chat_id, message_id;
	bool open;          /* still taking photos */
	bool style;         /* a style avatar (its photos are a style, not a face) */
};
/* In the caller's transaction, after avatar_lock_photos_open (so photos
 * of one avatar read it one at a time): 1 read, 0 no such avatar, -1 error. */
int avatar_photo_progress(struct db *db, int64_t id, struct avatar_photo_progress *out);

/* --- the training lifecycle's transitions (training.c drives them) ---------- */

/* An avatar being trained: the job (job.h: owner, claim, FAL request) and
 * what training needs besides. */
struct avatar_job {
	struct job j;
	char name[4 * AVATAR_NAME_MAX + 1];
	bool style;
	int64_t progress_mid; /* the message that shows its progress */
	int progress;         /* the last stored (the poller's rows) */
	int since_edit;       /* seconds since that message was edited (the poller's rows) */
	char zip_path[1100];  /* the photos' zip's name once kept ("" when none) */
};

/* queued → submitting, for exactly one caller and only while fewer than
 * max_parallel claims younger than claim_timeout seconds are submitting:
 * 1 won (*out set), 0 not (not queued, not due, someone else won, or too
 * many at once: it stays queued), -1 error.  In the caller's transaction. */
int avatar_claim_for_training(struct db *db, int64_t id, int max_parallel,
    int claim_timeout, struct avatar_job *out);
/* 1 when the avatar exists (not deleted), 0 not, -1 error. */
int avatar_exists(struct db *db, int64_t id);
/* The training's settings, on the claimed avatar.  0 or -1. */
int avatar_store_settings(struct db *db, int64_t id, const struct fal_train_params *tp);
/* submitting → training with the FAL request (answer: FAL's submit answer
 * as JSON, may be NULL).  0 or -1. */
int avatar_mark_training(struct db *db, int64_t id, const struct fal_submitted *sub,
    const char *webhook, const char *zip_path, const char *answer);
/* submitting → queued again in secs, keeping why. */
int avatar_give_back(struct db *db, int64_t id, const char *why, int secs);
/* submitting → error, keeping why. */
int avatar_fail_start(struct db *db, int64_t id, const char *why);
/* The operator's list: newest first, below id before (0: from the top),
 * status / type NULL for any; appended to items.  The count or -1. */
int avatar_operator_list(struct db *db, const char *status, const char *type, int64_t before,
    int limit, cJSON *items);
/* A queued avatar (waiting for its start) failed with why, for the
 * operator's cancel: 1 with *a, 0 when it is not queued, -1. */
int avatar_cancel_queued(struct db *db, int64_t id, const char *why, struct avatar_job *a);

/*
 * In the caller's transaction: locks the avatar whose FAL request this is.
 * When none has it and expect_avatar (whose webhook token vouched for the
 * request) is still waiting for its submit to be stored — its submitter
 * died between FAL's answer and storing it — that avatar adopts the
 * request.  1 found (*a set), 0 none, -1 error.
 */
int avatar_lock_by_request(struct db *db, const char *request_id, int64_t expect_avatar,
    struct avatar_job *a);
/* training → completed with what FAL made / → error with why; logs and
 * json (FAL's whole document) kept when not NULL.  0 or -1. */
int avatar_mark_completed(struct db *db, int64_t id, const struct fal_result *r,
    const char *logs, const char *json);
int avatar_mark_errored(struct db *db, int64_t id, const char *error, const char *logs,
    const char *json);

/* Claims up to limit trainings not checked for 15 s nor since `since` (a
 * pass's start, seconds since the epoch: a pass checks each once) — only_id:
 * that one, whenever it was checked — for this checker; *rows (caller
 * frees) is an array of struct avatar_job.  The count, or -1. */
int avatar_claim_inflight(struct db *db, int limit, int64_t only_id, int64_t since,
    void **rows);
/* The training's logs (when not empty) and progress (never backwards), and
 * when FAL was first seen running it; edited: its progress message is
 * edited now.  edited: the rows updated (1 while it trains), waited for;
 * else 0 (sent: after db_defer() with the next round trip), -1 error. */
int avatar_record_progress(struct db *db, int64_t id, const char *logs, int progress,
    bool running, bool edited);
/* Forgets the training's zip — once FAL has run it for running_for seconds,
 * or at once when running_for < 0 — and copies its path to out: 1 when
 * there was one to forget, 0 not, -1 error. */
int avatar_take_zip(struct db *db, int64_t id, int running_for, char *out, size_t outlen);

/* fn for each queued avatar due (queued more than older_than seconds ago,
 * or given back); the number for which fn returned > 0, or -1. */
int avatar_each_due(struct db *db, int older_than, int (*fn)(void *ud, int64_t id), void *ud);

/* For the startup checker.  Claims older than older_than seconds back to
 * the queue; fn for the request id of each training started more than
 * older_than seconds ago; fn for each published zip of a finished or
 * deleted avatar, and forgetting one once its file is gone.  The counts
 * return the number of rows, or -1. */
int avatar_requeue_crashed(struct db *db, int older_than);
int avatar_each_timed_out(struct db *db, int older_than,
    void (*fn)(void *ud, const char *request_id), void *ud);
int avatar_each_finished_zip(struct db *db, void (*fn)(void *ud, int64_t id, const char *path),
    void *ud);
int avatar_forget_zip(struct db *db, int64_t id);
/* The zip kept as large object oid attached to avatar id as name, while
 * it is being submitted: 1, 0 when it is not, -1.  The data an earlier
 * zip_path held goes with it (schema/013). */
int avatar_attach_zip(struct db *db, int64_t id, const char *oid, const char *name);
/* The large object of the zip FAL may fetch as name: 1 (oid filled), 0, -1. */
int avatar_zip_of(struct db *db, const char *name, char *oid, size_t len);
/* 1 when an avatar refers to the zip at path, 0 none, -1 error. */
int avatar_zip_known(struct db *db, const char *path);

#endif
