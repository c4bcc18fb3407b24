"""What an anonymous client on the internet can do to the public routes —
through lighttpd, with a real database: knock on the FAL webhook without a
token, replay what it saw, send files that are not photos.  Each test is an
attack with what it must not achieve."""
import contextlib
import json
import os
import subprocess
import time

from harness import check, eq, test, wait_for


@contextlib.contextmanager
def settings(s, **extra):
    s.restart_lighttpd(**extra)
    try:
        yield
    finally:
        s.restart_lighttpd()


def events_from(s, marker):
    return int(s.one("SELECT count(*) FROM fal_events WHERE payload->>'prefix' LIKE '%%%s%%'"
                     % marker))


@test
def refused_fal_webhooks_past_the_limit_store_and_log_nothing(s):
    marker = "knock-%s" % s.seq()
    s.sql("DELETE FROM refused_calls")
    log0 = len(s.function_log())
    with settings(s, REFUSED_PER_MINUTE="5"):
        codes = [s.http("POST", "/fal/webhook?avatar=1&token=" + "x" * 43,
                        {"request_id": marker, "status": "OK", "payload": {"n": i}}).status
                 for i in range(40)]
        kept = events_from(s, marker)
        # FAL's own call, from the same address, is not refused for the knocking
        path = "/fal/webhook?avatar=9191&token=%s" % s.issue_fal_token("avatar", 9191)
        r = s.fal_post(path, {"request_id": "not-ours-%s" % marker, "status": "OK",
                              "payload": {}})
    eq(r.status, 200, "an authentic call still answered: %s" % r.body)
    refused = codes.count(401)
    check(5 <= refused <= 10, "refused and kept only up to the limit (a minute may turn): %r"
          % codes)
    eq(codes.count(429), 40 - refused, "the rest: 429")
    eq(kept, refused, "only the calls under the limit are audited")
    tail = s.function_log()[log0:]
    lines = [ln for ln in tail.splitlines() if "FAL webhook" in ln or "unauthentic" in ln]
    check(len(lines) <= refused + 2, "the log does not grow past the limit: %d lines" % len(lines))
    r = s.http("POST", "/fal/webhook", {"request_id": "x", "status": "OK"})
    check(r.status in (401, 429), "still refused: %d" % r.status)


@test
def a_leaked_token_after_its_job_ended_changes_nothing_and_stores_a_summary(s):
    path = "/fal/webhook?avatar=9292&token=%s" % s.issue_fal_token("avatar", 9292)
    big = {"request_id": "leak-9292", "status": "OK", "payload": {"junk": "y" * 200000}}
    for i in range(3):
        r = s.fal_post(path, big)
        eq(r.status, 200, "answered: %s" % r.body)
        eq(json.loads(r.body)["outcome"], "unknown_request", "nothing to change")
    sizes = [int(x[0]) for x in s.sql("SELECT octet_length(payload::text) FROM fal_events"
                                       " WHERE request_id = 'leak-9292'")]
    eq(len(sizes), 3, "audited")
    check(max(sizes) < 1200, "a call that changed nothing keeps only a summary: %r" % sizes)


# --- photos: what the files really are, how much memory, how long on disk ------

_uid = [680000000]
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00 This program cannot be run"


def queued_avatar(s, photos=10):
    """A user with an avatar waiting in the queue (as the bot leaves it); the
    photos' file ids."""
    _uid[0] += 1
    uid = s.one("INSERT INTO users (telegram_id, first_name, lang) VALUES (%d, 'Алия', 'en')"
                " RETURNING id" % _uid[0])
    aid = s.one("INSERT INTO avatars (user_id, name, gender, training_type) VALUES"
                " (%s, 'Hostile %d', 'female', 'portrait') RETURNING id" % (uid, _uid[0]))
    fids = ["AgHostile_%s_%d" % (aid, i) for i in range(photos)]
    for i, fid in enumerate(fids):
        # checked, as Start leaves them (a running photo checker would
        # otherwise take them while the avatar is still a draft)
        s.sql("INSERT INTO avatar_photos (avatar_id, file_id, file_unique_id, source, width,"
              " height, mime_type, verdict) VALUES (%s, '%s', 'UH_%s_%d', 'document', 1280,"
              " 960, 'image/jpeg', 'ok')" % (aid, fid, aid, i))
    s.sql("UPDATE avatars SET status = 'queued', queued_at = now() - interval '5 minutes',"
          " next_attempt_at = now() WHERE id = %s" % aid)
    return aid, fids


