#!/usr/bin/python3
"""The planted mutations, as data: each names what it breaks, the tests that
must catch it, and one exact change (old text -> new text) in one file.

    /usr/bin/python3 tests/mutations/define.py     rewrites tests/mutations/*.patch

Run it after a refactor moves a mutated line (make mutants says "does not
apply"), then make mutants.  Add a mutant with each behaviour that matters.
"""
import difflib
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
M = []
def mut(name, what, tests, path, old, new):
    M.append((name, what, tests, path, old, new))

mut("rejected-photos-zipped", "photos the checks rejected still go into the zip for FAL",
    "photos_the_checks_rejected_stay_out_of_the_zip", "shared/photos.c",
    """    "SELECT file_id FROM avatar_photos p WHERE avatar_id = $1 AND " PHOTO_COUNTED_SQL""",
    '    "SELECT file_id FROM avatar_photos p WHERE avatar_id = $1 AND true"')
mut("training-paid-before-checks", "Start takes the money while photos are still being checked",
    "start_waits_until_every_photo_is_checked", "shared/flow_create.c",
    """	if (tl.pending > 0)
		text_addf(&s, t->user.lang, T_START_WAIT_CHECKS, tl.pending);
	else if""",
    """	if (false)
		text_addf(&s, t->user.lang, T_START_WAIT_CHECKS, tl.pending);
	else if""")
mut("same-shot-not-compared", "a second copy of the same shot passes the checks",
    "photos_are_checked_and_each_rejection_is_named_on_the_progress_and_summary",
    "shared/photo_checks.c",
    """		if (photo_hash_distance((uint64_t)db_i64(r, i, 1), f->q.phash) <=
		    PHOTO_SAME_SHOT_BITS) {""",
    """		if (photo_hash_distance((uint64_t)db_i64(r, i, 1), f->q.phash) <
		    0) {""")
mut("portrait-faces-uncounted", "a portrait trains on photos with no face or several people",
    "photos_are_checked_and_each_rejection_is_named_on_the_progress_and_summary",
    "shared/photo_checks.c",
    """	if (f->verdict == PV_OK && c->portrait && f->q.faces >= 0 && f->q.faces != 1)""",
    """	if (f->verdict == PV_OK && false && f->q.faces >= 0 && f->q.faces != 1)""")
mut("turns-of-one-person-interleave", "two updates of one person run at once and both act on the same step",
    "one_persons_updates_at_once_run_one_after_the_other", "shared/conversation.c",
    """    "SELECT pg_advisory_xact_lock(" CONV_LOCK ", hashint8($1))");""",
    """    "SELECT $1::bigint");""")
mut("zip-first-photo-everywhere", "build_zip writes the first photo into every zip entry",
    "training_zip_holds_each_of_the_avatars_photos_once", "shared/training_zip.c",
    "		if (add_part(z, &parts[i], ++*kept) != 0) {",
    "		if (add_part(z, &parts[0], ++*kept) != 0) {")
mut("any-file-is-a-photo", "a file that is not a picture goes into the zip for FAL",
    "files_that_are_not_pictures_never_reach_fal", "shared/training_zip.c",
    "		if (sr != FAL_STEP_OK || parts[i].img.kind == IMAGE_UNKNOWN)",
    "		if (sr != FAL_STEP_OK)")
mut("zip-kept-while-running", "the zip of face photos stays stored while FAL runs the training",
    "a_zip_leaves_the_database_once_fal_runs_the_training_or_it_ends", "shared/training.c",
    """	if (running)
		drop_zip(ctx, j, ZIP_KEPT_RUNNING);""",
    """	(void)running;""")
mut("status-pass-goes-round", "a status pass slower than 15 s asks FAL about the same trainings again and again",
    "a_status_pass_slower_than_the_check_interval_asks_fal_once_per_training", "shared/fal_job.c",
    "	int64_t since = (int64_t)time(NULL); /* each job once in this pass */",
    "	int64_t since = (int64_t)time(NULL) + 3600; /* each job once in this pass */")
mut("answer-cursor-never-rewinds", "a button answer to retry, below the sender's cursor, is never sent again",
    "a_press_answer_refused_with_429_is_answered_after_retry_after_and_then_gone", "shared/outbox.c",
    "	if (f->rewound.tv_sec == 0 || ms_since(&f->rewound) >= OUTBOX_REWIND_MS) {",
    "	if (f->rewound.tv_sec == 0) {")
