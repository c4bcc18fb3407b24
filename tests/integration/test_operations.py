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
    u["update_id"] = 790000001
    r = s.http("POST", "/telegram/webhook", u, {"X-Telegram-Bot-Api-Secret-Token": s.secret,
                                                 "X-Request-Id": "trace-790000001"})
    eq(r.status, 200, "update")
    wait_for(lambda: "req=trace-790000001 upd=790000001" in s.function_log(), 5,
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
        u["update_id"] = 790000010
        s.http("POST", "/telegram/webhook", u, {"X-Telegram-Bot-Api-Secret-Token": s.secret,
                                                 "X-Request-Id": "json-790000010"})

        def line():
            for ln in s.function_log().splitlines():
                if ln.startswith("{") and '"json-790000010"' in ln:
                    return json.loads(ln)
        o = wait_for(line, 5, what="a JSON log line of the update")
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]), "time: %r" % o)
        eq(o["program"], "tg-update", "program")
        check(o["level"] in ("debug", "info", "warn", "error"), "level: %r" % o)
        eq(o["update_id"], 790000010, "the update id as a number")
        check(isinstance(o.get("user"), int) and o.get("event"), "user and event: %r" % o)
        # logrotate's copytruncate: copy, then truncate in place
        shutil.copy(path, path + ".1")
        with open(path, "r+") as f:
            f.truncate(0)
        u["update_id"] = 790000011
        s.http("POST", "/telegram/webhook", u, {"X-Telegram-Bot-Api-Secret-Token": s.secret,
                                                 "X-Request-Id": "json-790000011"})
        wait_for(lambda: "json-790000011" in s.function_log(), 5, what="a line after the rotation")
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
    u["update_id"] = 790000020
    body = json.dumps(u)
    r = s.cli("tg-update", env={"REQUEST_METHOD": "POST", "GATEWAY_INTERFACE": "CGI/1.1",
                                "REQUEST_URI": "/cgi-bin/tg-update/telegram/webhook",
                                "SCRIPT_NAME": "/cgi-bin/tg-update",
                                "PATH_INFO": "/telegram/webhook",
                                "CONTENT_LENGTH": str(len(body.encode())),
                                "CONTENT_TYPE": "application/json",
                                "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": s.secret}, stdin=body)
    check(r.stdout.startswith("Status: 200 OK"), "routed by PATH_INFO: %r" % r.stdout[:80])
    eq(s.one("SELECT count(*) FROM tg_updates WHERE update_id = 790000020"), "1", "stored")
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
    u["update_id"] = 790000030
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
