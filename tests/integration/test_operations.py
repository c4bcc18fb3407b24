"""Operations: what an operator of a small server relies on — lighttpd's own
errors in the API's JSON shape, request ids, /healthz that fails for a
pending migration or a stopped status checker, JSON logs that survive
copytruncate, CGI routing by PATH_INFO, cron's one line per run."""
import json
import os
import re
import shutil
import socket
import subprocess
import time

from harness import ROOT, check, eq, fixture, test, wait_for


def raw_request(s, data):
    """Bytes straight to lighttpd: what curl -X POST without -d sends."""
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(data)
        out = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


@test
def lighttpd_own_errors_are_json(s):
    head, body = raw_request(s, b"POST /api/check-status HTTP/1.1\r\nHost: x\r\n"
                             b"Authorization: Bearer " + s.admin.encode() +
                             b"\r\nConnection: close\r\n\r\n")
    check(head.startswith("HTTP/1.1 411"), "a POST without Content-Length: %r" % head[:40])
    check("Content-Type: application/json" in head, "JSON, not HTML: %r" % head)
    err = json.loads(body)
    eq(err["ok"], False, "ok")
    eq(err["error"]["code"], "length_required", "code")
    check("-d ''" in err["error"]["message"], "says how to fix it: %r" % err)
    r = s.http("GET", "/media/not-a-zip.txt")
    check(r.status in (403, 404), "an unknown media path is refused: %d" % r.status)
    eq(r.json()["ok"], False, "refusal in JSON")
    # with the body curl sends for -d '', the same call works
    r = s.http("POST", "/api/check-status", raw=b"", headers=s.admin_headers())
    eq(r.status, 200, "POST with an empty body")
    eq(r.json()["ok"], True, "check-status ran")


@test
def every_answer_names_its_request_id(s):
    r = s.http("GET", "/healthz")
    rid = r.headers.get("X-Request-Id", "")
    check(re.fullmatch(r"\d+-\d+", rid), "our own id: %r" % rid)
    r = s.http("GET", "/healthz", headers={"X-Request-Id": "proxy-42.abc_Z"})
    eq(r.headers.get("X-Request-Id"), "proxy-42.abc_Z", "a front proxy's id is kept")
    for bad in ("a b", "x" * 60, "id\"}", "ü"):
        r = s.http("GET", "/healthz", headers={"X-Request-Id": bad.encode("utf-8").decode("latin-1")})
        check(re.fullmatch(r"\d+-\d+", r.headers.get("X-Request-Id", "")),
              "a hostile id %r is replaced: %r" % (bad, r.headers.get("X-Request-Id")))
    u = fixture("start")
    u["update_id"] = 791000001
    r = s.http("POST", "/telegram/webhook", u, {"X-Telegram-Bot-Api-Secret-Token": s.secret,
                                                 "X-Request-Id": "trace-791000001"})
    eq(r.status, 200, "update")
    wait_for(lambda: "req=trace-791000001 upd=791000001" in s.function_log(), 5,
             what="the update's log line with the request id")


def health(s):
    r = s.http("GET", "/healthz", headers=s.admin_headers())
    return r.status, r.json()


@test
def healthz_fails_while_a_migration_is_pending(s):
    code, h = health(s)
    eq(code, 200, "healthy first: %r" % h)
    latest = h["schema_wanted"]
    eq(h["schema"], latest, "the database is at this build's schema")
    row = s.sql("SELECT version, name, checksum, applied_at::text FROM schema_migrations"
                " WHERE version = :'p1'", latest)[0]
    s.sql("DELETE FROM schema_migrations WHERE version = :'p1'", latest)
    try:
        code, h = health(s)
        eq(code, 503, "a pending migration fails healthz")
        eq(h["ok"], False, "ok")
        check(h["schema"] < latest, "the schema it found: %r" % h)
        eq(s.http("GET", "/healthz").json(), {"ok": False}, "anonymous: only ok")
    finally:
        s.sql("INSERT INTO schema_migrations (version, name, checksum, applied_at)"
              " VALUES (:'p1', :'p2', :'p3', :'p4')", *row)
    eq(health(s)[0], 200, "healthy once it is applied")