def zip_of(s, aid):
    return s.one("SELECT coalesce(zip_path, '') FROM avatars WHERE id = %s" % aid)


def start(s, aid):
    return s.http("POST", "/api/avatars/%s/train" % aid, headers=s.admin_headers(), raw=b"")


@test
def files_that_are_not_pictures_never_reach_fal(s):
    import base64
    import io
    import urllib.parse
    import zipfile
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    aid, fids = queued_avatar(s, photos=11)
    s.ctl("/_ctl/file", {"file_id": fids[3], "raw_b64": base64.b64encode(EXE).decode()})
    seq = s.seq()
    eq(start(s, aid).status, 202, "ten pictures are enough")
    sub = [c for c in s.calls(seq, "submit", service="fal")]
    eq(len(sub), 1, "submitted")
    r = s.http("GET", urllib.parse.urlsplit(sub[0]["params"]["input"]["images_data_url"]).path)
    eq(r.status, 200, "the zip")
    z = zipfile.ZipFile(io.BytesIO(r.body))
    eq(len(z.namelist()), 10, "the program left out")
    check(all(z.read(n)[:3] == b"\xff\xd8\xff" for n in z.namelist()), "only JPEGs")
    # ten photos of which two are not pictures: the training cannot start
    aid2, fids2 = queued_avatar(s, photos=10)
    for fid in fids2[:2]:
        s.ctl("/_ctl/file", {"file_id": fid, "raw_b64": base64.b64encode(
            b"<html>not a photo</html>").decode()})
    seq = s.seq()
    r = start(s, aid2)
    eq(s.one("SELECT status FROM avatars WHERE id = %s" % aid2), "error", "refused: %s" % r.body)
    check("8 of the 10" in s.one("SELECT training_error FROM avatars WHERE id = %s" % aid2),
          "the reason kept")
    eq(s.calls(seq, "submit", service="fal"), [], "FAL never asked (nor paid)")


