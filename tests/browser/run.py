#!/usr/bin/python3
"""The operator's dashboard in Debian's headless Chromium, driven over the
DevTools protocol (python3-websocket; nothing downloads a browser).

Activity through the stand-ins — a completed portrait training, a completed
style training, a failed one, a generation — then /admin/: a wrong token
shows an error and no data; the right one shows numbers equal to the
database's, a chart with one point per day, the failed training under
"Needs attention", whose Retry queues it again (the row changes in
PostgreSQL).  No script error, no Content-Security-Policy violation.  A
screenshot goes to docs/dashboard.png.

    tests/browser/run.py --bin build/gcc/bin [--screenshot docs/dashboard.png]
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import ROOT, check, eq, wait_for  # noqa: E402


class Chrome:
    """A headless Chromium and one page, spoken to over the DevTools protocol."""

    def __init__(self, lang="en-US"):
        self.dir = tempfile.mkdtemp(prefix="aisha-chromium-")
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--remote-debugging-port=0", "--user-data-dir=" + self.dir,
             "--window-size=1280,1900", "--lang=" + lang, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.dir, "DevToolsActivePort")
        wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(), 30,
                 what="chromium's DevTools port")
        port = int(open(port_file).read().split()[0])
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10) as r:
            pages = [t for t in json.loads(r.read()) if t["type"] == "page"]
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30)
        self.n = 0
        self.events = []
        for domain in ("Page", "Runtime", "Log"):
            self.send(domain + ".enable")

    def send(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise harness.Fail("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def eval(self, expr):
        r = self.send("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise harness.Fail("%s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def goto(self, url):
        self.send("Page.navigate", url=url)
        wait_for(lambda: self.eval("document.readyState") == "complete", 15, what=url)

    def errors(self):
        out = []
        for e in self.events:
            if e["method"] == "Runtime.exceptionThrown":
                out.append(e["params"]["exceptionDetails"].get("text", "exception"))
            elif e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
                text = e["params"]["entry"].get("text", "")
                # the wrong token's answers are the test's own doing
                if "status of 401" not in text:
                    out.append(text + " " + e["params"]["entry"].get("url", ""))
        return out

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def activity(s):
    """Through the stand-ins: two trainings completed, one failed, a picture."""
    st = lambda a: s.one("SELECT status FROM avatars WHERE id = %s" % a)  # noqa: E731
    admin = s.admin_headers()
    uid, portrait = s.queued_avatar(684000001, lang="en", username="dash684000001")
    _, style = s.queued_avatar(684000002, style=True, lang="en", username="dash684000002")
    for aid in (portrait, style):
        eq(s.http("POST", "/api/avatars/%s/train" % aid, raw=b"", headers=admin).status, 202,
           "training %s started" % aid)
    _, failed = s.queued_avatar(684000003, lang="en", username="dash684000003")
    s.ctl("/_ctl/fail", {"service": "fal", "method": "submit", "status": 422})
    eq(s.http("POST", "/api/avatars/%s/train" % failed, raw=b"", headers=admin).status, 422,
       "FAL refuses the third")
    wait_for(lambda: st(portrait) == "completed" and st(style) == "completed", 30,
             what="both trainings completed")
    eq(st(failed), "error", "the failed one")
    gid = s.one("INSERT INTO generations (user_id, avatar_id, chat_id, status, prompt, error,"
                " endpoint, seed, completed_at) VALUES (%s, %s, 684000001, 'error',"
                " 'TOK woman', 'x', 'fal-ai/flux-lora', 7, now()) RETURNING id"
                % (uid, portrait))
    eq(s.http("POST", "/api/generations/%s/retry" % gid, raw=b"", headers=admin).status, 202,
       "a picture")
    wait_for(lambda: s.one("SELECT status FROM generations WHERE id = %s" % gid) == "completed",
             20, what="the picture made")
    return failed


def cell_map(c, table):
    """{status: [portrait, style]} of the avatars table, as the page shows it."""
    return c.eval("Object.fromEntries([...document.querySelectorAll('#%s tbody tr')]"
                  ".map(r => [r.cells[0].textContent, [...r.cells].slice(1).map(x =>"
                  " x.textContent)]))" % table)


def run(s, shot):
    failed = activity(s)
    r = s.http("GET", "/admin/")
    eq(r.status, 200, "/admin/")
    csp = r.headers.get("Content-Security-Policy", "")
    check("script-src 'self'" in csp and "frame-ancestors 'none'" in csp and
          "unsafe-inline" not in csp, "a strict Content-Security-Policy: %r" % csp)
    check(r.headers.get("Content-Type", "").startswith("text/html"), "served as HTML")
    for path in ("/admin/../lighttpd.conf", "/admin/package.json", "/admin/node_modules/"):
        check(s.http("GET", path).status in (403, 404), "%s is not served" % path)
    base = "http://127.0.0.1:%d/admin/" % s.port
    c = Chrome()
    try:
        c.goto(base)
        check(c.eval("!document.getElementById('login').hidden"), "the token form first")
        check(c.eval("getComputedStyle(document.getElementById('board')).display") == "none",
              "no board before the token")
        c.eval("document.getElementById('token').value = 'not-the-token-0000000';"
               " document.getElementById('login').requestSubmit(); true")
        wait_for(lambda: not c.eval("document.getElementById('error').hidden"), 10,
                 what="the wrong token's error")
        check(c.eval("document.getElementById('board').hidden"), "no data for a wrong token")
        eq(c.eval("document.querySelector('[data-testid=\"users-total\"]').textContent"), "",
           "not a number shown")
        eq(c.eval("sessionStorage.getItem('aisha-token')"), None, "a wrong token is not kept")
        c.eval("document.getElementById('token').value = %s;"
               " document.getElementById('login').requestSubmit(); true" % json.dumps(s.admin))
        wait_for(lambda: c.eval("document.body.dataset.loaded || ''"), 10, what="the data")
        eq(c.eval("location.href"), base, "the token never in the URL")
        eq(c.eval("getComputedStyle(document.getElementById('login')).display"), "none",
           "the token form goes once the data shows")
        eq(c.eval("document.querySelector('[data-testid=\"users-total\"]').textContent"),
           s.one("SELECT count(*) FROM users"), "users, as in the database")
        want = {}
        for st, typ, n in s.sql("SELECT status, training_type, count(*) FROM avatars"
                                " GROUP BY 1, 2"):
            want.setdefault(st, ["0", "0"])[0 if typ == "portrait" else 1] = n
        eq(cell_map(c, "avatars"), want, "avatars by status and type, as in the database")
        types = c.eval("[...document.querySelectorAll('#types tbody tr')].map(r =>"
                       " [r.dataset.type, r.dataset.finished])")
        want_t = [[t, n] for t, n in s.sql(
            "SELECT training_type, count(*) FROM avatars WHERE status IN ('completed', 'error')"
            " AND deleted_at IS NULL"
            " AND coalesce(training_completed_at, updated_at) > now() - interval '30 days'"
            " GROUP BY 1 ORDER BY 1")]
        eq(sorted(types), sorted(want_t), "finished trainings by type")
        eq(c.eval("document.getElementById('chart').dataset.points"), "30", "a point a day")
        eq(c.eval("document.querySelectorAll('#chart canvas').length"), 1, "the chart drawn")
        eq(c.eval("document.getElementById('chart').dataset.total"),
           s.one("SELECT count(*) FROM avatars WHERE status IN ('completed', 'error')"
                 " AND deleted_at IS NULL"
                 " AND coalesce(training_completed_at, updated_at) > now() - interval '30 days'"),
           "the chart's trainings")
        sel = "#attention tr[data-kind=avatar][data-id='%s'] button" % failed
        check(c.eval("!!document.querySelector(%s)" % json.dumps(sel)),
              "the failed training needs attention")
        c.eval("window.scrollTo(0, 0); true")
        if shot:
            c.screenshot(shot)
        c.eval("document.querySelector(%s).click(); true" % json.dumps(sel))
        wait_for(lambda: s.one("SELECT status FROM avatars WHERE id = %s" % failed) != "error",
                 10, what="Retry queues the failed training again")
        c.eval("document.getElementById('q').value = '@dash68400000';"
               " document.getElementById('search').requestSubmit(); true")
        wait_for(lambda: c.eval("document.querySelectorAll('#people .person').length") == 3, 10,
                 what="three people found")
        shown = c.eval("[...document.querySelectorAll('#people .person')].map(p =>"
                       " [p.dataset.telegramId, p.querySelectorAll('table')[0].tBodies[0].rows.length])")
        for tid, n in shown:
            eq(str(n), s.one("SELECT count(*) FROM avatars a JOIN users u ON u.id = a.user_id"
                             " WHERE u.telegram_id = %s AND a.deleted_at IS NULL" % tid),
               "a person's avatars (%s)" % tid)
        # a phone: nothing wider than the screen
        c.send("Emulation.setDeviceMetricsOverride", width=390, height=844,
               deviceScaleFactor=2, mobile=True)
        c.eval("document.body.dataset.loaded = ''; load(); true")
        wait_for(lambda: c.eval("document.body.dataset.loaded || ''"), 10, what="the phone view")
        wide = c.eval("document.documentElement.scrollWidth")
        check(wide <= 391, "fits a 390 px phone screen: %s px wide" % wide)
        errors = c.errors()
        eq(errors, [], "no script error, no Content-Security-Policy violation")
        print("ok    dashboard: wrong token refused; numbers, chart and attention as in the"
              " database; Retry queued avatar %s; people found" % failed)
    finally:
        c.close()
    c = Chrome(lang="ru-RU")
    try:
        c.send("Emulation.setLocaleOverride", locale="ru-RU")
        c.send("Network.setUserAgentOverride", userAgent=c.eval("navigator.userAgent"),
               acceptLanguage="ru-RU,ru")
        c.goto(base)
        eq(c.eval("document.querySelector('#login button').textContent"), "Открыть",
           "Russian for a Russian browser")
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--pg-port", type=int, default=54377)
    ap.add_argument("--screenshot", default=None)
    args = ap.parse_args()
    if not os.path.exists(os.path.join(ROOT, "web", "vendor", "uPlot.iife.min.js")):
        print("FAIL  browser: web/vendor is empty (make web)")
        sys.exit(1)
    harness.run_scenario("browser", harness.Stack(args.bin, name="browser",
                                                  pg_port=args.pg_port),
                         lambda s: run(s, args.screenshot))


if __name__ == "__main__":
    main()
