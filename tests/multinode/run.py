#!/usr/bin/python3
"""Two servers, one database (issue 13, "Several servers"): two lighttpd
instances, each with its own port and var folder, on one PostgreSQL and one
set of settings.

- Telegram's updates reach both (the same update delivered to both at once
  is handled once, answered once);
- trainings are started on one node or the other, or from both at once (one
  claim wins, one FAL submission); FAL downloads each zip from the node that did not build it
  (each node's PUBLIC_BASE_URL names the other, as a load balancer would
  send it anywhere) and calls the webhook there too;
- both nodes' status checkers run at once, three times;
→ every avatar trained once, every person told once.

    tests/multinode/run.py --bin build/gcc/bin
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import ROOT, check, eq, wait_for  # noqa: E402

AVATARS = 6


class Node:
    """The second server: its own lighttpd, var folder and port."""

    def __init__(self, s, public_base):
        self.s = s
        self.port = harness.free_port()
        self.var = os.path.join(ROOT, "var", "node-b")
        for d in ("log", "run", "www", "media/placeholder"):
            os.makedirs(os.path.join(self.var, d), exist_ok=True)
        self.env = s.env(PORT=str(self.port), AISHA_VAR_DIR=self.var,
                         MEDIA_DIR=os.path.join(self.var, "media"), PUBLIC_BASE_URL=public_base)

    def start(self):
        subprocess.run(["lighttpd", "-f", os.path.join(ROOT, "lighttpd.conf")], env=self.env,
                       cwd=ROOT, check=True)
        self.s.wait_http("http://127.0.0.1:%d/healthz" % self.port)

    def stop(self):
        try:
            pid = int(open(os.path.join(self.var, "run", "lighttpd.pid")).read())
            os.kill(pid, 15)
            time.sleep(0.5)
        except (OSError, ValueError):
            pass

    def cli(self, *args):
        return subprocess.run([os.path.join(self.s.bindir, "check-status")] + list(args),
                              env=self.env, capture_output=True, text=True, timeout=120)


def post(port, path, body, headers):
    import urllib.error
    import urllib.request
    rq = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method="POST",
                                data=json.dumps(body).encode() if body is not None else b"",
                                headers=dict(headers, **{"Content-Type": "application/json"}))
    try:
        with urllib.request.urlopen(rq, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def at_once(calls):
    out = [None] * len(calls)

    def go(i, fn):
        out[i] = fn()
    ts = [threading.Thread(target=go, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def run(s, b):
    a_port, b_port = s.port, b.port
    hdr = {"X-Telegram-Bot-Api-Secret-Token": s.secret}
    # updates spread over both, each delivered to both at once
    for k in range(8):
        upd = {"update_id": 820000000 + k, "message": {
            "message_id": k + 1, "date": int(time.time()),
            "chat": {"id": 682000000 + k, "type": "private"},
            "from": {"id": 682000000 + k, "is_bot": False, "first_name": "N"}, "text": "/start"}}
        res = at_once([lambda p=p: post(p, "/telegram/webhook", upd, hdr) for p in (a_port, b_port)])
        eq([r[0] for r in res], [200, 200], "both nodes answer update %d" % k)
        answered = [r for r in res if b'"method"' in r[1]]
        eq(len(answered), 1, "one node answers update %d, the other sees it is known" % k)
    eq(s.one("SELECT count(*) FROM tg_updates WHERE update_id BETWEEN 820000000 AND 820000007"),
       "8", "each update stored once")
    print("ok    8 updates delivered to both nodes at once: each handled and answered once")

    seq = s.seq()
    ids = [s.queued_avatar(683000000 + i)[1] for i in range(AVATARS)]
    admin = s.admin_headers()
    # two started on A, two on B, the rest from both at once (one claim wins)
    for i, aid in enumerate(ids):
        ports = (a_port,) if i < 2 else (b_port,) if i < 4 else (a_port, b_port)
        res = at_once([lambda p=p: post(p, "/api/avatars/%s/train" % aid, None, admin)
                       for p in ports])
        codes = sorted(r[0] for r in res)
        eq(codes.count(202), 1, "avatar %s: one node starts it (%r)" % (aid, codes))
    subs = [c for c in s.calls(seq, "submit", service="fal")]
    eq(len(subs), AVATARS, "one FAL submission per avatar")
    # both nodes' checkers at once while FAL works
    for _ in range(3):
        rs = at_once([lambda: s.cli("check-status", "--all"), lambda: b.cli("--all")])
        check(all(r.returncode == 0 for r in rs), "checkers: %r" % [r.stderr[-300:] for r in rs])
        time.sleep(1)

    def all_done():
        return s.one("SELECT count(*) FROM avatars WHERE id IN (%s) AND status = 'completed'"
                     % ",".join(ids)) == str(AVATARS)
    wait_for(all_done, 30, 0.5, "every avatar trained")
    fetches = [c for c in s.calls(seq, "fetch_images", service="fal")]
    eq(len(fetches), AVATARS, "each zip downloaded once: %r" % fetches)
    check(all(c["status"] == 200 and c["params"]["bytes"] > 0 for c in fetches),
          "every download whole: %r" % [(c["status"], c["params"]["bytes"]) for c in fetches])
    # each zip came from the node that did not build it: the URL names the
    # other node's port, and the node that built it logged the build
    a_log = s.function_log()
    b_log = open(os.path.join(b.var, "log", "functions.log")).read()
    for c in fetches:
        url = c["params"]["url"]
        built_on_a = ":%d/" % b_port in url
        rid = c["params"]["request_id"]
        check(rid in (a_log if built_on_a else b_log), "request %s started on the node that"
              " names the other in its zip URL (%s)" % (rid, url))
    ports = {":%d/" % a_port in c["params"]["url"] for c in fetches}
    eq(ports, {True, False}, "both nodes built zips, each served by the other")
    print("ok    %d trainings: one submission each, every zip fetched from the other node"
          % AVATARS)
    for _ in range(2):
        at_once([lambda: s.cli("check-status", "--all"), lambda: b.cli("--all")])

    def told():
        return [c for c in s.calls(seq, "sendMessage") if "готов" in c["params"].get("text", "")
                and c["status"] == 200]
    wait_for(lambda: len(told()) >= AVATARS, 15, 0.5, "everyone told")
    time.sleep(1)
    chats = sorted(str(c["params"]["chat_id"]) for c in told())
    eq(chats, sorted(set(chats)), "no one told twice")
    eq(len(chats), AVATARS, "everyone told once")
    eq(s.one("SELECT count(*) FROM notifications WHERE status = 'pending'"), "0",
       "nothing left in the outbox")
    print("ok    every person told once, with both nodes' checkers running at once")


def two_nodes(s):
    b = Node(s, "http://127.0.0.1:%d" % s.port)
    b.start()
    try:
        # node A's public URL is node B's: FAL fetches A's zips from B
        s.restart_lighttpd(PUBLIC_BASE_URL="http://127.0.0.1:%d" % b.port)
        run(s, b)
    finally:
        b.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--pg-port", type=int, default=54373)
    args = ap.parse_args()
    harness.run_scenario("multinode", harness.Stack(args.bin, name="node-a",
                                                    pg_port=args.pg_port), two_nodes)


if __name__ == "__main__":
    main()