mut("started-edit-fails-the-start", "a start whose message the outbox refuses is not stored",
    "a_start_whose_message_cannot_be_queued_is_still_stored", "shared/fal_job.c",
    "	if (k->show == NULL || db_savepoint(&ctx->db) != 0)",
    "	if (k->show == NULL)")
mut("training-cap-ignored", "any number of trainings are prepared at once",
    "at_most_two_trainings_are_prepared_at_once", "shared/avatars.c",
    '''    "  AND b.claimed_at > now() - make_interval(secs => $3)) < $2"''',
    '''    "  AND b.claimed_at > now() - make_interval(secs => $3)) < $2 + 100"''')
mut("deleted-avatar-keeps-photos", "a deleted avatar keeps its photos' file ids",
    "deleting_an_avatar_erases_what_it_knew_about_the_person", "shared/avatars.c",
    """    "DELETE FROM avatar_photos WHERE avatar_id = $1");""",
    """    "DELETE FROM avatar_photos WHERE avatar_id = $1 AND false");""")
mut("inline-answer-without-photo", "the inline query is answered with a result that holds no picture",
    "inline_share_answers_with_the_picture_itself,regenerate_full_quality_share_and_gallery", "shared/reply.c",
    """	if (file_id != NULL && file_id[0] != '\\0') {
		cJSON_AddStringToObject(r, "photo_file_id", file_id);
	} else {
		cJSON_AddStringToObject(r, "photo_url", url);
		cJSON_AddStringToObject(r, "thumbnail_url", url);
	}""",
    """	(void)file_id;
	cJSON_AddStringToObject(r, "thumbnail_url", url);""")
mut("generation-webhook-token-unchecked", "a ?generation= webhook is taken without checking its token",
    "generation_webhooks_need_the_generations_own_token", "functions/fal-webhook.c",
    """	int ok = webhook_token_check(&ctx->db, ctx->cfg.fal_webhook_secret, kind, n, token);""",
    """	int ok = webhook_token_check(&ctx->db, ctx->cfg.fal_webhook_secret, kind, n, token);
	if (strcmp(kind, "generation") == 0)
		ok = 1;""")
mut("avatar-webhook-token-unchecked", "an ?avatar= webhook is taken without checking its token",
    "unauthentic_webhooks_are_401_and_change_nothing", "functions/fal-webhook.c",
    """	int ok = webhook_token_check(&ctx->db, ctx->cfg.fal_webhook_secret, kind, n, token);""",
    """	int ok = webhook_token_check(&ctx->db, ctx->cfg.fal_webhook_secret, kind, n, token);
	if (strcmp(kind, "avatar") == 0)
		ok = 1;""")
mut("refusals-unlimited", "refused FAL webhooks are stored and logged however many come",
    "refused_fal_webhooks_past_the_limit_store_and_log_nothing", "functions/fal-webhook.c",
    """	if (n > ctx->cfg.refused_per_minute) {""",
    """	if (n < 0 && n > ctx->cfg.refused_per_minute) {""")
mut("signature-replay-accepted", "a verified signature is taken again and again",
    "unauthentic_webhooks_are_401_and_change_nothing", "shared/fal_job.c",
    """	if (!fresh) {""",
    """	if (false) {""")
mut("submit-url-and-key-logged", "the FAL submit URL (webhook token) and Authorization header are logged",
    "portrait_training_via_webhook,zz_no_secret_or_webhook_token_in_any_log", "shared/fal_queue.c",
    """		http_out_init(&r, "POST", url.p);
		r.auth = auth.p;""",
    """		http_out_init(&r, "POST", url.p);
		log_info("submitting to %s with Authorization: %s", url.p, auth.p);
		r.auth = auth.p;""")
mut("template-pages-do-not-turn", "◀ ▶ on the template list always show the first page",
    "template_pages_turn_both_ways", "shared/flow_generate.c",
    """	if (page < 0 || page >= pages)
		page = 0;""",
    """	page = 0;""")
mut("cancel-ignored-in-prompt", "/cancel while typing a prompt does nothing",
    "cancel_while_typing_a_prompt_returns_to_the_menu", "shared/bot.c",
    """	if (t->conv.state == CONV_GEN_PROMPT) {
		if (conv_set(&t->ctx->db, &t->conv, CONV_IDLE, 0) != 0)
			return -1;
		turn_send(t, turn_text(t, T_CANCELLED_CREATE_NONAME), kb_main_menu(t->user.lang));
		return 0;
	}""",
    """	if (t->conv.state == CONV_GEN_PROMPT)
		return 0;""")
