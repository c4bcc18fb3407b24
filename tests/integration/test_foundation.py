"""Foundation: auth, parsing, dedupe, /start, healthz, migrations, API auth,
CGI mode, routing and limits — through lighttpd, with a real database."""
import copy
import hashlib
import json
import os
import re
import subprocess
import time

from harness import ROOT, check, eq, fixture, test, wait_for
from tg_user import User


def counts(s):
    return (s.one("SELECT count(*) FROM tg_updates"), s.one("SELECT count(*) FROM users"))


@test
def webhook_without_secret_is_401_and_stores_nothing(s):
    before = counts(s)
    r = s.http("POST", "/telegram/webhook", fixture("start"))
    eq(r.status, 401, "status")
    eq(r.json()["ok"], False, "ok")
    eq(r.json()["error"]["code"], "unauthorized", "error code")
    eq(counts(s), before, "rows after a call without secret")


@test
def webhook_with_wrong_secret_is_401_and_stores_nothing(s):
    before = counts(s)
    for bad in ("wrong", s.secret + "x", s.secret[:-1], ""):
        r = s.webhook(fixture("start"), secret=bad)
        eq(r.status, 401, "status for secret %r" % bad)
    eq(counts(s), before, "rows after wrong secrets")


@test
def malformed_json_is_400_and_next_request_is_fine(s):
    for raw in (b"{not json", b"[]", b'{"update_id":"x"}', b'{"update_id":1.5}',
                b"\xff\xfe{}", b'{"message":{"chat":"x"}}'):
        r = s.http("POST", "/telegram/webhook", raw=raw,
                   headers={"X-Telegram-Bot-Api-Secret-Token": s.secret})
        eq(r.status, 400, "status for %r" % raw)
        eq(r.json()["ok"], False, "ok for %r" % raw)
    u = fixture("start")
    u["update_id"] = 700000001
    r = s.webhook(u)
    eq(r.status, 200, "status of the next good update")


@test
def oversized_body_is_413(s):
    big = b'{"update_id":1,"pad":"' + b"a" * (1100 * 1024) + b'"}'
    r = s.http("POST", "/telegram/webhook", raw=big,
               headers={"X-Telegram-Bot-Api-Secret-Token": s.secret})
    eq(r.status, 413, "status")
    eq(r.json()["error"]["code"], "too_large", "error code")


@test
def start_registers_user_and_answers_menu_in_webhook_response(s):
    u = fixture("start")
    r = s.webhook(u)
    eq(r.status, 200, "status")
    body = r.json()
    eq(body.get("method"), "sendMessage", "method in the webhook answer")
    eq(body.get("chat_id"), 184467301, "chat_id")
    check("Алия" in body["text"], "greets by first name: %r" % body["text"])
    kb = body["reply_markup"]["inline_keyboard"]
    datas = [b["callback_data"] for row in kb for b in row]
    eq(sorted(d.split(":")[1] for d in datas), ["avs", "bal", "gal", "gen", "help", "new"],
       "menu buttons")
    check(all(len(d.encode()) <= 64 for d in datas), "callback data within 64 bytes")
    row = s.sql("SELECT telegram_id, username, first_name, lang FROM users WHERE telegram_id = 184467301")
    eq(row, [["184467301", "aliya_s", "Алия", "ru"]], "user row")


@test
def duplicate_update_gives_one_user_and_one_reply(s):
    u = fixture("english_user_start")
    u["update_id"] = 700000010
    u["message"]["from"]["id"] = u["message"]["chat"]["id"] = 551000777
    seq = s.seq()
    first = s.deliver(u)
    second = s.deliver(copy.deepcopy(u))
    eq(first["status"], 200, "first delivery")
    eq(second["status"], 200, "repeat delivery answered 2xx")
    eq(s.one("SELECT count(*) FROM users WHERE telegram_id = 551000777"), "1", "users")
    sent = [c for c in s.calls(seq, "sendMessage") if c["params"].get("chat_id") == 551000777]
    eq(len(sent), 1, "replies sent")
    check("Main menu" in sent[0]["params"]["text"], "English menu: %r" % sent[0]["params"]["text"])
    eq(s.one("SELECT count(*) FROM tg_updates WHERE update_id = 700000010"), "1", "dedupe row")


def help_update(u, update_id):
    return {"update_id": update_id, "message": {
        "message_id": 9, "from": u.user, "chat": u.chat, "date": 1, "text": "/help",
        "entities": [{"offset": 0, "length": 5, "type": "bot_command"}]}}


def answered(r):
    eq(r.status, 200, "answered 2xx")
    return bool(r.body.strip()) and r.json().get("method") == "sendMessage"


