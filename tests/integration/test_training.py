"""The training lifecycle against the stand-in FAL queue: start-training,
the FAL webhook, status polling, the startup checker, notifications and test
mode — asserting on database rows and on what the stand-ins received."""
import hashlib
import io
import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zipfile

from harness import ROOT as ROOT_DIR, check, eq, test, wait_for
from tg_user import User

_uid = [620000000]


def make_queued(s, photos=10, style=False, lang="ru", status="queued"):
    """A user with an avatar waiting in the queue (as the bot leaves it)."""
    _uid[0] += 1
    tid = _uid[0]
    uid = s.one("INSERT INTO users (telegram_id, first_name, lang) VALUES (%d, 'Алия', '%s') "
                "RETURNING id" % (tid, lang))
    aid = s.one("INSERT INTO avatars (user_id, name, gender, training_type) VALUES "
                "(%s, 'Ава %d', 'female', '%s') RETURNING id"
                % (uid, tid, "style" if style else "portrait"))
    for i in range(photos):
        s.sql("INSERT INTO avatar_photos (avatar_id, file_id, file_unique_id, source, width,"
              " height) VALUES (%s, 'AgFile_%s_%d', 'U_%s_%d', 'photo', 1280, 960)"
              % (aid, aid, i, aid, i))
    s.sql("UPDATE avatars SET status = '%s', queued_at = now() - interval '5 minutes',"
          " next_attempt_at = now() WHERE id = %s" % (status, aid))
    return tid, aid


def train(s, aid):
    return s.http("POST", "/api/avatars/%s/train" % aid, headers=s.admin_headers(), raw=b"")


def av(s, aid, col):
    return s.one("SELECT %s FROM avatars WHERE id = %s" % (col, aid))


def submits(s, since, endpoint=None):
    return [c for c in s.calls(since, "submit", service="fal")
            if endpoint is None or c["params"]["endpoint"] == endpoint]


def chat_texts(s, tid, since):
    return [c["params"].get("text", "") for c in s.calls(since, "sendMessage")
            if str(c["params"].get("chat_id")) == str(tid)]


def fal_request(s, rid):
    for r in s.ctl("/_ctl/fal/requests")["requests"]:
        if r["request_id"] == rid:
            return r
    return None


def check_zip(s, url, aid, n):
    path = urllib.parse.urlsplit(url).path
    r = s.http("GET", path)
    eq(r.status, 200, "the published zip downloads")
    z = zipfile.ZipFile(io.BytesIO(r.body))
    names = z.namelist()
    eq(len(names), n, "files in the zip")
    files = [row[0] for row in s.sql("SELECT file_id FROM avatar_photos WHERE avatar_id = %s"
                                     " AND (verdict IS NULL OR verdict = 'ok') ORDER BY id" % aid)]
    want = sorted(hashlib.sha256(telegram_file(s, fid)).hexdigest() for fid in files)
    got = sorted(hashlib.sha256(z.read(name)).hexdigest() for name in names)
    for name in names:
        check(z.read(name)[:2] == b"\xff\xd8", "%s is a JPEG" % name)
    eq(got, want, "the zip holds exactly the avatar's photos (each once)")
    check(len(set(got)) == n, "no photo twice")
    check(len(path.split("/")[-1]) >= 26, "the zip name is long and random: %s" % path)


def telegram_file(s, file_id):
    """The bytes Telegram serves for file_id (getFile, then the download)."""
    base = "http://127.0.0.1:%d" % s.tg_port
    rq = urllib.request.Request("%s/bot%s/getFile" % (base, s.token),
                                data=json.dumps({"file_id": file_id}).encode(),
                                headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(rq, timeout=10) as r:
        path = json.loads(r.read())["result"]["file_path"]
    with urllib.request.urlopen("%s/file/bot%s/%s" % (base, s.token, path), timeout=10) as r:
        return r.read()


@test
def portrait_training_via_webhook(s):
    tid, aid = make_queued(s)
    seq = s.seq()
    r = train(s, aid)
    eq(r.status, 202, "start: %s" % r.body)
    sub = submits(s, seq)
    eq(len(sub), 1, "one FAL submission")
    eq(sub[0]["params"]["endpoint"], "fal-ai/flux-lora-portrait-trainer", "endpoint")
    inp = sub[0]["params"]["input"]
    for k in ("images_data_url", "trigger_phrase", "learning_rate", "steps",
              "multiresolution_training", "subject_crop"):
        check(k in inp, "portrait input has %s" % k)
    check("data_url" not in inp and "is_style" not in inp, "only documented fields")
    q = urllib.parse.parse_qs(sub[0]["params"]["query"])
    hook = q["fal_webhook"][0]
    check("/fal/webhook?avatar=%s&token=" % aid in hook, "webhook url: %s" % hook)
    s.ctl("/_ctl/fal/hold", {"request_id": sub[0]["params"]["request_id"], "seconds": 6})
    check(av(s, aid, "zip_path"), "zip_path stored")
    check_zip(s, inp["images_data_url"], aid, 10)
    eq(av(s, aid, "status"), "training", "status after submit")
    rid = av(s, aid, "fal_request_id")
    eq(rid, sub[0]["params"]["request_id"], "request id stored")
    for col in ("status_url", "response_url", "cancel_url", "webhook_url", "fal_endpoint",
                "training_started_at", "fal_response_data", "trigger_phrase", "steps",
                "learning_rate"):
        check(av(s, aid, col), "%s stored" % col)
    wait_for(lambda: av(s, aid, "status") == "completed", 15, what="completion by webhook")
    eq(av(s, aid, "zip_path"), None, "the zip forgotten once the training ended")
    check(av(s, aid, "diffusers_lora_file_url").startswith("https://"), "LoRA url")
    check(av(s, aid, "config_file_url"), "config url")
    check(av(s, aid, "training_completed_at"), "completed at")
    eq(s.one("SELECT count(*) FROM fal_events WHERE request_id = '%s' AND authentic" % rid), "1",
       "the webhook is audited")
    done = wait_for(lambda: [t for t in chat_texts(s, tid, seq) if "готов" in t], 5,
                    what="the completion message")
    eq(len(done), 1, "one completion message")
    msg = [c for c in s.calls(seq, "sendMessage") if "готов" in c["params"].get("text", "")
           and str(c["params"].get("chat_id")) == str(tid)][0]     # (this person's)
    datas = [b["callback_data"] for row in msg["params"]["reply_markup"]["inline_keyboard"]
             for b in row]
    check("v1:g:%s:0" % aid in datas and "v1:avs" in datas,
          "Generate (this avatar) and My avatars buttons: %r" % datas)


@test
def style_training_with_flux_pro_trainer(s):
    tid, aid = make_queued(s, style=True)
    seq = s.seq()
    r = s.cli("start-training", "--avatar", aid,
              env={"FAL_STYLE_TRAINER": "fal-ai/flux-pro-trainer"})
    eq(r.returncode, 0, "start from the command line: " + r.stdout + r.stderr)
    sub = submits(s, seq)
    eq(sub[0]["params"]["endpoint"], "fal-ai/flux-pro-trainer", "still selectable")
    eq(sub[0]["status"], 200, "FAL took the input")
    eq(sub[0]["params"]["input"]["iterations"], 300, "its own default iterations")
    inp = sub[0]["params"]["input"]
    for k in ("data_url", "mode", "finetune_comment", "iterations", "learning_rate", "priority",
              "captioning", "trigger_word", "finetune_type"):
        check(k in inp, "pro-trainer input has %s" % k)
    check("images_data_url" not in inp and "create_masks" not in inp, "only documented fields")
    wait_for(lambda: av(s, aid, "status") == "completed", 10, what="completion")
    check(av(s, aid, "finetune_id"), "finetune id stored")
    eq(av(s, aid, "finetune_type"), "full", "finetune type kept")


@test
def style_training_with_flux_lora_fast_training(s):
    tid, aid = make_queued(s, style=True, photos=12)
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    sub = submits(s, seq)
    eq(sub[0]["params"]["endpoint"], "fal-ai/flux-lora-fast-training", "the default style trainer")
    eq(sub[0]["status"], 200, "FAL took the input")
    inp = sub[0]["params"]["input"]
    # a Style avatar is photos of a person: masks on, not a style LoRA
    eq(inp.get("is_style"), False, "is_style")
    eq(inp.get("create_masks"), True, "create_masks")
    eq(inp.get("steps"), 1000, "its own default steps")
    check("images_data_url" in inp and "trigger_word" in inp, "documented fields")
    check_zip(s, inp["images_data_url"], aid, 12)
    wait_for(lambda: av(s, aid, "status") == "completed", 10, what="completion")
    check(av(s, aid, "diffusers_lora_file_url"), "a style LoRA")


@test
def polling_finds_an_error_result_behind_completed(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"rules": [{"service": "fal", "method": "result", "status": 422},
                                   {"service": "fal", "method": "webhook", "mode": "lost"}]})
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    rid = av(s, aid, "fal_request_id")
    wait_for(lambda: fal_request(s, rid)["delivered"], 5, what="FAL done")
    r = s.cli("check-status", "--all")
    eq(r.returncode, 0, r.stderr)
    eq(av(s, aid, "status"), "error", "COMPLETED with an error result ends in error")
    check("images_data_url" in av(s, aid, "training_error"), "reason kept: %s"
          % av(s, aid, "training_error"))
    check(any("Не удалось" in t for t in chat_texts(s, tid, seq)), "user told")


