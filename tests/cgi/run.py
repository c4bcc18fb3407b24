#!/usr/bin/python3
"""The four functions as plain CGI under lighttpd's mod_cgi (a shared host:
docs/SHARED_HOSTING.md), through a whole create → train → generate flow.

Telegram delivers to /cgi-bin/tg-update/telegram/webhook (the route is in
PATH_INFO); FAL calls /fal/webhook, rewritten to
/cgi-bin/fal-webhook/fal/webhook (the route is in REQUEST_URI); the operator
calls /cgi-bin/check-status/api/… and /healthz.  Each request is one process;
the settings come from the file AISHA_ENV_FILE names, as SetEnv gives it.

    tests/cgi/run.py --bin build/gcc/bin
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import check, eq, wait_for  # noqa: E402
from tg_user import User  # noqa: E402


class CgiStack(harness.Stack):
    def start_lighttpd(self, **extra):
        # mod_cgi hands a program no environment of lighttpd's: the
        # settings go into the file AISHA_ENV_FILE names (setenv)
        env = self.env(**extra)
        with open(os.path.join(self.var, "cgi.env"), "w") as f:
            for k, v in sorted(env.items()):
                if k not in ("PATH", "AISHA_ENV_FILE") and not k.endswith("SAN_OPTIONS") \
                        and "\n" not in v:
                    f.write('%s="%s"\n' % (k, v.replace('"', "")))
        super().start_lighttpd(**extra)
        url = "http://127.0.0.1:%d/cgi-bin/tg-update/telegram/webhook" % self.port
        r = self.http_tg("setWebhook", {"url": url, "secret_token": self.secret})
        check(r.get("ok"), "setWebhook to the CGI's own URL: %r" % r)

    def http_tg(self, method, params):
        import json
        import urllib.request
        rq = urllib.request.Request("http://127.0.0.1:%d/bot%s/%s" % (
            self.tg_port, self.token, method), data=json.dumps(params).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(rq, timeout=10) as r:
            return json.loads(r.read())


def has_button(u, prefix):
    try:
        return u.button(prefix)
    except harness.Fail:
        return None


def press(u, prefix, timeout=10):
    """A person presses a button once it is there (each request is a process
    here: the messages that carry buttons come a moment later)."""
    wait_for(lambda: has_button(u, prefix), timeout, what="the button %s" % prefix)
    return u.press(prefix)


def flow(s):
    r = s.http("GET", "/healthz")
    eq(r.status, 200, "healthz through the rewrite")
    r = s.http("GET", "/cgi-bin/check-status/healthz", headers=s.admin_headers())
    eq(r.status, 200, "healthz by PATH_INFO")
    eq(r.json()["function"], "check-status", "answered by check-status")
    eq(s.http("GET", "/cgi-bin/check-status/nothing").status, 404, "an unknown route")
    hook = s.ctl("/_ctl/state").get("webhook", {})
    check("/cgi-bin/tg-update/telegram/webhook" in json_dump(hook), "Telegram delivers by"
          " PATH_INFO: %r" % hook)
    u = User(s, 681000001, "en", "Cgi")
    seq = s.seq()
    u.text("/start")
    press(u, "v1:new")
    u.text("Shared host")
    press(u, "v1:sex:")
    press(u, "v1:type:")
    for _ in range(10):
        u.photo()
    press(u, "v1:pdone:")
    press(u, "v1:train:")
    aid = u.avatar()
    st = lambda: s.one("SELECT status FROM avatars WHERE id = %s" % aid)  # noqa: E731
    wait_for(lambda: st() in ("training", "completed"), 20, what="the training submitted")
    sub = [c for c in s.calls(seq, "submit", service="fal")]
    eq(len(sub), 1, "one FAL submission")
    import urllib.parse
    hook = urllib.parse.parse_qs(sub[0]["params"]["query"])["fal_webhook"][0]
    check("/fal/webhook?avatar=%s&token=" % aid in hook, "FAL's webhook is the public"
          " route: %s" % hook)
    wait_for(lambda: st() == "completed", 30, what="completed by FAL's webhook (rewrite)")
    wait_for(lambda: any("is ready" in t for t in u.texts(seq)), 10, what="the person told")
    print("ok    avatar %s trained through CGI" % aid)
    seq = s.seq()
    u.press_raw("v1:gen")
    press(u, "v1:gt:")
    m, data = wait_for(lambda: has_button(u, "v1:gar:"), 10, what="the aspect ratios")
    u.press_raw(data, m)
    press(u, "v1:ggo:")
    photos = wait_for(lambda: [c for c in s.calls(seq, "sendPhoto")
                               if str(c["params"].get("chat_id")) == str(u.uid)], 30,
                      what="the picture delivered")
    eq(photos[0]["status"], 200, "Telegram took the picture")
    print("ok    a picture generated and delivered through CGI")
    seq = s.seq()
    u.press_raw("v1:gal")
    gal = wait_for(lambda: [c for c in s.calls(seq, "sendPhoto")
                            if str(c["params"].get("chat_id")) == str(u.uid)], 10,
                   what="the gallery")
    check("1/1" in gal[-1]["params"].get("caption", ""), "the gallery: %r" % gal[-1]["params"])
    print("ok    the gallery shows it")
    r = s.http("GET", "/cgi-bin/check-status/api/avatars/%s/status" % aid,
               headers=s.admin_headers())
    eq(r.status, 200, "the operator's route by PATH_INFO")
    eq(r.json()["status"], "completed", "its status")
    r = s.http("GET", "/api/users/681000001", headers=s.admin_headers())
    eq(r.status, 200, "the operator's route through the rewrite (Bearer passed)")
    print("ok    the operator's routes, with the Bearer token")


def json_dump(o):
    import json
    return json.dumps(o)


def timed_flow(s):
    t0 = time.time()
    flow(s)
    print("ok    cgi: create → train → generate → gallery in %.1f s" % (time.time() - t0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--pg-port", type=int, default=54371)
    args = ap.parse_args()
    harness.run_scenario("cgi", CgiStack(args.bin, name="cgi", pg_port=args.pg_port,
                                         conf="tests/cgi/lighttpd-cgi.conf"), timed_flow)


if __name__ == "__main__":
    main()