@test
def healthz_fails_when_the_status_checker_stopped(s):
    s.restart_lighttpd(CHECKER_INTERVAL="60")
    try:
        s.sql("DELETE FROM checker_runs")
        s.sql("UPDATE schema_migrations SET applied_at = applied_at - interval '1 day'")
        code, h = health(s)
        eq(code, 503, "never ran, and the install is a day old: %r" % h)
        eq(h["status_checker_ok"], False, "says which")
        r = s.cli("check-status", "--all", env={"CHECKER_INTERVAL": "60"})
        eq(r.returncode, 0, "status pass: " + r.stderr)
        code, h = health(s)
        eq(code, 200, "after a run: %r" % h)
        check(0 <= h["status_checker_age_s"] < 30, "its age: %r" % h)
        s.sql("UPDATE checker_runs SET last_run_at = now() - interval '181 seconds'"
              " WHERE name = 'status'")
        eq(health(s)[0], 503, "3 intervals and a second without a run")
        s.sql("UPDATE checker_runs SET last_run_at = now() - interval '170 seconds'"
              " WHERE name = 'status'")
        eq(health(s)[0], 200, "within 3 intervals")
        eq(s.one("SELECT runs >= 1 AND failures = 0 FROM checker_runs WHERE name = 'status'"),
           "t", "runs counted")
    finally:
        s.restart_lighttpd()


@test
def json_logs_survive_copytruncate(s):
    s.restart_lighttpd(LOG_FORMAT="json")
    path = os.path.join(s.var, "log", "functions.log")
    try:
        u = fixture("start")
        u["update_id"] = 791000010
        s.http("POST", "/telegram/webhook", u, {"X-Telegram-Bot-Api-Secret-Token": s.secret,
                                                 "X-Request-Id": "json-791000010"})

        def line():
            for ln in s.function_log().splitlines():
                if ln.startswith("{") and '"json-791000010"' in ln:
                    return json.loads(ln)
        o = wait_for(line, 5, what="a JSON log line of the update")
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]), "time: %r" % o)
        eq(o["program"], "tg-update", "program")
        check(o["level"] in ("debug", "info", "warn", "error"), "level: %r" % o)
        eq(o["update_id"], 791000010, "the update id as a number")
        check(isinstance(o.get("user"), int) and o.get("event"), "user and event: %r" % o)
        # logrotate's copytruncate: copy, then truncate in place
        shutil.copy(path, path + ".1")
        with open(path, "r+") as f:
            f.truncate(0)
        u["update_id"] = 791000011
        s.http("POST", "/telegram/webhook", u, {"X-Telegram-Bot-Api-Secret-Token": s.secret,
                                                 "X-Request-Id": "json-791000011"})
        wait_for(lambda: "json-791000011" in s.function_log(), 5, what="a line after the rotation")
        with open(path, "rb") as f:
            data = f.read()
        check(b"\0" not in data, "no hole of NULs where the old lines were")
        for ln in data.decode().splitlines():
            json.loads(ln)   # every line whole
        check(os.path.getsize(path + ".1") > 0, "the rotated copy kept the old lines")
    finally:
        s.restart_lighttpd()


@test
def a_cgi_finds_its_route_in_path_info(s):
    u = fixture("start")
    u["update_id"] = 791000020
    # a new person: the turn writes (their row and the claim), as CGI too
    u["message"]["from"]["id"] = u["message"]["chat"]["id"] = 551000902
    body = json.dumps(u)
    r = s.cli("tg-update", env={"REQUEST_METHOD": "POST", "GATEWAY_INTERFACE": "CGI/1.1",
                                "REQUEST_URI": "/cgi-bin/tg-update/telegram/webhook",
                                "SCRIPT_NAME": "/cgi-bin/tg-update",
                                "PATH_INFO": "/telegram/webhook",
                                "CONTENT_LENGTH": str(len(body.encode())),
                                "CONTENT_TYPE": "application/json",
                                "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": s.secret}, stdin=body)
    check(r.stdout.startswith("Status: 200 OK"), "routed by PATH_INFO: %r" % r.stdout[:80])
    eq(s.one("SELECT count(*) FROM tg_updates WHERE update_id = 791000020"), "1", "stored")
    r = s.cli("check-status", env={"REQUEST_METHOD": "GET", "GATEWAY_INTERFACE": "CGI/1.1",
                                   "REQUEST_URI": "/cgi-bin/check-status/nothing",
                                   "SCRIPT_NAME": "/cgi-bin/check-status",
                                   "PATH_INFO": "/nothing"})
    check(r.stdout.startswith("Status: 404"), "an unknown route stays 404: %r" % r.stdout[:60])