@test
def polling_completes_when_the_webhook_is_lost(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    rid = av(s, aid, "fal_request_id")
    wait_for(lambda: s.calls(seq, "webhook", service="fal"), 5, what="FAL done (webhook lost)")
    eq(av(s, aid, "status"), "training", "no webhook came")
    r = s.http("POST", "/api/check-status", headers=s.admin_headers(), raw=b"")
    eq(r.status, 200, "check-status over HTTP")
    check(r.json()["completed"] >= 1, "summary: %s" % r.body)
    eq(av(s, aid, "status"), "completed", "completed by the poller")
    check(av(s, aid, "last_status_check"), "last_status_check")
    eq(len([t for t in chat_texts(s, tid, seq) if "готов" in t]), 1, "one completion message")
    s.cli("check-status", "--all")
    eq(len([t for t in chat_texts(s, tid, seq) if "готов" in t]), 1, "still one")


@test
def duplicate_webhook_gives_one_notification(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "duplicate"})
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    rid = av(s, aid, "fal_request_id")
    wait_for(lambda: len([c for c in s.calls(seq, "webhook", service="fal")]) == 2, 8,
             what="two deliveries")
    eq(av(s, aid, "status"), "completed", "completed")
    whs = s.calls(seq, "webhook", service="fal")
    check(all(c["status"] == 200 for c in whs), "both answered 200: %r" % [c["status"] for c in whs])
    eq(len([t for t in chat_texts(s, tid, seq) if "готов" in t]), 1, "one notification")
    eq(s.one("SELECT count(*) FROM notifications WHERE avatar_id = %s" % aid), "1", "one row")
    eq(s.sql("SELECT outcome FROM fal_events WHERE request_id = '%s' AND payload ? 'payload'"
             % rid), [["completed"]], "the result kept once")


def webhook_body(rid, ok=True):
    if ok:
        return {"request_id": rid, "gateway_request_id": rid, "status": "OK",
                "payload": {"diffusers_lora_file": {"url": "https://v3.fal.media/files/x/l.safetensors"},
                            "config_file": {"url": "https://v3.fal.media/files/x/c.json"}}}
    return {"request_id": rid, "gateway_request_id": rid, "status": "ERROR",
            "error": "Invalid status code: 422",
            "payload": {"detail": [{"loc": ["body", "steps"], "msg": "too many steps",
                                    "type": "value_error"}]}}


def hook_path(s, aid):
    return s.fal_hook("avatar", aid)


@test
def webhook_and_poller_race_fifty_times_one_notification_each(s):
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost", "count": 50})
    seq = s.seq()
    made = [make_queued(s, photos=2) for _ in range(50)]
    for tid, aid in made:
        eq(train(s, aid).status, 202, "start %s" % aid)
    rids = {aid: av(s, aid, "fal_request_id") for _, aid in made}
    wait_for(lambda: all(fal_request(s, r)["delivered"] for r in rids.values()), 10,
             what="all done at FAL")
    results = []

    def hook(aid):
        results.append(s.fal_post(hook_path(s, aid), webhook_body(rids[aid])).status)
    ts = [threading.Thread(target=hook, args=(aid,)) for _, aid in made]
    poll = threading.Thread(target=lambda: s.cli("check-status", "--all"))
    poll.start()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    poll.join()
    check(all(c == 200 for c in results), "webhooks answered 200: %r" % set(results))
    for tid, aid in made:
        eq(av(s, aid, "status"), "completed", "avatar %s" % aid)
        eq(s.one("SELECT count(*) FROM notifications WHERE avatar_id = %s" % aid), "1",
           "notifications of %s" % aid)
        eq(len([t for t in chat_texts(s, tid, seq) if "готов" in t]), 1, "messages to %s" % tid)