mut("outbox-dedupe-key-per-call", "the outbox dedupe key differs per call (one event can be queued twice)",
    "outbox_dedupe_key_alone", "shared/outbox.c",
    """	db_p_str(&p, m->dedupe_key);""",
    """	char unique[160];
	snprintf(unique, sizeof(unique), "%.100s:%ld", m->dedupe_key, (long)clock());
	db_p_str(&p, unique);""")
mut("outbox-claim-removed", "two senders may both claim the same due notification",
    "outbox_claim_alone", "shared/outbox.c",
    """    " AND (m.claimed_until IS NULL OR m.claimed_until < now())" \\""",
    """    " AND true" \\""")
mut("progress-edit-per-photo", "every photo of an album queues its own progress edit (ten edits, seconds late)",
    "album_of_12_at_once_counts_12_with_one_progress_message", "shared/outbox.c",
    """    " AND (claimed_until IS NULL OR claimed_until < now())");""",
    """    " AND (claimed_until IS NULL OR claimed_until < now()) AND false");""")
mut("training-claim-unconditional", "start-training claims an avatar whatever its status (FAL paid twice)",
    "concurrent_start_calls_submit_once,double_tap_on_start_training", "shared/avatars.c",
    """ AND a.status = 'queued'\"
    " AND a.deleted_at IS NULL AND (a.next_attempt_at IS NULL OR a.next_attempt_at <= now())\"""",
    """ AND a.status IN ('queued', 'submitting', 'training')\"
    " AND a.deleted_at IS NULL\"""")
mut("update-dedupe-removed", "a repeated delivery of a turn that changed something is handled again",
    "duplicate_update_gives_one_user_and_one_reply", "shared/turn_open.c",
    """	out->seen = db_bool(r, 0, 6);""",
    """	out->seen = false;""")
mut("answered-updates-unnoted", "a repeated /help (a turn that writes nothing) is answered twice",
    "a_repeated_help_is_answered_once_and_writes_nothing", "shared/recent_updates.c",
    """	return s != NULL && __atomic_load_n(s, __ATOMIC_ACQUIRE) == update_id;""",
    """	return s != NULL && false;""")
mut("answered-updates-claimed-twice", "a repeated /help (run without the lock) is answered twice",
    "a_repeated_help_is_answered_once_and_writes_nothing", "shared/recent_updates.c",
    """		if (cur == update_id)
			return false;""",
    """		if (cur == update_id && false)
			return false;""")
mut("unlocked-turn-writes", "a command run without the person's lock may write (the session never read-only)",
    "cancel_works_at_every_step,the_database_pipeline_keeps_a_transaction_whole", "shared/db.c",
    """	struct db_stmt *st = db->read_only ? &st_ro_on : &st_ro_off;""",
    """	struct db_stmt *st = db->read_only && false ? &st_ro_on : &st_ro_off;""")
mut("photo-dedupe-removed", "the same photo (file_unique_id) is stored twice",
    "each_photo_rejection_has_its_reason", "shared/photos.c",
    """  SELECT $1, $2, $3, $4, $5, nullif($6::int, 0), nullif($7::int, 0),\"""",
    """  SELECT $1, $2, $3 || random()::text, $4, $5, nullif($6::int, 0), nullif($7::int, 0),\"""")
mut("full-quality-by-url", "full quality sent as a JPEG URL (Telegram refuses it)",
    "regenerate_full_quality_share_and_gallery", "shared/flow_generate.c",
    """	if (m->doc_file_id[0] == '\\0') {
		t->after_full = m->id;
		return;
	}
	cJSON *p = full_params(t->user.lang, t->u->chat_id, m);
	cJSON_AddStringToObject(p, "document", m->doc_file_id);""",
    """	cJSON *p = full_params(t->user.lang, t->u->chat_id, m);
	cJSON_AddStringToObject(p, "document", m->doc_file_id[0] ? m->doc_file_id : m->url);""")
mut("poison-update-loops", "an update that fails for good is answered 5xx (Telegram re-sends it forever)",
    "turn_that_breaks_a_constraint_or_bad_data_is_recorded_the_person_told,update_with_a_refused_field_is_recorded", "shared/bot.c",
    """	if (db_failure_transient(&ctx->db))
		return BOT_RETRY;""",
    """	return BOT_RETRY;""")

mut("payment-credited-per-delivery", "a successful_payment delivered twice is credited twice",
    "a_stars_payment_is_credited_once_when_delivered_twice", "shared/flow_credits.c",
    """	enum credit_result r = fresh == 1 ? credits_apply(&t->ctx->db, &e, &balance) :
	    fresh == 0 ? CREDIT_DUPLICATE : CREDIT_ERROR;""",
    """	char again[300];
	snprintf(again, sizeof(again), "%s:%lld", pm.charge_id, (long long)t->u->update_id);
	e.reference = again;
	enum credit_result r = fresh >= 0 ? credits_apply(&t->ctx->db, &e, &balance) :
	    CREDIT_ERROR;""")