@test
def cron_logs_one_timestamped_line_per_run(s):
    envf = os.path.join(s.var, "cron-line.env")
    open(envf, "w").close()
    env = dict(s.env(), AISHA_ENV_FILE=envf, AISHA_VAR_DIR=s.var, AISHA_BIN_DIR=s.bindir)
    log = os.path.join(s.var, "log", "cron.log")
    before = open(log).read() if os.path.exists(log) else ""
    r = subprocess.run(["sh", os.path.join(ROOT, "cron", "run.sh"), "status"], env=env,
                       capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, "cron run: " + r.stderr)
    new = open(log).read()[len(before):]
    check(re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ cron status: exit 0 in \d+ s$", new, re.M),
          "one line for the run: %r" % new[-300:])


def scrape(s, headers=None):
    r = s.http("GET", "/metrics", headers=headers)
    eq(r.status, 200, "metrics: %r" % r.body[:200])
    check(r.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
          "Prometheus text format: %r" % r.headers.get("Content-Type"))
    text = r.body.decode()
    typed, values = set(), {}
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[^"\\\n]*"(,[a-z_]+="[^"\\\n]*")*\})? '
                        r'(-?[0-9.]+(e[+-]?[0-9]+)?|\+Inf)$')
    for ln in text.splitlines():
        if ln.startswith("# TYPE "):
            fam = ln.split()[2]
            check(fam not in typed, "one TYPE line per family: %s" % fam)
            typed.add(fam)
            continue
        if ln.startswith("# HELP "):
            continue
        m = sample.match(ln)
        check(m, "a well-formed sample line: %r" % ln)
        fam = re.sub(r"_(bucket|sum|count)$", "", m.group(1)) \
            if m.group(1).startswith("aisha_request_duration_seconds") else m.group(1)
        check(fam in typed, "its family is typed before it: %r" % ln)
        values[m.group(1) + (m.group(2) or "")] = float(m.group(4))
    return values


@test
def metrics_count_what_happened(s):
    before = scrape(s)
    u = fixture("start")
    u["update_id"] = 791000030
    eq(s.webhook(u).status, 200, "an update")
    eq(s.webhook(u).status, 200, "its second delivery")
    eq(s.webhook(u, secret="wrong").status, 401, "a forged one")
    r = s.cli("tg-update", "--get-me")
    eq(r.returncode, 0, "getMe: " + r.stderr)
    s.cli("check-status", "--all")
    after = scrape(s)

    def grew(key, by=1):
        got = after.get(key, 0) - before.get(key, 0)
        check(got >= by, "%s grew by %s (want %d): before %s after %s" % (
            key, got, by, before.get(key), after.get(key)))
    grew('aisha_updates_total{kind="message",outcome="handled"}')
    grew('aisha_updates_total{kind="message",outcome="duplicate"}')
    grew('aisha_updates_total{kind="unknown",outcome="unauthorized"}')
    grew('aisha_requests_total{program="tg-update",code="200"}', 2)
    grew('aisha_requests_total{program="tg-update",code="401"}')
    grew('aisha_request_duration_seconds_count{program="tg-update"}', 3)
    grew('aisha_request_duration_seconds_bucket{program="tg-update",le="+Inf"}', 3)
    grew('aisha_bot_api_calls_total{method="getMe",result="ok"}')
    eq(after["aisha_up"], 1.0, "up")
    check(any(k.startswith("aisha_avatars{") for k in after) or
          s.one("SELECT count(*) FROM avatars") == "0", "avatars by status and type")
    check("aisha_notifications_pending" in after, "outbox length")
    check("aisha_notifications_oldest_age_seconds" in after, "age of the oldest")
    check(time.time() - after['aisha_checker_last_run_timestamp_seconds{checker="status"}'] < 60,
          "the status checker's last run")
    check("aisha_fal_spend_today_usd" in after, "the day's FAL spend")
    # one file per node: the workers' counts and the command line's add up
    check(os.path.exists(os.path.join(s.var, "run", "metrics-v1.shm")), "the node's counters")