@test
def twenty_photos_of_20_mb_train_in_little_memory_and_leave_nothing_behind(s):
    import stat
    aid, fids = queued_avatar(s, photos=20)
    for fid in fids:
        s.ctl("/_ctl/file", {"file_id": fid, "pad_to": 20 * 1024 * 1024 - 4096})
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    p = subprocess.Popen([os.path.join(s.bindir, "start-training"), "--avatar", str(aid)],
                         env=s.cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    eq(p.returncode, 0, "started: %s" % p.stderr.read()[-400:])
    peak_mb = usage.ru_maxrss / 1024
    print("      start-training peak RSS for 20 x 20 MB photos: %.1f MB" % peak_mb)
    if "asan" not in s.bindir:      # the sanitizers' shadow memory is not ours
        check(peak_mb < 64, "peak RSS %.1f MB, want < 64" % peak_mb)
    check(zip_of(s, aid), "the zip kept in the database")
    media = os.path.join(s.var, "media")
    eq(stat.S_IMODE(os.stat(media).st_mode), 0o700, "MEDIA_DIR (its work files) is the"
       " service user's alone")
    left = [f for f in os.listdir(media) if f.startswith(".")]
    eq(left, [], "no work file left behind")
    got = wait_for(lambda: [c for c in s.calls(0, "fetch_images", service="fal")
                            if c["params"].get("url", "").endswith(zip_of(s, aid) or "-")], 60,
                   what="FAL's runner downloading the zip")
    n = got[0]["params"]["bytes"]
    check(got[0]["status"] == 200 and n > 20 * 20 * 1024 * 1024 - 20 * 8192,
          "all twenty in, streamed whole: %d bytes" % n)


def zip_data(s, oid):
    return s.one("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = %s" % oid) == "1"


@test
def a_zip_leaves_the_database_once_fal_runs_the_training_or_it_ends(s):
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    aid, _ = queued_avatar(s)
    eq(start(s, aid).status, 202, "started")
    rid = s.one("SELECT fal_request_id FROM avatars WHERE id = %s" % aid)
    s.ctl("/_ctl/fal/hold", {"request_id": rid, "seconds": 120})
    name = zip_of(s, aid)
    oid = s.one("SELECT zip_oid FROM avatars WHERE id = %s" % aid)
    check(len(name) == 26 and oid, "kept as a large object under its name: %r %r" % (name, oid))
    check(not [f for f in os.listdir(os.path.join(s.var, "media")) if name[:22] in f],
          "no file of it on this server: %r" % os.listdir(os.path.join(s.var, "media")))
    url = "/media/" + name
    eq(s.cli("check-status", "--all").returncode, 0, "polled: FAL is running it")
    check(zip_data(s, oid), "kept while FAL's runner may still be downloading it")
    eq(s.http("GET", url).status, 200, "still served")
    s.sql("UPDATE avatars SET in_progress_since = now() - interval '61 seconds',"
          " last_status_check = NULL WHERE id = %s" % aid)
    eq(s.cli("check-status", "--all").returncode, 0, "polled a minute later")
    check(not zip_data(s, oid), "removed a minute after FAL started running it")
    eq(zip_of(s, aid) or "", "", "forgotten")
    eq(s.http("GET", url).status, 404, "no longer served")
    # a training that ends: its zip goes at once
    aid2, _ = queued_avatar(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    eq(start(s, aid2).status, 202, "started")
    oid2 = s.one("SELECT zip_oid FROM avatars WHERE id = %s" % aid2)
    rid2 = s.one("SELECT fal_request_id FROM avatars WHERE id = %s" % aid2)
    wait_for(lambda: [c for c in s.calls(0, "fetch_images", service="fal")
                      if c["params"]["request_id"] == rid2], 10, what="FAL's download")
    time.sleep(3.5)
    s.cli("check-status", "--all")
    eq(s.one("SELECT status FROM avatars WHERE id = %s" % aid2), "completed", "completed")
    check(not zip_data(s, oid2), "removed when the training ended")
    # the sweeps: work files a crash left on disk, zip data nobody refers to
    media = os.path.join(s.var, "media")
    part = os.path.join(media, ".part-crashed")
    young = os.path.join(media, ".tmp-young.zip")
    for f in (part, young):
        with open(f, "wb") as fh:
            fh.write(b"PK")
    old = time.time() - 3600
    os.utime(part, (old, old))
    lost = s.one("SELECT lo_from_bytea(0, '\\x504b0506'::bytea)")
    eq(s.cli("check-status", "--startup").returncode, 0, "the startup checker")
    check(not os.path.exists(part), "an old work file swept")
    check(os.path.exists(young), "a work file that may still be in use is kept")
    check(not zip_data(s, lost), "zip data no avatar refers to removed")
    check(os.path.isdir(os.path.join(media, "placeholder")), "other files untouched")
    os.unlink(young)
    check(s.http("GET", "/media/.part-crashed").status in (403, 404), "work files are never served")


@test
def at_most_two_trainings_are_prepared_at_once(s):
    busy = [queued_avatar(s)[0] for _ in range(2)]
    s.sql("UPDATE avatars SET status = 'submitting', claimed_at = now(), attempts = 1"
          " WHERE id IN (%s)" % ",".join(busy))
    aid, _ = queued_avatar(s)
    r = start(s, aid)
    eq(r.status, 409, "a third waits: %s" % r.body)
    eq(s.one("SELECT status FROM avatars WHERE id = %s" % aid), "queued", "still queued")
    s.sql("UPDATE avatars SET status = 'error', claimed_at = NULL WHERE id = %s" % busy[0])
    eq(start(s, aid).status, 202, "started once one is done")
    s.sql("UPDATE avatars SET status = 'error', claimed_at = NULL WHERE id = %s" % busy[1])


@test
def deleting_an_avatar_erases_what_it_knew_about_the_person(s):
    import uuid
    from tg_user import User
    _uid[0] += 1
    u = User(s, _uid[0], "en", "Kate")
    u.text("/start")
    uid = u.db_user_id()
    rid = "erase-%s" % uuid.uuid4().hex
    aid = s.one("INSERT INTO avatars (user_id, name, gender, trigger_phrase) VALUES"
                " (%s, 'Kate at the sea', 'female', 'TOK') RETURNING id" % uid)
    for i in range(3):
        s.sql("INSERT INTO avatar_photos (avatar_id, file_id, file_unique_id, source) VALUES"
              " (%s, 'AgErase_%s_%d', 'UE_%s_%d', 'photo')" % (aid, aid, i, aid, i))
    s.sql("UPDATE avatars SET status = 'completed', fal_request_id = '%s',"
          " diffusers_lora_file_url = 'https://v3.fal.media/files/k/lora.safetensors',"
          " config_file_url = 'https://v3.fal.media/files/k/config.json',"
          " status_url = 'https://queue.fal.run/x/status', training_logs = 'step 1000/1000',"
          " fal_response_data = '{\"request_id\": \"%s\"}', training_started_at = now(),"
          " training_completed_at = now() WHERE id = %s" % (rid, rid, aid))
    s.sql("INSERT INTO fal_events (request_id, authentic, outcome, payload, avatar_id) VALUES"
          " ('%s', true, 'completed', '{\"payload\": {\"lora\": \"x\"}}', %s)" % (rid, aid))
    gid = s.one("INSERT INTO generations (user_id, avatar_id, chat_id, status, prompt, params,"
                " fal_request_id, completed_at) VALUES (%s, %s, %d, 'completed', 'TOK at sea',"
                " '{\"prompt\": \"TOK\", \"loras\": [{\"path\":"
                " \"https://v3.fal.media/files/k/lora.safetensors\"}]}', 'g-%s', now())"
                " RETURNING id" % (uid, aid, u.uid, uuid.uuid4().hex))
    s.issue_fal_token("avatar", aid)
    u.press_raw("v1:avdelok:%s" % aid)
    eq(s.one("SELECT deleted_at IS NOT NULL FROM avatars WHERE id = %s" % aid), "t", "deleted")
    row = s.sql("SELECT name, fal_request_id, diffusers_lora_file_url, config_file_url,"
                " status_url, training_logs, fal_response_data, trigger_phrase"
                " FROM avatars WHERE id = %s" % aid)[0]
    eq(row, ["deleted"] + [""] * 7, "its name, weights and FAL fields erased")
    eq(s.one("SELECT count(*) FROM avatar_photos WHERE avatar_id = %s" % aid), "0",
       "its photos' file ids erased")
    eq(s.one("SELECT count(*) FROM fal_events WHERE avatar_id = %s OR request_id = '%s'"
             % (aid, rid)), "0", "its webhook audit erased")
    eq(s.one("SELECT count(*) FROM fal_webhook_tokens WHERE kind = 'avatar' AND job_id = %s"
             % aid), "0", "its webhook token erased")
    check("lora" not in (s.one("SELECT params::text FROM generations WHERE id = %s" % gid) or ""),
          "the weights' URL gone from its pictures' FAL input")
    eq(s.one("SELECT status || ' ' || (training_completed_at IS NOT NULL) FROM avatars"
             " WHERE id = %s" % aid), "completed true", "what accounting needs is kept")


@test
def every_audit_table_is_pruned_by_the_startup_checker(s):
    u_id = s.one("INSERT INTO users (telegram_id, first_name) VALUES (689999999, 'Old')"
                 " ON CONFLICT (telegram_id) DO UPDATE SET first_name = 'Old' RETURNING id")
    s.sql("DELETE FROM refused_calls; DELETE FROM fal_signatures_seen;"
          " DELETE FROM fal_webhook_tokens WHERE job_id IN (880001, 880002)")
    s.sql("INSERT INTO refused_calls (route, source, minute, n) VALUES"
          " ('fal-webhook', 'old', now() - interval '2 hours', 5),"
          " ('fal-webhook', 'new', date_trunc('minute', now()), 5)")
    s.sql("INSERT INTO fal_signatures_seen (request_id, ts, seen_at) VALUES"
          " ('old', 1, now() - interval '11 minutes'), ('new', 2, now())")
    s.sql("INSERT INTO fal_webhook_tokens (kind, job_id, token_hash, issued_at) VALUES"
          " ('avatar', 880001, repeat('a', 64), now() - interval '8 days'),"
          " ('avatar', 880002, repeat('b', 64), now())")
    s.sql("INSERT INTO notifications (user_id, chat_id, kind, dedupe_key, status, sent_at,"
          " created_at) VALUES (%s, 1, 'test', 'prune-old', 'sent', now(),"
          " now() - interval '91 days'), (%s, 1, 'test', 'prune-new', 'sent', now(), now())"
          % (u_id, u_id))
    eq(s.cli("check-status", "--startup").returncode, 0, "the startup checker")
    # (a late webhook of an earlier test may add rows of its own: only ours count)
    eq(s.sql("SELECT source FROM refused_calls WHERE source IN ('old', 'new')"), [["new"]],
       "refused-call counts: an hour")
    eq(s.sql("SELECT request_id FROM fal_signatures_seen WHERE request_id IN ('old', 'new')"),
       [["new"]], "seen signatures: twice the window")
    eq(s.sql("SELECT job_id FROM fal_webhook_tokens WHERE job_id IN (880001, 880002)"),
       [["880002"]], "webhook tokens: a week")
    eq(s.sql("SELECT dedupe_key FROM notifications WHERE dedupe_key LIKE 'prune-%'"),
       [["prune-new"]], "sent notifications: 90 days")
