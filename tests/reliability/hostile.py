"""The hostile pass: attacks an anonymous client on the internet can make on
the public routes, against the running stack (lighttpd, the functions, the
database), each with figures printed for docs/RELIABILITY.md.

Imported by run.py (its tests join the suite; `--only hostile_` runs these)."""
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request

from harness import check, eq, test


def timed(fn):
    t = time.time()
    try:
        code = fn()
    except (OSError, urllib.error.URLError):
        code = 0
    return code, time.time() - t


def get_healthz(s):
    with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % s.port, timeout=5) as r:
        return r.status


def db_size(s):
    return int(s.one("SELECT pg_database_size(current_database())"))


def post(s, path, raw, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    rq = urllib.request.Request("http://127.0.0.1:%d%s" % (s.port, path), data=raw, headers=h,
                                method="POST")
    try:
        with urllib.request.urlopen(rq, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@test
def hostile_anonymous_fal_webhooks_cannot_grow_the_database(s):
    s.restart_lighttpd(REFUSED_PER_MINUTE="20")
    try:
        s.sql("CHECKPOINT")
        before, rows0 = db_size(s), int(s.one("SELECT count(*) FROM fal_events"))
        body = json.dumps({"request_id": "junk", "status": "OK",
                           "payload": {"junk": "x" * (250 * 1024)}}).encode()
        codes, lock = {}, threading.Lock()

        def flood(k):
            for i in range(50):
                c = post(s, "/fal/webhook?avatar=%d&token=%s" % (i, "y" * 43), body)
                with lock:
                    codes[c] = codes.get(c, 0) + 1
        t0 = time.time()
        ts = [threading.Thread(target=flood, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        secs = time.time() - t0
        s.sql("CHECKPOINT")
        grown = db_size(s) - before
        rows = int(s.one("SELECT count(*) FROM fal_events")) - rows0
        print("      400 anonymous posts of 250 KB in %.1f s: %r; %d audited, database +%d KB"
              % (secs, codes, rows, grown // 1024))
        eq(sorted(codes), [401, 429], "refused, then refused unread past the limit")
        check(rows <= 40, "only the calls under the limit audited: %d" % rows)
        check(grown < 2 * 1024 * 1024, "the database grew %d bytes for 100 MB sent" % grown)
        eq(get_healthz(s), 200, "still healthy")
    finally:
        s.restart_lighttpd()


def slow_client(port, stop, opened, trickle=8.0):
    """One slowloris socket: a request line, then one header byte every
    trickle seconds, never finishing; reopened when the server closes it."""
    while not stop.is_set():
        try:
            sk = socket.create_connection(("127.0.0.1", port), timeout=5)
            sk.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            with opened[1]:
                opened[0] += 1
            while not stop.wait(trickle):
                sk.sendall(b"a")
        except OSError:
            stop.wait(1.0)
        finally:
            try:
                sk.close()
            except Exception:
                pass


@test
def hostile_slow_clients_from_one_address_leave_every_route_answering(s):
    from tg_user import User
    stop, opened = threading.Event(), [0, threading.Lock()]
    ts = [threading.Thread(target=slow_client, args=(s.port, stop, opened), daemon=True)
          for _ in range(1100)]
    for t in ts:
        t.start()
    u = User(s, 790000001, "en", "Lena")
    u.text("/start")
    health, hooks = [], []
    t0 = time.time()

    def help_update():
        upd = u.message(text="/help", entities=[{"offset": 0, "length": 5,
                                                  "type": "bot_command"}])
        upd["update_id"] = 790000000 + u.mid
        return s.webhook(upd).status
    while time.time() - t0 < 60:
        health.append(timed(lambda: get_healthz(s)))
        hooks.append(timed(help_update))
        time.sleep(0.5)
    stop.set()
    worst_h = max(t for _, t in health)
    worst_w = max(t for _, t in hooks)
    print("      1,100 slow sockets from one address for 60 s (%d opened):"
          " /healthz %d/%d ok, worst %.0f ms; webhook %d/%d ok, worst %.0f ms"
          % (opened[0], sum(c == 200 for c, _ in health), len(health), worst_h * 1000,
             sum(c == 200 for c, _ in hooks), len(hooks), worst_w * 1000))
    eq(sorted(set(c for c, _ in health)), [200], "/healthz answered every time")
    eq(sorted(set(c for c, _ in hooks)), [200], "the Telegram webhook answered every time")
    check(worst_h < 1.0 and worst_w < 1.0, "each answer under a second")


LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (DEBUG|INFO|WARN|ERROR) [a-z-]+ ")


@test
def hostile_inputs_cannot_forge_a_log_line(s):
    """Newlines, carriage returns and escape sequences wherever a caller can
    put them — the path, the query, headers, a Telegram update's fields, a
    FAL webhook with a token but nothing signed — and every line of the
    functions' log is still one event of ours."""
    from tg_user import User
    forged = "x\n2026-01-01T00:00:00Z ERROR tg-update FORGED\r\x1b[31m"
    log0 = len(s.function_log())
    for path in ("/nope%0a2026-01-01T00:00:00Z%20ERROR%20FORGED",
                 "/fal/webhook?avatar=1%0aFORGED&token=%0d%0aFORGED",
                 "/api/avatars/1%0aFORGED/train", "/healthz?x=%0aFORGED"):
        post(s, path, b"{}", {"X-Fal-Webhook-Request-Id": "FORGED\x0b\x1b"})
    u = User(s, 790000002, "en", forged)
    u.text("/start")
    u.text(forged)
    aid = 424242
    tok = s.issue_fal_token("avatar", aid)
    s.restart_lighttpd(FAL_WEBHOOK_VERIFY="false")   # nothing signs the request id
    try:
        code = post(s, "/fal/webhook?avatar=%d&token=%s" % (aid, tok),
                    json.dumps({"request_id": forged, "status": "OK", "payload": {}}).encode())
    finally:
        s.restart_lighttpd()
    eq(code, 200, "the token alone is taken when verification is off")
    lines = s.function_log()[log0:].splitlines()
    bad = [ln for ln in lines if not LINE.match(ln)]
    print("      %d log lines written by the hostile inputs, %d not ours" % (len(lines), len(bad)))
    check(lines, "the attempts were logged")
    eq(bad, [], "every line is one event of ours")
    check(any("FORGED" in ln for ln in lines), "the forged text is there, escaped")
    check(not any("\x1b" in ln or "\r" in ln for ln in lines), "no control character")


@test
def hostile_timestamps_cannot_crash_the_signature_check(s):
    """FAL's timestamp header at the edges of a 64-bit integer, with a valid
    token (verification is on in live mode): refused, and the function
    lives (the sanitizer builds abort on signed overflow)."""
    tok = s.issue_fal_token("avatar", 434343)
    body = json.dumps({"request_id": "ts-edge", "status": "OK", "payload": {}}).encode()
    codes = []
    for ts in ("-9223372036854775808", "9223372036854775807", "-1", "99999999999999999999",
               "1e9", " 1", ""):
        codes.append(post(s, "/fal/webhook?avatar=434343&token=" + tok, body, {
            "X-Fal-Webhook-Request-Id": "ts-edge", "X-Fal-Webhook-User-Id": "u",
            "X-Fal-Webhook-Timestamp": ts, "X-Fal-Webhook-Signature": "00" * 64}))
    eq(sorted(set(codes)), [401], "each refused: %r" % codes)
    eq(get_healthz(s), 200, "still healthy")
    eq(s.sanitizer_reports(), [], "no sanitizer report")