@test
def overview_for_the_operator_only(s):
    eq(s.http("GET", "/api/overview").status, 401, "anonymous")
    r = s.http("GET", "/api/overview", headers=s.admin_headers())
    eq(r.status, 200, "with the token")
    o = r.json()
    for k in ("ok", "avatars", "generations", "oldest", "notifications", "checkers", "fal"):
        check(k in o, "overview has %s: %r" % (k, o))
    eq(set(o["oldest"]), {"training_queued", "training_in_flight", "generation_queued",
                          "generation_in_flight"}, "oldest jobs")
    check("spend_today_usd" in o["fal"] and "budget_usd" in o["fal"], "FAL spend: %r" % o["fal"])


_tid = [671000000]


def queued_avatar(s):
    _tid[0] += 1
    uid, aid = s.queued_avatar(_tid[0], due=False)
    return _tid[0], uid, aid


def op(s, method, path):
    return s.http(method, path, headers=s.admin_headers(), raw=b"" if method == "POST" else None)


def told(s, tid, since, words):
    return any(words in c["params"].get("text", "") for c in s.calls(since, "sendMessage")
               if str(c["params"].get("chat_id")) == str(tid))


@test
def the_operator_cancels_and_retries_an_avatar(s):
    tid, uid, aid = queued_avatar(s)
    st = lambda: s.one("SELECT status FROM avatars WHERE id = %s" % aid)  # noqa: E731
    eq(s.http("POST", "/api/avatars/%s/cancel" % aid, raw=b"").status, 401, "anonymous")
    eq(op(s, "GET", "/api/avatars/%s/cancel" % aid).status, 405, "GET")
    seq = s.seq()
    r = op(s, "POST", "/api/avatars/%s/cancel" % aid)
    eq(r.status, 200, "a queued avatar is cancelled: %r" % r.body)
    eq(st(), "error", "status")
    eq(s.one("SELECT training_error FROM avatars WHERE id = %s" % aid),
       "cancelled by the operator", "why")
    wait_for(lambda: told(s, tid, seq, "Не удалось"), 5, what="the person told")
    eq(op(s, "POST", "/api/avatars/%s/cancel" % aid).status, 409, "cancelled twice")
    # back to the queue, started in the background, submitted to FAL
    seq = s.seq()
    r = op(s, "POST", "/api/avatars/%s/retry" % aid)
    eq(r.status, 202, "retry: %r" % r.body)
    eq(r.json()["status"], "queued", "answer")
    wait_for(lambda: st() == "training", 15, what="the retried avatar at FAL")
    rid = s.one("SELECT fal_request_id FROM avatars WHERE id = %s" % aid)
    eq(op(s, "POST", "/api/avatars/%s/retry" % aid).status, 409, "retry of one in flight")
    # in flight: FAL is asked to drop it, the job ends once
    r = op(s, "POST", "/api/avatars/%s/cancel" % aid)
    eq(r.status, 200, "cancel in flight: %r" % r.body)
    eq(st(), "error", "ended")
    cancels = [c for c in s.calls(seq, "cancel", service="fal")
               if c["params"].get("request_id") == rid]
    eq(len(cancels), 1, "FAL asked to cancel %s" % rid)
    eq(op(s, "POST", "/api/avatars/999999999/cancel").status, 404, "unknown")
    eq(op(s, "POST", "/api/avatars/x1/retry").status, 400, "bad id")