@test
def concurrent_start_calls_submit_once(s):
    tid, aid = make_queued(s)
    seq = s.seq()
    codes = []
    ts = [threading.Thread(target=lambda: codes.append(train(s, aid).status)) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    r = s.cli("start-training", "--avatar", aid)
    codes.append({0: 202, 3: 409}.get(r.returncode, r.returncode))
    eq(sorted(codes).count(202), 1, "one winner: %r" % codes)
    eq(sorted(codes).count(409), 6, "the others get 409")
    eq(len(submits(s, seq)), 1, "one FAL submission")


@test
def fal_500_twice_then_accepted_submits_once(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "submit", "status": 500, "count": 2})
    seq = s.seq()
    eq(train(s, aid).status, 202, "started after retries")
    sub = submits(s, seq)
    eq([c["status"] for c in sub], [500, 500, 200], "two refusals then one accepted")
    eq(av(s, aid, "status"), "training", "training")


@test
def fal_unavailable_goes_back_to_the_queue_then_gives_up(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "submit", "status": 503, "count": 3})
    seq = s.seq()
    r = train(s, aid)
    eq(r.status, 503, "upstream unavailable")
    eq(av(s, aid, "status"), "queued", "back in the queue")
    check(s.one("SELECT next_attempt_at > now() FROM avatars WHERE id = %s" % aid) == "t",
          "with a backoff")
    s.sql("UPDATE avatars SET attempts = 5, next_attempt_at = now() WHERE id = %s" % aid)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "submit", "status": 502, "count": 3})
    eq(train(s, aid).status, 422, "gives up after the attempts")
    eq(av(s, aid, "status"), "error", "error")
    check(any("недоступен" in t for t in chat_texts(s, tid, seq)), "user told")


@test
def fal_422_fails_at_once_and_tells_the_user(s):
    tid, aid = make_queued(s, lang="en")
    s.ctl("/_ctl/fail", {"service": "fal", "method": "submit", "status": 422})
    seq = s.seq()
    eq(train(s, aid).status, 422, "refused")
    eq(len(submits(s, seq)), 1, "no retry of a 4xx")
    eq(av(s, aid, "status"), "error", "error")
    check("steps" in av(s, aid, "training_error"), "detail kept: %s" % av(s, aid, "training_error"))
    texts = chat_texts(s, tid, seq)
    check(any("could not be trained" in t for t in texts), "user told in English: %r" % texts)
    msg = [c for c in s.calls(seq, "sendMessage") if "could not" in c["params"]["text"]][0]
    datas = [b["callback_data"] for row in msg["params"]["reply_markup"]["inline_keyboard"]
             for b in row]
    check("v1:avretry:%s" % aid in datas, "a Retry button")


@test
def error_webhook_fails_the_training(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "result", "status": 422})
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    wait_for(lambda: av(s, aid, "status") == "error", 8, what="the ERROR webhook")
    check(av(s, aid, "training_error"), "reason kept")
    check(any("Не удалось" in t for t in chat_texts(s, tid, seq)), "user told")


@test
def unauthentic_webhooks_are_401_and_change_nothing(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    eq(train(s, aid).status, 202, "start")
    rid = av(s, aid, "fal_request_id")
    body = webhook_body(rid)
    good = hook_path(s, aid)
    check("token=" not in (av(s, aid, "webhook_url") or ""), "the database keeps no token")
    for path in ("/fal/webhook", "/fal/webhook?avatar=%s" % aid,
                 "/fal/webhook?avatar=%s&token=deadbeef" % aid,
                 good.replace("avatar=%s" % aid, "avatar=%d" % (int(aid) + 1)),
                 good.replace("avatar=", "generation=")):
        r = s.fal_post(path, body)
        eq(r.status, 401, "status for %s" % path)
    eq(av(s, aid, "status"), "training", "unchanged")
    eq(s.one("SELECT count(*) FROM fal_events WHERE request_id = '%s' AND NOT authentic" % rid),
       "5", "audited as unauthentic")
    # verification is on by default in live mode: a good token is not enough
    r = s.fal_post(good, body, signed=False)
    eq(r.status, 401, "no signature")
    raw = json.dumps(body).encode()
    sig_headers = s.fal_signed(rid, raw)
    bad = dict(sig_headers, **{"X-Fal-Webhook-Signature": "00" * 64})
    eq(s.http("POST", good, raw=raw, headers=bad).status, 401, "bad signature")
    old = s.fal_signed(rid, raw, ts=int(time.time()) - 900)
    eq(s.http("POST", good, raw=raw, headers=old).status, 401, "stale timestamp")
    tampered = raw.replace(b"l.safetensors", b"evil.safetensors")
    eq(s.http("POST", good, raw=tampered, headers=sig_headers).status, 401, "a changed body")
    other = json.dumps(webhook_body("someone-elses-request")).encode()
    eq(s.http("POST", good, raw=other, headers=s.fal_signed(rid, other)).status, 401,
       "a body whose request id is not the signed one")
    eq(av(s, aid, "status"), "training", "still unchanged")
    r = s.http("POST", good, raw=raw, headers=sig_headers)
    eq(r.status, 200, "signed by the stand-in's JWKS key: %s" % r.body)
    eq(av(s, aid, "status"), "completed", "completed")
    check(s.one("SELECT count(*) FROM fal_jwks") >= "1", "JWKS cached in the database")
    r = s.http("POST", good, raw=raw, headers=sig_headers)
    eq((r.status, r.json().get("outcome")), (200, "replay"), "the same signature again")
    r = s.fal_post(good, body)
    eq(r.status, 200, "signed afresh, after the end: %s" % r.body)
    eq(r.json()["outcome"], "duplicate", "changes nothing")
    rows = s.sql("SELECT outcome, octet_length(payload::text) FROM fal_events"
                 " WHERE request_id = '%s' AND authentic ORDER BY id" % rid)
    eq([x[0] for x in rows], ["completed", "duplicate"], "both audited")
    check(int(rows[1][1]) < 1200, "a repeat keeps only a summary: %r" % rows)


@test
def stand_in_signed_webhooks_pass_verification(s):
    tid, aid = make_queued(s)
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    wait_for(lambda: av(s, aid, "status") == "completed", 10, what="a signed webhook")
    rid = av(s, aid, "fal_request_id")
    eq([c["status"] for c in s.calls(seq, "webhook", service="fal")
        if c["params"].get("request_id") == rid], [200],
       "FAL's signed call taken (verification is on by default)")


@test
def unknown_request_id_is_200_and_changes_nothing(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    eq(train(s, aid).status, 202, "start")
    r = s.fal_post(hook_path(s, aid), webhook_body("not-a-known-request"))
    eq(r.status, 200, "unknown request answered 200")
    eq(r.json()["outcome"], "unknown_request", "outcome")
    eq(av(s, aid, "status"), "training", "unchanged")


@test
def telegram_429_on_the_notification_delivers_later_once(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"method": "sendMessage", "chat_id": tid, "status": 429,
                         "retry_after": 1, "count": 1})
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    wait_for(lambda: av(s, aid, "status") == "completed", 10, what="completion")
    wait_for(lambda: [c for c in s.calls(seq, "sendMessage") if c["status"] == 429], 5,
             what="the 429")
    eq(s.one("SELECT status FROM notifications WHERE avatar_id = %s" % aid), "pending",
       "kept for later")
    # retry_after passes; the next checker pass sends it
    wait_for(lambda: s.cli("check-status", "--all") and
             s.one("SELECT status FROM notifications WHERE avatar_id = %s" % aid) == "sent",
             8, what="sent after retry_after")
    ok = [c for c in s.calls(seq, "sendMessage") if c["status"] == 200 and
          str(c["params"]["chat_id"]) == str(tid)]
    eq(len(ok), 1, "delivered once")
    s.cli("check-status", "--all")
    ok = [c for c in s.calls(seq, "sendMessage") if c["status"] == 200 and
          str(c["params"]["chat_id"]) == str(tid)]
    eq(len(ok), 1, "still once")


@test
def telegram_403_marks_the_user_blocked(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"method": "sendMessage", "chat_id": tid, "status": 403, "count": -1})
    eq(train(s, aid).status, 202, "start")
    wait_for(lambda: av(s, aid, "status") == "completed", 10, what="completion")
    wait_for(lambda: s.one("SELECT is_blocked FROM users WHERE telegram_id = %d" % tid) == "t", 5,
             what="user blocked")
    eq(s.one("SELECT status FROM notifications WHERE avatar_id = %s" % aid), "dropped", "dropped")
    s.ctl("/_ctl/reset_failures", {})