mut("pre-checkout-accepts-any-pack", "the pre-checkout accepts a pack that is not on sale",
    "a_pre_checkout_that_does_not_match_a_pack_is_refused", "shared/flow_credits.c",
    """	    pack_matching(&t->ctx->cfg, credits, stars) != NULL;""",
    """	    (pack_matching(&t->ctx->cfg, credits, stars) != NULL || credits > 0);""")
mut("ledger-may-overdraw", "a charge may take the balance below zero (the CHECK then fails the claim)",
    "two_trainings_at_once_with_credits_for_one_start_exactly_one", "schema/005_credits.sql",
    """    IF credit_apply.balance + p_delta < 0 THEN""",
    """    IF false THEN""")
mut("aborted-block-left-open", "a transaction whose deferred write failed stays open (aborted) on the connection",
    "the_database_pipeline_keeps_a_transaction_whole", "shared/db.c",
    """	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE) {""",
    """	if (false) {""")
mut("deferred-answer-unread", "the answer of a write sent after db_defer() never reaches its caller",
    "the_database_pipeline_keeps_a_transaction_whole", "shared/db.c",
    """		if (r != NULL && s->fn != NULL)
			s->fn(s->ud, r);""",
    """		if (r != NULL && s->fn != NULL && !db->defer)
			s->fn(s->ud, r);""")
mut("draft-dropped-unasked", "Create while a draft exists drops the draft and its photos without a word",
    "a_draft_is_offered_back_not_thrown_away", "shared/flow_create.c",
    """	if (conv_in_create(&t->conv) && t->conv.avatar_id != 0) {
		int offered = offer_draft(t);""",
    """	if (conv_in_create(&t->conv) && t->conv.avatar_id != 0 && false) {
		int offered = offer_draft(t);""")
mut("fal-words-in-the-chat", "FAL's raw error text reaches the person instead of a reason in their language",
    "fal_errors_reach_the_person_as_a_reason_in_their_language", "shared/jobs.c",
    """		text_addf(s, l, T_TRAINING_FAILED, a->name,
		    text_get(l, text_failure(e->r.error, true)));""",
    """		text_addf(s, l, T_TRAINING_FAILED, a->name, e->r.error);""")

mut("route-ignores-path-info", "a CGI called as /cgi-bin/<program>/<route> does not find its route",
    "a_cgi_finds_its_route_in_path_info", "shared/http.c",
    """	if (!route_root(uri, plen) && pi != NULL && route_root(pi, strlen(pi))) {""",
    """	if (false && !route_root(uri, plen) && pi != NULL && route_root(pi, strlen(pi))) {""")
mut("zip-data-outlives-its-row", "a zip's data stays in the database after the avatar lets go of it",
    "zips_are_streamed_from_the_database_and_nothing_else_is_served,"
    "a_zip_leaves_the_database_once_fal_runs_the_training_or_it_ends",
    "schema/013_training_zips_in_database.sql",
    """        PERFORM lo_unlink(old_oid);""",
    """        NULL;""")
mut("metrics-per-process", "each worker counts for itself: a scrape misses what the others did",
    "metrics_count_what_happened", "shared/app.c",
    """	metrics_open(getenv("AISHA_VAR_DIR"));""",
    """	metrics_open(NULL);""")
mut("healthz-blind-to-migrations", "/healthz answers ok while a migration is pending",
    "healthz_fails_while_a_migration_is_pending", "shared/health.c",
    """	h->schema_ok = strcmp(h->schema, h->want) >= 0;""",
    """	h->schema_ok = true;""")

os.makedirs(os.path.join(ROOT, "tests/mutations"), exist_ok=True)
for name, what, tests, path, old, new in M:
    src = open(os.path.join(ROOT, path)).read()
    n = src.count(old)
    if n != 1:
        print("!! %s: %d matches of its old text in %s" % (name, n, path))
        continue
    dst = src.replace(old, new)
    diff = difflib.unified_diff(src.splitlines(True), dst.splitlines(True),
                                "a/" + path, "b/" + path, n=3)
    with open(os.path.join(ROOT, "tests/mutations", name + ".patch"), "w") as f:
        f.write("Mutant: %s\n" % what)
        f.write("Tests: %s\n" % tests)
        f.write("\n")
        f.writelines(diff)
    print("ok", name)