@test
def the_operator_lists_avatars_by_status_and_type(s):
    for _ in range(3):
        queued_avatar(s)
    r = op(s, "GET", "/api/avatars?status=queued&type=portrait&limit=2")
    eq(r.status, 200, "list")
    o = r.json()
    eq(len(o["items"]), 2, "a page of 2")
    check(all(a["status"] == "queued" and a["training_type"] == "portrait" for a in o["items"]),
          "filtered: %r" % o["items"])
    check(o["items"][0]["id"] > o["items"][1]["id"], "newest first")
    nxt = o["next_before"]
    eq(nxt, o["items"][1]["id"], "the cursor")
    r2 = op(s, "GET", "/api/avatars?status=queued&limit=2&before=%d" % nxt).json()
    check(all(a["id"] < nxt for a in r2["items"]), "the next page is below the cursor")
    for bad in ("status=nope", "type=video", "limit=0", "limit=101", "before=-1",
                "status=" + "q" * 100):
        eq(op(s, "GET", "/api/avatars?" + bad).status, 400, "refused: " + bad)
    eq(s.http("GET", "/api/avatars").status, 401, "anonymous")


@test
def the_operator_retries_and_cancels_a_generation(s):
    tid, uid, aid = queued_avatar(s)
    s.sql("UPDATE avatars SET status = 'completed', fal_request_id = 'req-op-%s',"
          " diffusers_lora_file_url = 'https://v3.fal.media/files/x/lora.safetensors',"
          " trigger_phrase = 'TOK', training_completed_at = now() WHERE id = %s" % (aid, aid))
    gid = s.one("INSERT INTO generations (user_id, avatar_id, chat_id, status, prompt, error,"
                " endpoint, seed, completed_at) VALUES (%s, %s, %s, 'error',"
                " 'TOK woman, portrait', 'boom', 'fal-ai/flux-lora', 42, now()) RETURNING id"
                % (uid, aid, tid))
    seq = s.seq()
    r = op(s, "POST", "/api/generations/%s/retry" % gid)
    eq(r.status, 202, "retry: %r" % r.body)
    eq(r.json()["status"], "started", "started now")
    eq(s.one("SELECT status FROM generations WHERE id = %s" % gid), "running", "at FAL")
    check(any(c for c in s.calls(seq, "submit", service="fal")), "submitted")
    r = op(s, "POST", "/api/generations/%s/cancel" % gid)
    eq(r.status, 200, "cancel: %r" % r.body)
    eq(s.one("SELECT status || ' ' || error FROM generations WHERE id = %s" % gid),
       "error cancelled by the operator", "ended")
    eq(op(s, "POST", "/api/generations/%s/cancel" % gid).status, 409, "twice")
    eq(op(s, "POST", "/api/generations/999999999/retry").status, 404, "unknown")


def code_routes():
    """Every route the programs match, read from their code."""
    found = set()
    for d in ("functions", "shared"):
        for name in os.listdir(os.path.join(ROOT, d)):
            if not name.endswith(".c"):
                continue
            src = open(os.path.join(ROOT, d, name)).read()
            found.update(re.findall(r'http_path_match\("(/[^"]+)"', src))
            found.update(re.findall(r'strcmp\(req(?:->|\.)path, "(/[^"]+)"\)', src))
            for pre, suf in re.findall(r'pre = "(/api/[^"]+/)", \*suf = "(/[^"]+)"', src):
                found.add(pre + "{charge_id}" + suf)
    conf = open(os.path.join(ROOT, "lighttpd.conf")).read()
    if 'alias.url = ( "/media/"' in conf:
        found.add("/media/{name}")
    return {re.sub(r"\{[^}]+\}", "{}", r) for r in found}


@test
def the_openapi_document_names_every_route(s):
    doc = json.load(open(os.path.join(ROOT, "docs", "openapi.json")))
    eq(doc["openapi"][:2], "3.", "OpenAPI 3")
    documented = {re.sub(r"\{[^}]+\}", "{}", p): p for p in doc["paths"]}
    routes = code_routes()
    check(len(routes) >= 15, "routes found in the code: %r" % sorted(routes))
    eq(sorted(routes - set(documented)), [], "routes in the code the document lacks")
    eq(sorted(set(documented) - routes), [], "documented routes the code does not serve")
    # each documented operation answers its method, refuses the other one
    for norm, path in documented.items():
        if path.startswith("/media/"):
            continue
        url = path.replace("{charge_id}", "abc").replace("{id}", "1").replace("{name}", "x")
        for method in doc["paths"][path]:
            other = "GET" if method == "post" else "POST"
            r = s.http(other, url, raw=b"" if other == "POST" else None)
            eq(r.status, 405, "%s %s (documented: %s)" % (other, url, method.upper()))
            check(method.upper() in r.headers.get("Allow", ""), "Allow names %s for %s: %r" % (
                method.upper(), url, r.headers.get("Allow")))
            eq(r.json()["ok"], False, "JSON error for %s %s" % (other, url))