@test
def stuck_training_times_out_and_the_user_is_told(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    s.sql("UPDATE avatars SET training_started_at = now() - interval '7 hours' WHERE id = %s" % aid)
    r = s.cli("check-status", "--startup")
    eq(r.returncode, 0, r.stderr)
    eq(av(s, aid, "status"), "error", "timed out")
    check(any("слишком много времени" in t for t in chat_texts(s, tid, seq)), "user told")


@test
def crashed_claim_is_recovered_with_one_submission(s):
    tid, aid = make_queued(s)
    # what a start-training killed right after its claim leaves behind
    s.sql("UPDATE avatars SET status = 'submitting', claimed_at = now() - interval '1 hour',"
          " attempts = 1 WHERE id = %s" % aid)
    seq = s.seq()
    r = s.cli("check-status", "--startup")
    eq(r.returncode, 0, r.stderr)
    eq(av(s, aid, "status"), "queued", "back in the queue")
    r = s.cli("start-training", "--pending")
    eq(r.returncode, 0, r.stderr)
    eq(av(s, aid, "status"), "training", "started")
    s.cli("start-training", "--pending")
    eq(len(submits(s, seq)), 1, "one FAL submission")


@test
def start_training_killed_after_its_claim_is_recovered(s):
    tid, aid = make_queued(s, photos=3)
    # Telegram answers slowly, so the process is surely past its claim
    s.ctl("/_ctl/fail", {"method": "getFile", "delay": 8, "count": -1})
    seq = s.seq()
    env = s.env()
    p = subprocess.Popen([s.bindir + "/start-training", "--avatar", aid], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: av(s, aid, "status") == "submitting", 5, what="the claim")
    p.kill()
    p.wait()
    s.ctl("/_ctl/reset_failures", {})
    eq(av(s, aid, "status"), "submitting", "a crashed claim")
    wait_for(lambda: s.cli("check-status", "--startup", env={"TRAINING_CLAIM_TIMEOUT": "1"}) and
             av(s, aid, "status") == "queued", 8, what="the crashed claim recovered")
    s.cli("start-training", "--pending")
    eq(av(s, aid, "status"), "training", "started")
    eq(len(submits(s, seq)), 1, "at most one FAL submission")


@test
def progress_is_read_from_the_logs(s):
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    eq(train(s, aid).status, 202, "start")
    rid = av(s, aid, "fal_request_id")
    # hold the request in progress for a while
    s.ctl("/_ctl/fal/hold", {"request_id": rid, "seconds": 30})
    def progressed():
        s.sql("UPDATE avatars SET last_status_check = NULL WHERE id = %s" % aid)
        s.cli("check-status", "--all")
        return 0 < int(av(s, aid, "training_progress") or 0)
    # the person's progress message (the bot's answer to /start stands in for it)
    u = User(s, tid)
    u.text("/start")
    mid = max(m["message_id"] for m in u.chat_messages())
    # (edited at the start: the first percent comes 30 s later)
    s.sql("UPDATE avatars SET progress_chat_id = %d, progress_message_id = %d,"
          " progress_edited_at = now() - interval '1 minute' WHERE id = %s" % (tid, mid, aid))
    seq = s.seq()
    wait_for(progressed, 8, what="progress read from the logs")
    p = int(av(s, aid, "training_progress"))
    check(0 < p < 100, "progress from 'step N/M': %d" % p)
    check("Training step" in av(s, aid, "training_logs"), "logs kept")

    def shown():
        return [m for m in u.chat_messages() if m["message_id"] == mid and
                "обучается: %d%%" % p in m.get("text", "")]
    wait_for(shown, 10, what="the progress message edited through the outbox")
    edits = [c for c in s.calls(seq, "editMessageText") if c["params"].get("message_id") == mid]
    eq(len(edits), 1, "one edit")
    s.sql("UPDATE avatars SET last_status_check = NULL WHERE id = %s" % aid)
    s.cli("check-status", "--all")            # within 30 s of the edit: none again
    time.sleep(0.5)
    eq(len([c for c in s.calls(seq, "editMessageText")
            if c["params"].get("message_id") == mid]), 1, "no second edit within 30 s")
    s.ctl("/_ctl/fal/complete", {"request_id": rid})


@test
def two_status_checkers_at_once_do_no_double_work(s):
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost", "count": 20})
    made = [make_queued(s, photos=1) for _ in range(20)]
    for _, aid in made:
        eq(train(s, aid).status, 202, "start")
    rids = [av(s, aid, "fal_request_id") for _, aid in made]
    wait_for(lambda: all(fal_request(s, r)["delivered"] for r in rids), 10,
             what="all 20 done at FAL")
    seq = s.seq()
    a = threading.Thread(target=lambda: s.cli("check-status", "--all"))
    b = threading.Thread(target=lambda: s.cli("check-status", "--all"))
    a.start(); b.start(); a.join(); b.join()
    # (only this test's requests: an earlier test may leave one in flight)
    polls = [c for c in s.calls(seq, "status", service="fal")
             if c["params"].get("request_id") in rids]
    eq(sorted(c["params"]["request_id"] for c in polls), sorted(rids),
       "each training polled once, by one of the two checkers")
    for tid, aid in made:
        eq(av(s, aid, "status"), "completed", "completed")
        eq(s.one("SELECT count(*) FROM notifications WHERE avatar_id = %s AND status = 'sent'"
                 % aid), "1", "one notification")


@test
def finished_zips_are_removed_at_the_end_and_by_the_startup_checker(s):
    def kept(oid):
        return s.one("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = %s" % oid) == "1"
    tid, aid = make_queued(s, photos=2)
    eq(train(s, aid).status, 202, "start")
    oid = av(s, aid, "zip_oid")
    check(oid and kept(oid), "zip kept in the database")
    wait_for(lambda: av(s, aid, "status") == "completed", 10, what="completion")
    check(not kept(oid), "removed when the training ended")
    eq(av(s, aid, "zip_path"), None, "forgotten")
    # one left behind on a finished avatar: the startup checker's
    left = s.one("SELECT lo_from_bytea(0, '\\x504b'::bytea)")
    s.sql("UPDATE avatars SET zip_path = '%s', zip_oid = %s, updated_at = now() - interval"
          " '1 hour' WHERE id = %s" % ("C" * 22 + ".zip", left, aid))
    s.cli("check-status", "--startup")
    check(not kept(left), "zip removed")
    eq(av(s, aid, "zip_path"), None, "forgotten")


@test
def test_mode_end_to_end_through_the_bot(s):
    from tg_user import User
    s.restart_lighttpd(FAL_TRAINING_TEST_MODE="true", FAL_TEST_DURATION="2")
    try:
        u = User(s, 630000001, "en", "Tess")
        seq = s.seq()
        u.text("/start")
        u.press("v1:new")
        u.text("Test mode")
        u.press("v1:sex:")
        u.press("v1:type:")
        for _ in range(10):
            u.photo()
        u.press("v1:pdone:")
        u.press("v1:train:")
        aid = u.avatar()
        wait_for(lambda: av(s, aid, "status") == "training", 10, what="started by the trigger")
        check(av(s, aid, "fal_request_id").startswith("test-"), "a test request id")
        # (queued with the start, sent by the outbox's sender)
        started = wait_for(lambda: [c for c in u.calls("editMessageText", since=seq)
                                    if "has started" in c["params"]["text"]], 5,
                           what="the user sees it started")
        kb = [b.get("callback_data") for row in (started[-1]["params"].get("reply_markup") or
                                                 {}).get("inline_keyboard", []) for b in row]
        check("v1:avs" in kb, "My avatars stays on the progress message: %r" % kb)
        def done():
            s.sql("UPDATE avatars SET last_status_check = NULL WHERE id = %s" % aid)
            r = s.cli("check-status", "--all", env={"FAL_TRAINING_TEST_MODE": "true",
                                                    "FAL_TEST_DURATION": "2"})
            eq(r.returncode, 0, r.stderr)
            return av(s, aid, "status") == "completed"
        wait_for(done, 10, interval=0.5, what="completed through the normal path")
        check("test-mode" in av(s, aid, "diffusers_lora_file_url"), "a recognizable placeholder")
        done = [t for t in u.texts(seq) if "is ready" in t]
        eq(len(done), 1, "exactly one completion message")
        s.cli("check-status", "--all", env={"FAL_TRAINING_TEST_MODE": "true"})
        eq(len([t for t in u.texts(seq) if "is ready" in t]), 1, "still one")
        eq(submits(s, seq), [], "no FAL calls in test mode")
        mid = av(s, aid, "progress_message_id")
        ends = wait_for(lambda: [c for c in u.calls("editMessageText", since=seq)
                                 if str(c["params"]["message_id"]) == str(mid)
                                 and "100%" in c["params"]["text"]], 5,
                        what="the progress message at its end")
        check("v1:avs" in json.dumps(ends[-1]["params"].get("reply_markup")), "with My avatars")
        u.press("v1:avs")
        check("ready" in json.dumps(u.chat_messages()[-1]), "the list shows it ready")
    finally:
        s.restart_lighttpd()


@test
def result_500_503_504_after_completed_is_final_and_told_once(s):
    """FAL has retried already when a COMPLETED request's result is 5xx: the
    poller ends the training (it used to fetch it again every minute)."""
    for code in (500, 503, 504):
        tid, aid = make_queued(s)
        s.ctl("/_ctl/fail", {"rules": [{"service": "fal", "method": "result", "status": code},
                                       {"service": "fal", "method": "webhook", "mode": "lost"}]})
        seq = s.seq()
        eq(train(s, aid).status, 202, "start")
        rid = av(s, aid, "fal_request_id")
        wait_for(lambda: fal_request(s, rid)["delivered"], 5, what="FAL done")
        for _ in range(2):
            r = s.cli("check-status", "--all")
            eq(r.returncode, 0, r.stderr)
        eq(av(s, aid, "status"), "error", "a %d result ends the training" % code)
        told = [t for t in chat_texts(s, tid, seq) if "Не удалось" in t]
        eq(len(told), 1, "the person is told once after %d" % code)


@test
def a_long_non_ascii_fal_error_is_stored_whole_characters(s):
    """400 × 'é' is 800 bytes: cut at a byte it was invalid UTF-8, PostgreSQL
    refused it and the webhook answered 500 on every retry."""
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "result", "status": 422,
                         "detail": [{"loc": ["body", "images_data_url"], "msg": "é" * 400,
                                     "type": "value_error"}]})
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    wait_for(lambda: av(s, aid, "status") == "error", 8, what="the ERROR webhook stored")
    err = av(s, aid, "training_error")
    check(err and err.count("é") > 200, "the reason kept, cut on a character: %r" % err[:80])
    hooks = [c for c in s.calls(seq, "webhook", service="fal")
             if c["params"].get("request_id") == av(s, aid, "fal_request_id")]
    eq([c["status"] for c in hooks], [200], "the webhook was taken the first time")
    eq(len([t for t in chat_texts(s, tid, seq) if "Не удалось" in t]), 1, "told once")