@test
def a_repeated_help_is_answered_once_and_writes_nothing(s):
    """/help changes nothing: its turn writes no row (no dedupe claim), and
    a repeat of it, one after the other or at the same instant, gets no
    second answer."""
    import threading
    u = User(s, 650000003, "en", "Rita")
    u.text("/start")
    upd = help_update(u, 700000011)
    check(answered(s.webhook(upd)), "the first delivery is answered")
    check(not answered(s.webhook(copy.deepcopy(upd))), "the repeat is not")
    at_once = help_update(u, 700000012)
    got = []
    ts = [threading.Thread(target=lambda: got.append(answered(s.webhook(at_once))))
          for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    eq(sorted(got), [False, False, True], "three deliveries at the same instant: one answer")
    # a text that is not a command runs under the person's lock: its repeat
    # is recognised the same way
    hello = {"update_id": 700000013, "message": {
        "message_id": 10, "from": u.user, "chat": u.chat, "date": 1, "text": "hello"}}
    check(answered(s.webhook(hello)), "a text in the menu is answered")
    check(not answered(s.webhook(copy.deepcopy(hello))), "its repeat is not")
    eq(s.one("SELECT count(*) FROM tg_updates WHERE update_id IN"
             " (700000011, 700000012, 700000013)"), "0", "an answer-only turn writes no row")


@test
def returning_user_keeps_one_row_and_chosen_language(s):
    u = fixture("start")
    u["update_id"] = 700000020
    u["message"]["from"]["id"] = u["message"]["chat"]["id"] = 551000888
    s.webhook(u)
    s.sql("UPDATE users SET lang = 'en', lang_chosen = true WHERE telegram_id = 551000888")
    u["update_id"] = 700000021
    r = s.webhook(u)
    check("Main menu" in r.json()["text"], "chosen language kept")
    eq(s.one("SELECT count(*) FROM users WHERE telegram_id = 551000888"), "1", "one row")


@test
def profile_is_written_only_when_it_changes(s):
    u = fixture("start")
    u["update_id"] = 700000030
    u["message"]["from"]["id"] = u["message"]["chat"]["id"] = 551000999
    s.webhook(u)
    s.sql("UPDATE users SET updated_at = '2020-01-01' WHERE telegram_id = 551000999")
    u["update_id"] = 700000031
    u["message"]["text"] = "/help"
    u["message"]["entities"][0]["length"] = 5
    r = s.webhook(u)
    eq(r.status, 200, "help answered")
    eq(r.json().get("method"), "sendMessage", "help answered in the webhook response")
    eq(s.one("SELECT updated_at::date FROM users WHERE telegram_id = 551000999"), "2020-01-01",
       "an unchanged profile is not rewritten")
    u["update_id"] = 700000032
    u["message"]["from"]["username"] = "renamed_user"
    s.webhook(u)
    eq(s.one("SELECT username || ' ' || (updated_at > '2021-01-01') FROM users"
             " WHERE telegram_id = 551000999"), "renamed_user true", "a changed profile is stored")


@test
def edited_message_and_unknown_kinds_are_200_and_ignored(s):
    seq = s.seq()
    r = s.webhook(fixture("edited_message"))
    eq(r.status, 200, "status for edited_message")
    check("method" not in r.json(), "no reply to an edited message")
    r = s.webhook(fixture("inline_query"))
    eq(r.status, 200, "status for inline_query")
    eq(r.json().get("method"), "answerInlineQuery", "an inline query is answered")
    eq(r.json().get("results"), [], "with nothing for an unknown code")
    r = s.webhook({"update_id": 700000030, "poll": {"id": "1"}})
    eq(r.status, 200, "status for an unknown kind")
    eq([c for c in s.calls(seq) if c["params"].get("chat_id") == 184467301], [],
       "no Bot API calls")


@test
def group_message_gets_private_only_notice_once(s):
    seq = s.seq()
    u = fixture("group_message")
    r1 = s.webhook(u)
    u2 = copy.deepcopy(u)
    u2["update_id"] += 1000
    r2 = s.webhook(u2)
    check("private" in r1.json().get("text", ""), "notice: %r" % r1.body)
    check("method" not in r2.json(), "second group message is quiet")
    eq(s.one("SELECT count(*) FROM group_notices WHERE chat_id = -1001987654321"), "1",
       "the group is remembered as told")
    eq([c for c in s.calls(seq) if c["params"].get("chat_id") == -1001987654321], [],
       "no outbound calls to the group")


@test
def kicked_marks_user_blocked(s):
    s.webhook(fixture("start"))
    r = s.webhook(fixture("my_chat_member_kicked"))
    eq(r.status, 200, "status")
    eq(s.one("SELECT is_blocked FROM users WHERE telegram_id = 184467301"), "t", "blocked")
    u = fixture("text")
    u["update_id"] = 700000040
    s.webhook(u)
    eq(s.one("SELECT is_blocked FROM users WHERE telegram_id = 184467301"), "f",
       "writing again unblocks")


@test
def healthz_up_then_503_with_database_down_then_back(s):
    r = s.http("GET", "/healthz")
    eq(r.status, 200, "status")
    eq(r.json(), {"ok": True}, "an anonymous caller learns only ok")
    r = s.http("GET", "/healthz", headers=s.admin_headers())
    eq(r.json()["database"], "up", "details for the operator")
    check(r.json()["function"] and r.json()["fal_mode"], "which function, which FAL mode")
    s.pg("stop")
    try:
        r = s.http("GET", "/healthz")
        eq(r.status, 503, "status with the database down")
        eq(r.json(), {"ok": False}, "anonymous: only ok")
        eq(s.http("GET", "/healthz", headers=s.admin_headers()).json()["database"], "down",
           "database")
        u = fixture("start")
        u["update_id"] = 700000050
        eq(s.webhook(u).status, 500, "update while the database is down (Telegram retries)")
    finally:
        s.pg("start")
    wait_for(lambda: s.http("GET", "/healthz").status == 200, 5, what="healthz 200 after restart")
    u = fixture("start")
    u["update_id"] = 700000050
    eq(s.webhook(u).status, 200, "the same update after the restart")


def schema_hash(s):
    out = subprocess.run(["pg_dump", "--schema-only", "--no-owner", s.dburl],
                         capture_output=True, text=True, check=True).stdout
    # pg_dump marks its output with a random "\\restrict" key: not schema
    out = "\n".join(l for l in out.splitlines() if not l.startswith(("\\restrict", "\\unrestrict")))
    return hashlib.sha256(out.encode()).hexdigest()


@test
def migrations_are_idempotent_and_status_lists_them(s):
    h1 = schema_hash(s)
    r = s.migrate()
    eq(r.returncode, 0, "migrate again: " + r.stderr)
    check("0 newly applied" in r.stdout, r.stdout)
    eq(schema_hash(s), h1, "schema after a second migrate")
    r = s.migrate("status")
    check("applied  001_initial.sql" in r.stdout, r.stdout)
    files = [f for f in os.listdir(os.path.join(ROOT, "schema")) if f.endswith(".sql")]
    eq(s.one("SELECT count(*) FROM schema_migrations"), str(len(files)), "each recorded once")


@test
def schema_has_the_seed_fields_enums_and_indexes(s):
    cols = {r[0] for r in s.sql("SELECT column_name FROM information_schema.columns "
                                "WHERE table_name = 'avatars'")}
    seed = {"training_type", "fal_request_id", "learning_rate", "trigger_phrase", "steps",
            "multiresolution_training", "subject_crop", "create_masks", "captioning",
            "finetune_type", "finetune_comment", "diffusers_lora_file_url", "config_file_url",
            "training_logs", "training_error", "webhook_url", "last_status_check",
            "fal_response_data", "fal_priority"}
    check(seed <= cols, "missing FAL fields: %s" % (seed - cols))
    enums = {r[0]: r[1] for r in s.sql(
        "SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) "
        "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname")}
    eq(enums.get("training_type"), "portrait,style", "training_type")
    eq(enums.get("finetune_type"), "full,lora", "finetune_type")
    eq(enums.get("fal_priority"), "speed,quality,high_res_only", "fal_priority")
    check("avatar_status" in enums and "gender" in enums, "avatar_status and gender enums")
    idx = {r[0]: r[1] for r in s.sql("SELECT indexname, indexdef FROM pg_indexes "
                                     "WHERE tablename = 'avatars'")}
    check("UNIQUE" in idx.get("ix_avatars_fal_request_id", ""), "unique fal_request_id index")
    check("ix_avatars_training_type" in idx, "training_type index")
    tables = {r[0] for r in s.sql("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    for t in ("users", "avatars", "avatar_photos", "conversations", "tg_updates", "fal_events",
              "notifications", "generations", "generated_images", "schema_migrations"):
        check(t in tables, "table %s" % t)


@test
def schema_refuses_bad_states(s):
    uid = s.one("INSERT INTO users (telegram_id) VALUES (99000001) RETURNING id")
    bad = [
        "INSERT INTO avatars (user_id, name) VALUES (%s, '')" % uid,
        "INSERT INTO avatars (user_id, name, gender, status) VALUES (%s, 'a', 'male', 'completed')" % uid,
        "INSERT INTO avatars (user_id, name, gender, status) VALUES (%s, 'a', 'male', 'training')" % uid,
        "INSERT INTO avatars (user_id, name, status) VALUES (%s, 'a', 'queued')" % uid,
        "INSERT INTO users (telegram_id) VALUES (99000001)",
        "INSERT INTO avatars (user_id, name) VALUES (123456789, 'orphan')",
    ]
    for q in bad:
        r = subprocess.run(["psql", s.dburl, "-X", "-q", "-c", q], capture_output=True, text=True)
        check(r.returncode != 0, "accepted: " + q)


@test
def api_routes_need_the_admin_token(s):
    uid = s.one("INSERT INTO users (telegram_id) VALUES (99000002) RETURNING id")
    aid = s.one("INSERT INTO avatars (user_id, name, gender) VALUES (%s, 'Ann', 'female') "
                "RETURNING id" % uid)
    routes = [("GET", "/api/avatars/%s/status" % aid), ("POST", "/api/avatars/%s/train" % aid),
              ("POST", "/api/check-status")]
    for method, path in routes:
        for h in ({}, {"Authorization": "Bearer wrong-token-wrong-token"},
                  {"Authorization": s.admin}, {"Authorization": "Basic " + s.admin}):
            r = s.http(method, path, headers=h, raw=b"" if method == "POST" else None)
            eq(r.status, 401, "%s %s with %r" % (method, path, h))
            eq(r.json()["error"]["code"], "unauthorized", "error code")
    r = s.http("GET", "/api/avatars/%s/status" % aid, headers=s.admin_headers())
    eq(r.status, 200, "status with the token")
    eq(r.json()["name"], "Ann", "avatar name")
    eq(r.json()["status"], "draft", "avatar status")
    r = s.http("GET", "/api/avatars/987654321/status", headers=s.admin_headers())
    eq(r.status, 404, "unknown avatar")
    r = s.http("POST", "/api/avatars/987654321/train", headers=s.admin_headers(), raw=b"")
    eq(r.status, 404, "train an unknown avatar")
    r = s.http("POST", "/api/avatars/%s/train" % aid, headers=s.admin_headers(), raw=b"")
    eq(r.status, 409, "train an avatar that is not queued")
    r = s.http("GET", "/api/avatars/abc/status", headers=s.admin_headers())
    eq(r.status, 400, "non-numeric id")
    r = s.http("POST", "/api/check-status", headers=s.admin_headers(), raw=b"")
    eq(r.status, 200, "check-status with the token")


@test
def unknown_routes_and_wrong_methods_get_json_errors(s):
    r = s.http("GET", "/nope")
    eq(r.status, 404, "unknown path")
    eq(r.json()["error"]["code"], "not_found", "code")
    r = s.http("GET", "/telegram/webhook")
    eq(r.status, 405, "GET on the webhook")
    check("POST" in r.headers.get("Allow", ""), "Allow header")
    r = s.http("GET", "/fal/webhook")
    eq(r.status, 405, "GET on the FAL webhook")
    r = s.http("DELETE", "/api/check-status", headers=s.admin_headers())
    eq(r.status, 405, "DELETE on check-status")


@test
def fal_webhook_stores_event_and_refuses_garbage(s):
    body = {"request_id": "req-foundation-1", "gateway_request_id": "req-foundation-1",
            "status": "OK", "payload": {"diffusers_lora_file": {"url": "https://x/y"}}}
    path = "/fal/webhook?avatar=77&token=%s" % s.issue_fal_token("avatar", 77)
    r = s.fal_post(path, body)
    eq(r.status, 200, "status")
    eq(r.json()["outcome"], "unknown_request", "an authentic call about no request we know")
    eq(s.one("SELECT status FROM fal_events WHERE request_id = 'req-foundation-1'"), "OK", "event")
    for raw in (b"nope", b"[]", b'{"status":"OK"}', b'{"request_id":5,"status":"OK"}',
                b'{"request_id":"a","status":"OK","payload":7}'):
        r = s.http("POST", "/fal/webhook", raw=raw)
        eq(r.status, 401, "without a token, %r is refused unread" % raw)
        r = s.fal_post(path, raw, signed=False, headers=s.fal_signed("a", raw))
        eq(r.status, 400, "with the token and a signature, %r is malformed" % raw)


@test
def zips_are_streamed_from_the_database_and_nothing_else_is_served(s):
    """A training's zip is a large object (schema/013): served whole, in
    chunks, to whoever has its 128-bit name while its training needs it;
    nothing in MEDIA_DIR but test mode's placeholders is ever served."""
    import hashlib
    # 720,000 bytes (more than two chunks of 256 KB), made alike here and there
    data = b"".join(hashlib.md5(str(i).encode()).digest() for i in range(1, 45001))
    uid = s.one("INSERT INTO users (telegram_id, first_name) VALUES (760999001, 'Z')"
                " ON CONFLICT (telegram_id) DO UPDATE SET first_name = 'Z' RETURNING id")
    name = "abc123DEF456ghi789_-xy.zip"
    oid = s.one("SELECT lo_from_bytea(0, decode(string_agg(md5(i::text), '' ORDER BY i), 'hex'))"
                " FROM generate_series(1, 45000) i")
    aid = s.one("INSERT INTO avatars (user_id, name, gender, zip_path, zip_oid) VALUES"
                " (%s, 'Zip', 'female', '%s', %s) RETURNING id" % (uid, name, oid))
    s.sql("UPDATE avatars SET status = 'training', fal_request_id = 'req-zip-1'"
          " WHERE id = %s" % aid)
    r = s.http("GET", "/media/" + name)
    eq(r.status, 200, "the zip")
    eq(r.headers.get("Content-Type"), "application/zip", "type")
    eq(int(r.headers.get("Content-Length")), len(data), "length")
    check(r.body == data, "every byte, in order (%d of %d)" % (len(r.body), len(data)))
    for n in (name, "abc123.zip", ".part-abc123", "notes.txt"):
        with open(os.path.join(s.var, "media", n), "wb") as f:
            f.write(b"PK\x05\x06" + b"\0" * 18)
    r = s.http("GET", "/media/")
    check(r.status in (403, 404), "no listing: %d" % r.status)
    for n in ("abc123.zip", ".part-abc123", "notes.txt", "placeholder/", "A" * 22 + ".zip",
              "../" + name, name + "x"):
        code = s.http("GET", "/media/" + n).status
        check(code in (403, 404), "only kept zips are served: %s → %d" % (n, code))
    eq(s.http("GET", "/media/placeholder/placeholder-1.jpg").status, 200, "and placeholders")
    eq(s.http("POST", "/media/" + name, raw=b"").status, 405, "GET only")
    s.sql("UPDATE avatars SET status = 'error' WHERE id = %s" % aid)
    eq(s.http("GET", "/media/" + name).status, 404, "not once its training is over")
    s.sql("UPDATE avatars SET zip_path = NULL WHERE id = %s" % aid)
    eq(s.one("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = %s" % oid), "0",
       "clearing zip_path drops the data with it")
    for n in (name, "abc123.zip", ".part-abc123", "notes.txt"):
        os.unlink(os.path.join(s.var, "media", n))


@test
def function_runs_as_plain_cgi(s):
    r = s.cli("check-status", env={"REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz",
                                   "GATEWAY_INTERFACE": "CGI/1.1"})
    eq(r.returncode, 0, "exit: " + r.stderr)
    check(r.stdout.startswith("Status: 200 OK\n"), "CGI status line: %r" % r.stdout[:40])
    check('"ok":true' in r.stdout, "body: %r" % r.stdout)
    u = fixture("start")
    u["update_id"] = 700000060
    # a new person: the turn writes (their row and the claim), as CGI too
    u["message"]["from"]["id"] = u["message"]["chat"]["id"] = 551000901
    import json
    body = json.dumps(u)
    r = s.cli("tg-update", env={"REQUEST_METHOD": "POST", "REQUEST_URI": "/telegram/webhook",
                                "CONTENT_LENGTH": str(len(body.encode())),
                                "CONTENT_TYPE": "application/json",
                                "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": s.secret}, stdin=body)
    check(r.stdout.startswith("Status: 200 OK"), "tg-update as CGI: %r" % r.stdout[:80])
    check('"method":"sendMessage"' in r.stdout, "menu in the CGI answer")
    eq(s.one("SELECT count(*) FROM tg_updates WHERE update_id = 700000060"), "1", "stored")


@test
def command_line_modes(s):
    r = s.cli("check-status", "--help")
    eq(r.returncode, 0, "--help exit")
    check("--all" in r.stdout, "usage mentions --all")
    r = s.cli("check-status", "--all")
    eq(r.returncode, 0, "--all exit: " + r.stderr)
    summary = json.loads(r.stdout)
    for k in ("checked", "completed", "failed", "notifications_sent", "generations_checked",
              "generations_timed_out"):
        check(isinstance(summary.get(k), int), "--all prints %s: %r" % (k, summary))
    r = s.cli("check-status", "--avatar", "987654321")
    eq(r.returncode, 3, "unknown avatar exit")
    check("avatar 987654321: not found" in r.stderr, "says so: %r" % r.stderr)
    r = s.cli("start-training", "--avatar", "x")
    eq(r.returncode, 2, "bad argument exit")
    check("usage: start-training" in r.stderr, "prints its usage: %r" % r.stderr)
    r = s.cli("start-training", "--avatar", "987654321")
    eq((r.returncode, r.stdout.strip()), (3, "avatar 987654321: not found"), "unknown avatar")
    r = s.cli("start-training", "--pending")
    eq(r.returncode, 0, "--pending: " + r.stderr)
    check(r.stdout.startswith("started "), "says how many: %r" % r.stdout)
    r = s.cli("tg-update", "--get-me")
    eq(r.returncode, 0, "getMe: " + r.stderr)
    eq(r.stdout.strip(), "bot: @aisha_sandbox_bot", "the bot's name")


@test
def config_errors_name_the_variable_and_hide_secrets(s):
    r = s.cli("check-status", "--all", env={"PHOTOS_MIN": "abc"})
    eq(r.returncode, 78, "exit code for bad config")
    check("PHOTOS_MIN" in r.stderr, "names the variable: %r" % r.stderr)
    r = s.cli("check-status", "--all", env={"FAL_TRAINING_TEST_MODE": "false", "FAL_API_KEY": ""})
    eq(r.returncode, 78, "test mode off without a key")
    r = s.cli("tg-update", "--check-config")
    eq(r.returncode, 0, "check-config")
    for secret in (s.secret, s.admin, s.token, "test-fal-webhook-secret"):
        check(secret not in r.stdout + r.stderr, "a secret was printed")
    check("TELEGRAM_WEBHOOK_SECRET=(set)" in r.stdout, r.stdout)


@test
def lighttpd_config_checks(s):
    r = subprocess.run(["lighttpd", "-tt", "-f", os.path.join(ROOT, "lighttpd.conf")],
                       cwd=ROOT, capture_output=True, text=True)
    eq(r.returncode, 0, "lighttpd -tt: " + r.stderr)


@test
def logs_are_one_line_per_event_without_secrets(s):
    log = s.function_log()
    check("INFO tg-update" in log, "tg-update logged")
    for secret in (s.secret, s.admin, s.token):
        check(secret not in log, "a secret reached the log")


# --- updates that cannot be handled never loop (Telegram would re-send them
# and back off the whole webhook) ---------------------------------------------

POISON_TRIGGERS = """
CREATE OR REPLACE FUNCTION test_poison_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.first_name = 'Poison' THEN
    RAISE EXCEPTION 'poisoned profile' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.first_name = 'PoisonNumber' THEN
    RAISE EXCEPTION 'poisoned number' USING ERRCODE = 'numeric_value_out_of_range';
  END IF;
  IF NEW.first_name = 'TryAgain' THEN
    RAISE EXCEPTION 'try again' USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER test_poison_user BEFORE INSERT OR UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION test_poison_user();
"""


def failed_rows(s, update_id):
    return s.sql("SELECT kind, error, length(body) FROM failed_updates WHERE update_id = %d"
                 % update_id)


def next_message_is_answered(s, u, what):
    seq = s.seq()
    u.text("/help")
    check(any("Как это работает" in t or "How it works" in t for t in u.texts(since=seq)),
          "the person's next message is answered after %s: %r" % (what, u.texts(since=seq)))


@test
def update_with_a_refused_field_is_recorded_answered_200_and_not_retried(s):
    u = User(s, 650000001, "ru", "Марат")
    u.text("/start")
    upd = {"update_id": 760000001, "message": {
        "message_id": 5, "from": u.user, "chat": {"id": "not-a-number", "type": "private"},
        "date": 1, "text": "привет"}}
    r = s.webhook(upd)
    eq(r.status, 200, "a refused update is answered 200 (Telegram would re-send a 4xx)")
    rows = failed_rows(s, 760000001)
    eq(len(rows), 1, "recorded in failed_updates")
    eq(rows[0][0], "message", "its kind")
    check("id" in rows[0][1], "the parser's reason: %r" % rows[0][1])
    check(int(rows[0][2]) > 50, "the body is kept")
    eq(s.webhook(upd).status, 200, "a repeated delivery")
    eq(len(failed_rows(s, 760000001)), 1, "recorded once")
    next_message_is_answered(s, u, "a refused field")


@test
def turn_that_breaks_a_constraint_or_bad_data_is_recorded_the_person_told(s):
    u = User(s, 650000002, "en", "Lena")
    u.text("/start")
    s.sql(POISON_TRIGGERS)
    try:
        seq = s.seq()
        poisoned = dict(u.user, first_name="Poison")
        upd = {"update_id": 760000002, "message": {
            "message_id": 6, "from": poisoned, "chat": u.chat, "date": 1, "text": "hi",
            "entities": []}}
        r = s.webhook(upd)
        eq(r.status, 200, "a constraint violation is answered 200")
        rows = failed_rows(s, 760000002)
        eq(len(rows), 1, "recorded")
        check("23514" in rows[0][1], "the SQLSTATE is kept: %r" % rows[0][1])
        ans = r.json()
        eq(ans.get("method"), "sendMessage", "the person hears about it")
        check("Something went wrong" in ans.get("text", ""), "in English: %r" % ans.get("text"))
        check(ans.get("reply_markup"), "with the menu")
        eq(s.one("SELECT first_name FROM users WHERE telegram_id = %d" % u.uid), "Lena",
           "nothing of the failed turn was kept")
        r = s.webhook({"update_id": 760000003, "message": {
            "message_id": 7, "from": dict(u.user, first_name="PoisonNumber"), "chat": u.chat,
            "date": 1, "text": "x"}})
        eq(r.status, 200, "a data exception is answered 200")
        eq(len(failed_rows(s, 760000003)), 1, "recorded")
        # a transient failure is answered 5xx, so Telegram delivers it again
        upd4 = {"update_id": 760000004, "message": {
            "message_id": 8, "from": dict(u.user, first_name="TryAgain"), "chat": u.chat,
            "date": 1, "text": "/help",
            "entities": [{"offset": 0, "length": 5, "type": "bot_command"}]}}
        r = s.webhook(upd4)
        eq(r.status, 500, "a serialization failure is transient")
        eq(failed_rows(s, 760000004), [], "a transient failure is not recorded")
    finally:
        s.sql("DROP TRIGGER test_poison_user ON users")
    r = s.webhook(upd4)
    eq(r.status, 200, "the re-delivery is handled")
    eq(r.json().get("method"), "sendMessage", "and answered")
    check(seq, "seq")
    next_message_is_answered(s, u, "a constraint violation")


# --- the stand-ins refuse what the real services refuse ------------------------------

def tg_call(s, method, params):
    import json as _json
    import urllib.error
    import urllib.request
    rq = urllib.request.Request("http://127.0.0.1:%d/bot%s/%s" % (s.tg_port, s.token, method),
                                data=_json.dumps(params).encode(),
                                headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(rq, timeout=30) as r:
            return r.status, _json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, _json.loads(e.read())


@test
def telegram_stand_in_refuses_what_telegram_refuses(s):
    chat = 650000099
    ok, m = tg_call(s, "sendMessage", {"chat_id": chat, "text": "<b>hi</b> &amp; bye",
                                       "parse_mode": "HTML"})
    eq(ok, 200, "good HTML")
    mid = m["result"]["message_id"]
    jpeg = "http://127.0.0.1:%d/_media/x.jpg" % s.fal_port
    cases = [
        ("sendMessage", {"chat_id": chat, "text": "<x>hi</x>", "parse_mode": "HTML"},
         "can't parse entities"),
        ("sendMessage", {"chat_id": chat, "text": "<b>hi", "parse_mode": "HTML"},
         "can't parse entities"),
        ("sendMessage", {"chat_id": chat, "text": "Tom & Jerry", "parse_mode": "HTML"},
         "can't parse entities"),
        ("sendMessage", {"chat_id": chat, "text": "a < b", "parse_mode": "HTML"},
         "can't parse entities"),
        ("sendMessage", {"chat_id": chat, "text": "я" * 4097}, "message is too long"),
        ("sendMessage", {"chat_id": chat, "text": ""}, "message text is empty"),
        ("sendMessage", {"chat_id": chat, "text": "x", "reply_markup": {"inline_keyboard": [[
            {"text": "b", "callback_data": "d" * 65}]]}}, "BUTTON_DATA_INVALID"),
        ("sendPhoto", {"chat_id": chat, "photo": jpeg, "caption": "c" * 1025},
         "caption is too long"),
        ("sendDocument", {"chat_id": chat, "document": jpeg}, "wrong type of the web page"),
        ("sendMediaGroup", {"chat_id": chat, "media": [{"type": "photo", "media": jpeg}]},
         "must be 2-10"),
        ("sendPhoto", {"chat_id": chat, "photo": "http://127.0.0.1:1/nothing.jpg"},
         "failed to get HTTP URL content"),
        ("editMessageText", {"chat_id": chat, "message_id": mid, "text": "<b>hi</b> &amp; bye",
                             "parse_mode": "HTML"}, "message is not modified"),
        ("answerCallbackQuery", {"callback_query_id": "1", "text": "t" * 201}, "MESSAGE_TOO_LONG"),
        ("answerCallbackQuery", {"callback_query_id": "never-delivered-1"},
         "query ID is invalid"),
    ]
    for method, params, want in cases:
        code, ans = tg_call(s, method, params)
        eq(code, 400, "%s %s" % (method, want))
        check(want in ans.get("description", ""), "%s: %r" % (want, ans))
    s.violations()   # provoked on purpose
    ok, _ = tg_call(s, "sendPhoto", {"chat_id": chat, "photo": jpeg, "caption": "ok"})
    eq(ok, 200, "a photo Telegram can fetch")


@test
def a_callback_query_answered_late_or_twice_is_too_old(s):
    u = User(s, 650000098, "ru", "Ира")
    u.text("/start")
    cq = u.callback_update("v1:help")
    u.send(cq)
    code, ans = tg_call(s, "answerCallbackQuery", {"callback_query_id": cq["callback_query"]["id"]})
    eq(code, 400, "a query is answered once")
    check("query is too old" in ans["description"], ans["description"])
    s.violations()
    s.ctl("/_ctl/config", {"query_max_age": 0})
    try:
        seq = s.seq()
        u.send(u.callback_update("v1:help"))
        late = [c for c in s.calls(seq, "answerCallbackQuery")]
        check(late and all(c["status"] == 400 and "too old" in c["description"] for c in late),
              "an answer after the age limit is refused: %r" % late)
        s.violations()
    finally:
        s.ctl("/_ctl/config", {"query_max_age": 15})


@test
def fal_stand_in_checks_each_models_input(s):
    import json as _json
    import urllib.error
    import urllib.request

    def submit(endpoint, body):
        rq = urllib.request.Request("http://127.0.0.1:%d/%s" % (s.fal_port, endpoint),
                                    data=_json.dumps(body).encode(),
                                    headers={"Content-Type": "application/json",
                                             "Authorization": "Key test-fal-key"})
        try:
            with urllib.request.urlopen(rq, timeout=10) as r:
                return r.status, _json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, _json.loads(e.read())
    ultra = "fal-ai/flux-pro/v1.1-ultra-finetuned"
    good = {"prompt": "p", "finetune_id": "ft", "finetune_strength": 1.1, "num_images": 1}
    eq(submit(ultra, good)[0], 200, "a documented input")
    for bad, field in ((dict(good, enable_safety_checker=True), "enable_safety_checker"),
                       (dict(good, finetune_strength=3), "finetune_strength"),
                       (dict(good, num_images="1"), "num_images"),
                       (dict(good, safety_tolerance=2), "safety_tolerance"),
                       ({"prompt": "p", "finetune_strength": 1.0}, "finetune_id")):
        code, ans = submit(ultra, bad)
        eq(code, 422, "refused: %s" % field)
        check(any(d["loc"][-1] == field for d in ans["detail"]), "names %s: %r" % (field, ans))
    code, ans = submit("fal-ai/flux-lora-fast-training", {"images_data_url": "https://x/z.zip",
                                                          "steps": 0})
    eq(code, 422, "steps below 1")
    code, _ = submit("fal-ai/flux-lora", {"prompt": "p", "image_size": "huge"})
    eq(code, 422, "an unknown image size")
    code, _ = submit("fal-ai/no-such-model", {"prompt": "p"})
    eq(code, 404, "an unknown model")


@test
def cron_install_adds_the_jobs_once_and_keeps_other_lines(s):
    import tempfile
    d = tempfile.mkdtemp()
    tab = os.path.join(d, "tab")
    with open(os.path.join(d, "crontab"), "w") as f:      # a crontab(1) of our own
        f.write('#!/bin/sh\nif [ "$1" = -l ]; then cat "%s" 2>/dev/null || exit 1;'
                ' else cat > "%s"; fi\n' % (tab, tab))
    os.chmod(os.path.join(d, "crontab"), 0o755)
    with open(tab, "w") as f:
        f.write("0 3 * * * /usr/local/bin/backup\n")
    env = dict(os.environ, PATH=d + ":" + os.environ.get("PATH", ""))
    for _ in range(2):
        r = subprocess.run(["sh", os.path.join(ROOT, "cron", "install.sh")], env=env,
                           capture_output=True, text=True)
        eq(r.returncode, 0, "install.sh: " + r.stderr)
    text = open(tab).read()
    check("0 3 * * * /usr/local/bin/backup" in text, "the other job is kept: %r" % text)
    eq(text.count("# >>> aisha %s" % ROOT), 1, "one block after two installs")
    jobs = [line for line in text.splitlines() if "cron/run.sh" in line and not
            line.startswith("#")]
    eq(len(jobs), 3, "status every minute, startup at boot and every 5 minutes: %r" % jobs)
    check(all(("sh %s/cron/run.sh" % ROOT) in j for j in jobs), "paths filled in: %r" % jobs)
    check("@ROOT@" not in text, "no placeholder left")


@test
def a_request_id_with_newlines_cannot_forge_a_log_line(s):
    """A request id nothing signs (verification off, a leaked token) is
    logged as the job's context: escaped."""
    forged = "x\n2026-01-01T00:00:00Z ERROR fal-webhook FORGED\r\u0007"
    body = {"request_id": forged, "status": "OK", "payload": {}}
    path = "/fal/webhook?avatar=78&token=%s" % s.issue_fal_token("avatar", 78)
    s.restart_lighttpd(FAL_WEBHOOK_VERIFY="false")
    try:
        r = s.fal_post(path, body, signed=False)
    finally:
        s.restart_lighttpd()
    eq(r.status, 200, "a token, and nobody asks for a signature: %s" % r.body)
    log = s.function_log()
    check("FORGED" in log, "the attempt is logged")
    for line in log.splitlines():
        check(not line.startswith("2026-01-01T00:00:00Z"), "a forged line: %r" % line)
        check("\r" not in line and "\x07" not in line, "a control character: %r" % line)
    check("\\x0a2026-01-01" in log, "the newline written as \\x0a")


@test
def anonymous_fal_webhooks_keep_only_a_small_summary_for_a_week(s):
    rid = "anon-%d" % time.time_ns()
    big = "x" * (200 * 1024)
    for i in range(5):
        r = s.http("POST", "/fal/webhook", {"request_id": rid, "status": "OK",
                                            "payload": {"junk": big}},
                   headers={"X-Fal-Webhook-Request-Id": rid})
        eq(r.status, 401, "no token")
    sizes = [int(x[0]) for x in s.sql("SELECT octet_length(payload::text) FROM fal_events"
                                       " WHERE request_id = '%s'" % rid)]
    eq(len(sizes), 5, "each refused call audited")
    check(max(sizes) < 1200, "only the reason and a 1 KB prefix kept: %r" % sizes)
    r = s.http("POST", "/fal/webhook", raw=b'{"request_id":"a","status":"OK","payload":{"j":"'
               + b"x" * (300 << 10) + b'"}}')
    eq(r.status, 413, "a body larger than FAL sends is refused unread")
    s.sql("INSERT INTO fal_events (request_id, authentic, outcome, received_at) VALUES"
          " ('old-anon', false, 'bad_token', now() - interval '8 days'),"
          " ('old-real', true, 'completed', now() - interval '8 days')")
    eq(s.cli("check-status", "--startup").returncode, 0, "the startup checker")
    eq(s.sql("SELECT request_id FROM fal_events WHERE request_id LIKE 'old-%' ORDER BY 1"),
       [["old-real"]], "refused calls are kept 7 days, authentic ones 90")


@test
def the_database_pipeline_keeps_a_transaction_whole(s):
    # tests/unit/test_db.c against this database: deferred writes fail the
    # commit and leave nothing; a lost connection before anything ran is
    # replaced; too many statements fail cleanly (it skips without a database)
    prog = os.path.join(s.bindir, "..", "tests", "test_db")
    check(os.path.exists(prog), "build the unit tests first (make test-unit): " + prog)
    r = subprocess.run([prog], env=dict(os.environ, AISHA_TEST_DATABASE_URL=s.dburl),
                       capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])
    out = r.stdout + r.stderr
    check(re.search(r"PASSED  \] [1-9][0-9]* test", out) and "SKIPPED" not in out,
          out[-1500:])