@test
def every_curl_in_the_readme_works_as_written(s):
    readme = open(os.path.join(ROOT, "README.md")).read()
    lines = [ln.strip() for ln in readme.splitlines() if ln.strip().startswith("curl ")]
    check(len(lines) >= 5, "the README's curls: %r" % lines)
    env = dict(os.environ, ADMIN_TOKEN=s.admin)
    for ln in lines:
        cmd = ln.split("  #")[0].replace("127.0.0.1:8080", "127.0.0.1:%d" % s.port)
        r = subprocess.run(["sh", "-c", cmd + " -s -w '\\n%{http_code} %{content_type}'"],
                           env=env, capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, "%s: %s" % (ln, r.stderr))
        body, _, tail = r.stdout.rpartition("\n")
        code, _, ctype = tail.partition(" ")
        check(code not in ("405", "411", "000"), "%s answered %s: %r" % (ln, code, body[:200]))
        if "/metrics" in cmd:
            check(ctype.startswith("text/plain") and "aisha_up" in body, "%s: %r" % (ln, body[:200]))
        else:
            check(ctype.startswith("application/json"), "%s: %s %r" % (ln, ctype, body[:200]))
            json.loads(body)


@test
def the_operator_sees_statistics_by_training_type_and_what_needs_attention(s):
    """GET /api/stats, /api/attention and /api/people agree with the rows."""
    base = 672000000
    uid = {}
    for k, uname in enumerate(("stat_portrait", "stat_style", "stat_failed")):
        uid[k] = s.one("INSERT INTO users (telegram_id, first_name, username) VALUES"
                       " (%d, 'S', '%s') RETURNING id" % (base + k, uname))

    def avatar(k, typ, status, minutes, extra=""):
        aid = s.one("INSERT INTO avatars (user_id, name, gender, training_type) VALUES"
                    " (%s, 'St %d', 'female', '%s') RETURNING id" % (uid[k], k, typ))
        s.sql("UPDATE avatars SET status = '%s', fal_request_id = 'req-st-%s',"
              " fal_endpoint = 'fal-ai/trainer-%s', training_started_at = now() -"
              " interval '%d minutes', training_completed_at = now() %s WHERE id = %s"
              % (status, aid, typ, minutes, extra, aid))
        return aid
    done = ", diffusers_lora_file_url = 'https://x/l'"
    avatar(0, "portrait", "completed", 10, done)
    avatar(0, "portrait", "completed", 20, done)
    avatar(1, "style", "completed", 30, done)
    failed = avatar(2, "portrait", "error", 5, ", training_error = 'stats: FAL said 422'")
    stuck = avatar(2, "style", "training", 480)
    s.sql("UPDATE avatars SET training_completed_at = NULL WHERE id = %s" % stuck)
    s.sql("INSERT INTO failed_updates (update_id, kind, telegram_id, error, body) VALUES"
          " (791000900, 'message', %d, 'stats: a bad field', '{}')" % base)
    s.sql("INSERT INTO notifications (user_id, chat_id, kind, dedupe_key, payload, attempts,"
          " last_error, next_attempt_at) VALUES (%s, %d, 'test', 'stats-failing', '{}', 3,"
          " '429 Too Many Requests', now() + interval '1 hour')" % (uid[0], base))
    r = s.http("GET", "/api/stats?days=7", headers=s.admin_headers())
    eq(r.status, 200, "stats")
    st = r.json()
    eq(st["users"]["total"], int(s.one("SELECT count(*) FROM users")), "users")
    today = s.one("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
    per_day = {(x["day"], x["type"], x["outcome"]): x["n"] for x in st["trainings_per_day"]}
    for typ, outcome in (("portrait", "completed"), ("style", "completed"), ("portrait", "error")):
        want = int(s.one("SELECT count(*) FROM avatars WHERE training_type = '%s' AND status ="
                         " '%s' AND deleted_at IS NULL AND coalesce(training_completed_at,"
                         " updated_at) >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME"
                         " ZONE 'UTC'" % (typ, outcome)))
        eq(per_day.get((today, typ, outcome), 0), want, "%s %s today" % (typ, outcome))
    by = {(x["type"], x["endpoint"]): x for x in st["trainings_by_type"]}
    p = by[("portrait", "fal-ai/trainer-portrait")]
    eq((p["finished"], p["completed"]), (3, 2), "portrait: 3 finished, 2 completed")
    eq(p["success_rate"], 0.667, "portrait success rate")
    eq(p["median_s"], 900.0, "median of 10 and 20 minutes")
    check(1140 <= p["p90_s"] <= 1200, "p90: %r" % p["p90_s"])
    eq(by[("style", "fal-ai/trainer-style")]["median_s"], 1800.0, "style median")
    for bad in ("days=0", "days=400", "days=x", "days=" + "9" * 20):
        eq(s.http("GET", "/api/stats?" + bad, headers=s.admin_headers()).status, 400, bad)
    eq(s.http("GET", "/api/stats").status, 401, "anonymous")
    r = s.http("GET", "/api/attention", headers=s.admin_headers())
    eq(r.status, 200, "attention")
    at = r.json()
    check(any(x["kind"] == "avatar" and x["id"] == int(stuck) for x in at["stuck"]),
          "the training past its timeout: %r" % at["stuck"])
    f = [x for x in at["failed_24h"] if x["kind"] == "avatar" and x["id"] == int(failed)]
    check(f and f[0]["error"] == "stats: FAL said 422", "the failure with FAL's error: %r" % f)
    check(any(x["last_error"].startswith("429") for x in at["notifications_failing"]),
          "a message Telegram keeps refusing")
    check(any(x["update_id"] == 791000900 for x in at["failed_updates"]), "the failed update")
    r = s.http("GET", "/api/people?q=%40stat_", headers=s.admin_headers())
    eq(r.status, 200, "people")
    names = sorted(x["username"] for x in r.json()["people"])
    eq(names, ["stat_failed", "stat_portrait", "stat_style"], "by username prefix")
    r = s.http("GET", "/api/people?q=%d" % (base + 1), headers=s.admin_headers())
    eq([x["username"] for x in r.json()["people"]], ["stat_style"], "by Telegram id")
    r = s.http("GET", "/api/people?q=%25", headers=s.admin_headers())
    eq(r.json()["people"], [], "a % is a character, not a wildcard")
    eq(s.http("GET", "/api/people", headers=s.admin_headers()).status, 400, "no q")
    s.sql("UPDATE avatars SET status = 'error', training_error = 'done' WHERE id = %s" % stuck)
    s.sql("DELETE FROM notifications WHERE dedupe_key = 'stats-failing'")


@test
def button_answers_waiting_count_in_the_outbox_metrics(s):
    """Button answers wait in their own table (schema 017); an operator
    watching the outbox sees them too — a dead sender shows as a queue."""
    ids = s.sql("INSERT INTO callback_answers (chat_id, payload, claimed_until, created_at)"
                " SELECT 1, '{}', now() + interval '1 hour', now() - interval '2 minutes'"
                " FROM generate_series(1, 3) RETURNING id")
    try:
        m = scrape(s)
        check(m["aisha_notifications_pending"] >= 3, "pending counts the answers: %s" %
              m["aisha_notifications_pending"])
        check(m["aisha_notifications_oldest_age_seconds"] >= 119, "the oldest is theirs: %s" %
              m["aisha_notifications_oldest_age_seconds"])
    finally:
        s.sql("DELETE FROM callback_answers WHERE id IN (%s)" % ",".join(r[0] for r in ids))