# Exactly once, mechanism by mechanism: the state lock (a finished avatar
# is not finished again) is proven by duplicate_webhook_gives_one_notification;
# the two below prove the outbox's own guards with the state lock out of play.

@test
def outbox_dedupe_key_alone_stops_a_second_notice_for_one_event(s):
    """A notice whose event already has one (same dedupe key) is not queued
    again, even when the completion path runs: the unique key, not the
    avatar's status, is what this proves."""
    tid, aid = make_queued(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    eq(train(s, aid).status, 202, "start")
    rid = av(s, aid, "fal_request_id")
    wait_for(lambda: fal_request(s, rid)["delivered"], 5, what="FAL done")
    uid = av(s, aid, "user_id")
    s.sql("INSERT INTO notifications (user_id, chat_id, kind, dedupe_key, avatar_id, status,"
          " sent_at) VALUES (%s, %d, 'done', 'avatar:%s:%s:done', %s, 'sent', now())"
          % (uid, tid, aid, rid, aid))
    seq = s.seq()
    r = s.cli("check-status", "--all")
    eq(r.returncode, 0, r.stderr)
    eq(av(s, aid, "status"), "completed", "completed by the poller")
    eq(s.one("SELECT count(*) FROM notifications WHERE avatar_id = %s" % aid), "1",
       "no second row for the same event")
    eq([t for t in chat_texts(s, tid, seq) if "готов" in t], [], "no second message")


@test
def outbox_claim_alone_stops_two_senders_sending_one_notice_twice(s):
    """Two senders (two checkers) find the same due notice: the claim
    (claimed_until, FOR UPDATE SKIP LOCKED) lets one send it."""
    tid, aid = make_queued(s, photos=1)
    uid = av(s, aid, "user_id")
    # (a sender may be up from an earlier test: it is a third sender)
    s.ctl("/_ctl/fail", {"method": "sendMessage", "chat_id": tid, "delay": 3, "count": 2})
    seq = s.seq()
    s.sql("INSERT INTO notifications (user_id, chat_id, kind, dedupe_key, avatar_id, payload)"
          " VALUES (%s, %d, 'done', 'claim-test-%s', %s, '{\"method\": \"sendMessage\","
          " \"params\": {\"chat_id\": %d, \"text\": \"claim test\"}}')"
          % (uid, tid, aid, aid, tid))
    ts = [threading.Thread(target=lambda: s.cli("check-status", "--all")) for _ in range(2)]
    ts[0].start()
    # the second sender comes while the first holds the claim and waits on Telegram
    wait_for(lambda: s.one("SELECT claimed_until IS NOT NULL FROM notifications"
                           " WHERE dedupe_key = 'claim-test-%s'" % aid) == "t", 10,
             what="the first sender's claim")
    ts[1].start()
    for t in ts:
        t.join()
    wait_for(lambda: s.one("SELECT status FROM notifications WHERE dedupe_key ="
                           " 'claim-test-%s'" % aid) == "sent", 10, what="the notice sent")
    eq(len([t for t in chat_texts(s, tid, seq) if t == "claim test"]), 1, "sent once")
    eq(s.one("SELECT status FROM notifications WHERE dedupe_key = 'claim-test-%s'" % aid), "sent",
       "marked sent")


@test
def a_status_pass_slower_than_the_check_interval_asks_fal_once_per_training(s):
    """A pass that outlasts the 15 s between two checks of one training (FAL
    slow to answer) does not go round again: each training in flight is
    asked once, and the pass ends (it went round and round, re-asking the
    first ones, as long as each round took 15 s)."""
    n = 501                                  # two of the poller's batches (500 each)
    tag = "once%d" % int(time.time())
    tid, aid = make_queued(s, photos=0, status="draft")
    uid = av(s, aid, "user_id")
    base = "http://127.0.0.1:%d/fal-ai/flux-lora-portrait-trainer/requests/" % s.fal_port
    s.ctl("/_ctl/fal/bulk", {"ids": ["%s-%d" % (tag, g) for g in range(n)],
                             "endpoint": "fal-ai/flux-lora-portrait-trainer"})
    s.sql("INSERT INTO avatars (user_id, name, gender, status, training_type, fal_request_id,"
          " fal_endpoint, status_url, response_url, training_started_at)"
          " SELECT %s, 'Once ' || g, 'male', 'training', 'portrait', '%s-' || g,"
          " 'fal-ai/flux-lora-portrait-trainer', '%s%s-' || g || '/status', '%s%s-' || g, now()"
          " FROM generate_series(0, %d) g" % (uid, tag, base, tag, base, tag, n - 1))
    # one status call is held past the poller's 15 s timeout: the first
    # batch's trainings are due again before the second batch is claimed
    s.ctl("/_ctl/fail", {"service": "fal", "method": "status", "status": 0, "sleep": 16,
                         "count": 1})
    seq = s.seq()
    t0 = time.time()
    r = s.cli("check-status", "--all")
    took = time.time() - t0
    try:
        eq(r.returncode, 0, r.stderr)
        check(15 < took < 40, "the pass outlasted the check interval and ended (%.1f s)"
              % took)
        asked = {}
        for c in s.calls(seq, "status", service="fal"):
            rid = c["params"]["request_id"]
            if rid.startswith(tag + "-"):
                asked[rid] = asked.get(rid, 0) + 1
        # (and the held call did not hold the others: none waits behind it)
        eq(len(asked), n - 1, "trainings asked")
        eq(max(asked.values()), 1, "asked at most once each in one pass")
    finally:
        s.sql("UPDATE avatars SET status = 'cancelled' WHERE fal_request_id LIKE '%s-%%'" % tag)


# Runs last (this file sorts last): by now every kind of traffic has passed —
# Bot API calls, FAL submits with their webhook URLs, webhooks with tokens.
@test
def zz_no_secret_or_webhook_token_in_any_log_after_all_traffic(s):
    import glob
    import os
    logs = {}
    for path in glob.glob(os.path.join(s.var, "log", "*.log")):
        if os.path.basename(path) != "standin.log":     # the stand-in is not ours
            with open(path, errors="replace") as f:
                logs[os.path.basename(path)] = f.read()
    check("functions.log" in logs and "access.log" in logs, "logs found: %s" % list(logs))
    check("POST /fal/webhook" in logs["access.log"], "FAL webhooks were logged")
    tokens = [urllib.parse.parse_qs(urllib.parse.urlsplit(h).query)["token"][0]
              for c in s.calls(0, "submit", service="fal")
              for h in urllib.parse.parse_qs(c["params"].get("query", "")).get("fal_webhook", [])]
    check(len(tokens) > 10, "webhook tokens (given to FAL) to look for")
    stored = "\n".join(r[0] for r in s.sql("SELECT coalesce(webhook_url, '') FROM avatars"))
    check(not [t for t in tokens if t in stored], "no token kept in the database")
    secrets = {"TELEGRAM_BOT_TOKEN": s.token, "TELEGRAM_WEBHOOK_SECRET": s.secret,
               "ADMIN_TOKEN": s.admin, "FAL_API_KEY": "test-fal-key",
               "FAL_WEBHOOK_SECRET": "test-fal-webhook-secret"}
    for name, text in logs.items():
        for what, value in secrets.items():
            check(value not in text, "%s reached %s" % (what, name))
        check("token=" not in text, "a webhook URL's token= reached %s" % name)
        check("Authorization" not in text and "Key test" not in text,
              "an Authorization header reached %s" % name)
        leaked = [t for t in tokens if t in text]
        eq(leaked[:1], [], "webhook tokens in %s" % name)


# --- coverage: maintenance and failure paths no test walked before ---------------------

@test
def a_photo_over_20_mb_at_getfile_fails_the_training_with_the_reason(s):
    tid, aid = make_queued(s, photos=3)
    fid = s.one("SELECT file_id FROM avatar_photos WHERE avatar_id = %s ORDER BY id LIMIT 1" % aid)
    s.ctl("/_ctl/file", {"file_id": fid, "size": 21 * 1024 * 1024})
    seq = s.seq()
    train(s, aid)
    wait_for(lambda: av(s, aid, "status") == "error", 8, what="the failed start")
    check("file is too big" in av(s, aid, "training_error"), av(s, aid, "training_error"))
    eq(submits(s, seq), [], "FAL never paid")
    wait_for(lambda: any("Не удалось" in t for t in chat_texts(s, tid, seq)), 5,
             what="the person told")


@test
def old_update_dedupe_rows_are_pruned_recent_ones_kept(s):
    s.sql("INSERT INTO tg_updates (update_id, kind, received_at) VALUES"
          " (790000001, 'message', now() - interval '8 days'),"
          " (790000002, 'message', now() - interval '1 day')")
    r = s.cli("check-status", "--startup")
    eq(r.returncode, 0, r.stderr)
    eq(s.one("SELECT count(*) FROM tg_updates WHERE update_id = 790000001"), "0", "8 days: pruned")
    eq(s.one("SELECT count(*) FROM tg_updates WHERE update_id = 790000002"), "1", "1 day: kept")


def pending_note(s, tid, aid, key, attempts=0):
    uid = av(s, aid, "user_id")
    s.sql("INSERT INTO notifications (user_id, chat_id, kind, dedupe_key, avatar_id, attempts,"
          " payload) VALUES (%s, %d, 'done', '%s', %s, %d, '{\"method\": \"sendMessage\","
          " \"params\": {\"chat_id\": %d, \"text\": \"%s\"}}')"
          % (uid, tid, key, aid, attempts, tid, key))


@test
def the_outbox_drops_a_400_at_once_and_gives_up_after_its_attempts(s):
    tid, aid = make_queued(s, photos=1)
    # the failure first: a running sender may take the row before cron does
    s.ctl("/_ctl/fail", {"method": "sendMessage", "chat_id": tid, "status": 400,
                         "description": "Bad Request: chat not found", "count": 1})
    pending_note(s, tid, aid, "bad-request-%s" % aid)
    s.cli("check-status", "--all")
    q = "SELECT status || ' ' || last_error FROM notifications WHERE dedupe_key = 'bad-request-%s'"
    wait_for(lambda: s.one("SELECT status FROM notifications WHERE dedupe_key ="
                           " 'bad-request-%s'" % aid) != "pending", 5, what="the 400 settled")
    eq(s.one(q % aid), "dropped Bad Request: chat not found", "a 400 is not retried")
    s.ctl("/_ctl/fail", {"method": "sendMessage", "chat_id": tid, "status": 500, "count": 1})
    pending_note(s, tid, aid, "many-tries-%s" % aid, attempts=29)
    s.cli("check-status", "--all")
    q = "SELECT status || ' ' || attempts FROM notifications WHERE dedupe_key = 'many-tries-%s'"
    wait_for(lambda: s.one(q % aid) == "dropped 30", 5, what="the last attempt settled")
    eq(s.one(q % aid), "dropped 30", "given up after 30 attempts")


@test
def a_migration_that_fails_halfway_leaves_nothing_behind(s):
    import os
    import shutil
    import tempfile
    d = tempfile.mkdtemp()
    try:
        for f in os.listdir(os.path.join(ROOT_DIR, "schema")):
            if f.endswith(".sql"):
                shutil.copy(os.path.join(ROOT_DIR, "schema", f), d)
        with open(os.path.join(d, "999_broken.sql"), "w") as f:
            f.write("CREATE TABLE half_done (id int);\nSELECT 1 / 0;\n")
        r = subprocess.run([os.path.join(s.bindir, "migrate"), "--dir", d], env=s.env(),
                           capture_output=True, text=True)
        check(r.returncode != 0, "a failed migration fails the step: %s" % r.stdout)
        check("999_broken.sql" in r.stdout + r.stderr, "names the file: %r" % (r.stdout + r.stderr))
        eq(s.one("SELECT to_regclass('half_done') IS NULL"), "t", "its first half rolled back")
        eq(s.one("SELECT count(*) FROM schema_migrations WHERE version LIKE '999%'"), "0",
           "not recorded as applied")
        st = subprocess.run([os.path.join(s.bindir, "migrate"), "--dir", d, "status"],
                            env=s.env(), capture_output=True, text=True)
        check("1 pending" in st.stdout, "status lists it as pending: %r" % st.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def cron_jobs_never_run_twice_at_once(s):
    import os
    envf = os.path.join(s.var, "cron-test.env")     # the settings are in the environment
    open(envf, "w").close()
    env = dict(s.env(), AISHA_ENV_FILE=envf, AISHA_VAR_DIR=s.var)
    lock = os.path.join(s.var, "run", "cron-status.lock")
    import fcntl
    holder = open(lock, "w")               # a run still going holds the job's lock
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        r = subprocess.run(["sh", os.path.join(ROOT_DIR, "cron", "run.sh"), "status"], env=env,
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, "a skipped run is not an error")
        with open(os.path.join(s.var, "log", "cron.log")) as f:
            check("previous run still going, skipped" in f.read(), "the skip is logged")
    finally:
        holder.close()
    r = subprocess.run(["sh", os.path.join(ROOT_DIR, "cron", "run.sh"), "status"], env=env,
                       capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, "with the lock free it runs")
    with open(os.path.join(s.var, "log", "cron.log")) as f:
        check('"checked"' in f.read(), "the checker's summary is logged")


@test
def a_completion_for_a_request_whose_submitter_died_is_adopted_once(s):
    """start-training died after FAL took the job and before storing its
    request id: the webhook's token proves the request is this avatar's."""
    tid, aid = make_queued(s)
    s.sql("UPDATE avatars SET status = 'submitting', attempts = 1, claimed_at = now()"
          " WHERE id = %s" % aid)
    seq = s.seq()
    rid = "adopt-%s" % uuid.uuid4().hex
    path = "/fal/webhook?avatar=%s&token=%s" % (aid, s.issue_fal_token("avatar", aid))
    r = s.fal_post(path, webhook_body(rid))
    eq(r.status, 200, "the completion is taken: %s" % r.body)
    eq(av(s, aid, "status"), "completed", "the avatar adopted the request and completed")
    eq(av(s, aid, "fal_request_id"), rid, "its request id kept")
    eq(s.fal_post(path, webhook_body(rid)).status, 200, "a repeat")
    wait_for(lambda: [t for t in chat_texts(s, tid, seq) if "готов" in t], 5, what="the notice")
    eq(len([t for t in chat_texts(s, tid, seq) if "готов" in t]), 1, "told once")
    # an avatar that has its own request does not adopt a stranger
    other = "stranger-%s" % uuid.uuid4().hex
    r = s.fal_post(path, webhook_body(other))
    eq(r.status, 200, "answered (FAL stops retrying)")
    eq(av(s, aid, "fal_request_id"), rid, "not adopted")


@test
def training_zip_holds_each_of_the_avatars_photos_once(s):
    tid, aid = make_queued(s, photos=11)
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    sub = submits(s, seq)
    check_zip(s, sub[0]["params"]["input"]["images_data_url"], aid, 11)


@test
def photos_the_checks_rejected_stay_out_of_the_zip(s):
    tid, aid = make_queued(s, photos=13)
    s.sql("UPDATE avatar_photos SET verdict = CASE WHEN id %% 4 = 0 THEN 'blurry' ELSE 'ok' END"
          " WHERE avatar_id = %s" % aid)
    rejected = int(s.one("SELECT count(*) FROM avatar_photos WHERE avatar_id = %s"
                         " AND verdict = 'blurry'" % aid))
    check(rejected >= 3, "some photos rejected: %d" % rejected)
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    check_zip(s, submits(s, seq)[0]["params"]["input"]["images_data_url"], aid, 13 - rejected)


@test
def fal_errors_reach_the_person_as_a_reason_in_their_language(s):
    # FAL's words stay in the database and the logs; the person reads why,
    # in Russian, in the message and on the avatar's card
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    tid, aid = make_queued(s)
    seq = s.seq()
    eq(train(s, aid).status, 202, "start")
    body = webhook_body(av(s, aid, "fal_request_id"), ok=False)
    body["payload"]["detail"] = [{"loc": ["body", "images_data_url"],
                                  "msg": "Could not download images", "type": "file_download_error"}]
    eq(s.fal_post(hook_path(s, aid), body).status, 200, "the ERROR webhook")
    eq(av(s, aid, "status"), "error", "failed")
    check("Could not download images" in av(s, aid, "training_error"), "FAL's words kept")
    told = wait_for(lambda: [t for t in chat_texts(s, tid, seq) if "Не удалось обучить" in t], 5,
                    what="the failure message")[0]
    check("не удалось прочитать фотографии" in told, told)
    for word in ("images_data_url", "Could not", "download", "422"):
        check(word not in told, "%r in %r" % (word, told))
    from tg_user import User
    u = User(s, tid)
    seq2 = s.seq()
    u.press_raw("v1:av:%s" % aid)
    card = [t for t in u.texts(since=seq2) if "Ава" in t]
    check(card and "не удалось прочитать фотографии" in card[-1] and
          "Could not" not in card[-1], "the card: %r" % card)


STARTED_EDIT_REFUSED = """
CREATE OR REPLACE FUNCTION test_refuse_started_edit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.dedupe_key LIKE 'avatar:' || %s || ':%%:started' THEN
    RAISE EXCEPTION 'the outbox refuses' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS test_refuse_started_edit ON notifications;
CREATE TRIGGER test_refuse_started_edit BEFORE INSERT ON notifications
  FOR EACH ROW EXECUTE FUNCTION test_refuse_started_edit();
"""


@test
def a_start_whose_message_cannot_be_queued_is_still_stored(s):
    """FAL took the job: a "training has started" edit the outbox refuses
    must not cost the job its stored request id (nor a second submission)."""
    tid, aid = make_queued(s)
    s.sql("UPDATE avatars SET progress_message_id = 77 WHERE id = %s" % aid)
    s.sql(STARTED_EDIT_REFUSED % aid)
    try:
        seq = s.seq()
        eq(train(s, aid).status, 202, "started")
        eq(len(submits(s, seq)), 1, "one FAL submission")
        eq(av(s, aid, "status"), "training", "stored as training")
        rid = av(s, aid, "fal_request_id")
        check(rid and fal_request(s, rid), "the request id FAL gave is stored: %r" % rid)
        eq(s.one("SELECT count(*) FROM notifications WHERE avatar_id = %s AND dedupe_key"
                 " LIKE '%%:started'" % aid), "0", "the refused edit left nothing")
    finally:
        s.sql("DROP TRIGGER IF EXISTS test_refuse_started_edit ON notifications")
    # the progress messages that follow are still queued
    s.sql("UPDATE avatars SET last_status_check = NULL WHERE id = %s" % aid)
    eq(s.cli("check-status", "--all").returncode, 0, "a status pass")
    eq(av(s, aid, "status"), "training", "still training")
