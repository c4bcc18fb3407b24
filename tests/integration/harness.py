"""The integration test harness: a real stack, started fresh for the run.

Stack brings up, under var/test/ of the project:
  - an embedded PostgreSQL cluster (tools/pg.sh) with a fresh database,
  - the sandbox stand-ins (Telegram + FAL) on free ports,
  - lighttpd with the four functions from --bin,
and offers helpers to talk to each: HTTP to lighttpd, SQL through psql, the
stand-ins' control API.  Tests are plain functions registered with @test and
run in order; the closing line is "N passed, N failed".
"""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "updates")
PY = "/usr/bin/python3"

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Fail(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fixture(name):
    with open(os.path.join(FIXTURES, name + ".json")) as f:
        return json.load(f)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body.decode() or "null")


class Stack:
    def __init__(self, bindir, sanitize=False, name="test", pg_port=54339,
                 conf="lighttpd.conf", standin_args=(), procs=2):
        """name: the folder under var/ (the benchmark and reliability suites
        use their own, so each can run beside the others); conf: the lighttpd
        configuration; standin_args: extra stand-in flags (--fal-latency)."""
        self.bindir = os.path.abspath(bindir)
        self.var = os.path.join(ROOT, "var", name)
        self.conf = os.path.join(ROOT, conf)
        self.standin_args = list(standin_args)
        self.procs = procs
        self.port = free_port()
        self.tg_port = free_port()
        self.fal_port = free_port()
        self.token = "123456:TEST-token"
        self.secret = "test-webhook-secret_123"
        self.admin = "test-admin-token-0123456789"
        self.pg_dir = os.path.join(self.var, "pg")
        self.pg_env = dict(os.environ, AISHA_PG_DIR=self.pg_dir, AISHA_PG_PORT=str(pg_port))
        self.children = []
        self.viol_mark = 0
        self.extra = {}         # settings for every program (lighttpd's and the CLI)

    # --- lifecycle ------------------------------------------------------------
    def env(self, **extra):
        e = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": self.dburl,
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_WEBHOOK_SECRET": self.secret,
            "TELEGRAM_API_BASE": "http://127.0.0.1:%d" % self.tg_port,
            "TELEGRAM_BOT_USERNAME": "aisha_sandbox_bot",
            "FAL_QUEUE_BASE": "http://127.0.0.1:%d" % self.fal_port,
            "FAL_JWKS_URL": "http://127.0.0.1:%d/.well-known/jwks.json" % self.fal_port,
            "FAL_WEBHOOK_SECRET": "test-fal-webhook-secret",
            "FAL_API_KEY": "test-fal-key",
            "TRAINING_CLAIM_TIMEOUT": "600",
            "FAL_TEST_DURATION": "2",
            # credits stay out of the way of the tests about something else;
            # test_credits.py sets its own
            "CREDITS_START": "100000",
            "PRICE_TRAINING": "0",
            "PRICE_GENERATION": "0",
            "TRAININGS_PER_DAY": "0",
            "GENERATIONS_PER_DAY": "0",
            "FAL_DAILY_BUDGET_USD": "0",
            # every test calls from 127.0.0.1; test_hostile.py sets its own
            "REFUSED_PER_MINUTE": "100000",
            "PUBLIC_BASE_URL": "http://127.0.0.1:%d" % self.port,
            "ADMIN_TOKEN": self.admin,
            "MEDIA_DIR": os.path.join(self.var, "media"),
            "PORT": str(self.port),
            "LOG_LEVEL": "info",
            # no cron runs beside the tests: /healthz must not call the
            # status checker stopped (test_operations.py sets it back)
            "CHECKER_INTERVAL": "86400",
            "AISHA_VAR_DIR": self.var,
            "AISHA_BIN_DIR": self.bindir,
            "AISHA_ENV_FILE": "",
            "AISHA_FCGI_PROCS": str(self.procs),
            "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1:log_path=" +
                            os.path.join(self.var, "log", "asan"),
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:log_path=" +
                             os.path.join(self.var, "log", "ubsan"),
        }
        e.update(self.extra)
        e.update(extra)
        return e

    def start(self):
        if os.path.exists(self.var):
            self.stop_quiet()
            shutil.rmtree(self.var, ignore_errors=True)
        for d in ("log", "run", "www", "media", "media/placeholder"):
            os.makedirs(os.path.join(self.var, d), exist_ok=True)
        for f in os.listdir(os.path.join(ROOT, "sandbox", "placeholders")):
            shutil.copy(os.path.join(ROOT, "sandbox", "placeholders", f),
                        os.path.join(self.var, "media", "placeholder", f))
        subprocess.run(["sh", os.path.join(ROOT, "tools", "pg.sh"), "recreate"], env=self.pg_env,
                       check=True)
        self.dburl = subprocess.run(["sh", os.path.join(ROOT, "tools", "pg.sh"), "url"],
                                    env=self.pg_env, check=True, capture_output=True,
                                    text=True).stdout.strip()
        self.migrate()
        self.start_standin()
        self.start_lighttpd()

    def migrate(self, *args):
        return subprocess.run([os.path.join(self.bindir, "migrate")] + list(args), env=self.env(),
                              capture_output=True, text=True)

    def start_standin(self):
        log = open(os.path.join(self.var, "log", "standin.log"), "a")
        p = subprocess.Popen([PY, os.path.join(ROOT, "sandbox", "standin.py"),
                              "--telegram-port", str(self.tg_port), "--fal-port",
                              str(self.fal_port), "--token", self.token,
                              "--fal-key", "test-fal-key", "--fal-duration", "1",
                              "--keyfile", os.path.join(self.var, "standin.pem")] +
                             self.standin_args,
                             stdout=log, stderr=log)
        self.children.append(p)
        self.standin = p
        self.wait_http("http://127.0.0.1:%d/_ctl/state" % self.tg_port)
        self.ctl("/_ctl/reset", {})

    def start_lighttpd(self, **extra):
        self.lighttpd_env = self.env(**extra)
        subprocess.run(["lighttpd", "-f", self.conf],
                       env=self.lighttpd_env, cwd=ROOT, check=True)
        self.wait_http("http://127.0.0.1:%d/healthz" % self.port)
        # Telegram learns the webhook the way production does: setWebhook.
        r = self.cli("tg-update", "--set-webhook")
        check(r.returncode == 0, "setWebhook failed: %s" % r.stderr)

    def stop_lighttpd(self):
        pidf = os.path.join(self.var, "run", "lighttpd.pid")
        try:
            pid = int(open(pidf).read())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        # workers exit when lighttpd closes their sockets; give them a moment
        time.sleep(0.2)

    def restart_lighttpd(self, **extra):
        self.stop_lighttpd()
        self.stop_photo_checker()
        self.start_lighttpd(**extra)

    def stop_photo_checker(self, timeout=10):
        """A running photo checker keeps the settings it started with: asked
        to stop (it finishes the photo in hand), the next one gets the new.
        Asked again while any runs: the last turns of a burst may start
        another."""
        def stopped():
            pids = self.detached_pids((b"check-status",), b"--check-photos")
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
            return not pids
        wait_for(stopped, timeout, what="the photo checker to stop")

    def detached_pids(self, progs, arg=None):
        """The detached programs (the outbox's sender, a started training,
        the photo checker) of this stack: found by their database, whose
        socket is in this stack's folder, or by their settings file, which
        is — not another stack's."""
        mine = (("DATABASE_URL=host=%s/" % self.pg_dir).encode(),
                ("AISHA_ENV_FILE=%s/" % self.var).encode())
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % pid, "rb") as f:
                    env = f.read().split(b"\0")
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
                with open("/proc/%s/stat" % pid, "rb") as f:
                    zombie = f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
            except (OSError, IndexError):
                continue
            if zombie or not any(e.startswith(mine) for e in env):
                continue
            if os.path.basename(argv[0]) in progs and (arg is None or arg in argv):
                found.append(int(pid))
        return found

    def kill_detached(self):
        for pid in self.detached_pids((b"check-status", b"start-training")):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def stop_quiet(self):
        try:
            self.stop_lighttpd()
        except Exception:
            pass
        self.kill_detached()
        subprocess.run(["sh", os.path.join(ROOT, "tools", "pg.sh"), "stop"], env=self.pg_env,
                       capture_output=True)

    def stop(self):
        self.stop_lighttpd()
        self.kill_detached()
        for p in self.children:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["sh", os.path.join(ROOT, "tools", "pg.sh"), "stop"], env=self.pg_env,
                       check=False)

    def pg(self, action):
        subprocess.run(["sh", os.path.join(ROOT, "tools", "pg.sh"), action], env=self.pg_env,
                       check=True)

    def wait_http(self, url, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.05)
        raise Fail("nothing answered at %s" % url)

    # --- talking to things -----------------------------------------------------
    def http(self, method, path, body=None, headers=None, raw=None, timeout=30):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        rq = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                    headers=h, method=method)
        try:
            with urllib.request.urlopen(rq, timeout=timeout) as r:
                return Response(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read())

    def webhook(self, update, secret=None):
        """POST an update straight to our route (as Telegram would)."""
        return self.http("POST", "/telegram/webhook", update, {
            "X-Telegram-Bot-Api-Secret-Token": self.secret if secret is None else secret})

    def deliver(self, update):
        """Telegram delivers it: the stand-in posts it and performs the answer."""
        return self.ctl("/_ctl/deliver", {"update": update})

    def fal_hook(self, kind, job_id):
        """The path and query of the webhook URL FAL was last given for a job
        (the token in it is FAL's alone: the database keeps only its hash)."""
        want = "%s=%s&" % (kind, job_id)
        for c in reversed(self.calls(0, "submit", service="fal")):
            q = urllib.parse.parse_qs(c["params"].get("query", ""))
            hook = q.get("fal_webhook", [""])[0]
            if want in hook:
                u = urllib.parse.urlsplit(hook)
                return u.path + "?" + u.query
        raise AssertionError("FAL was never given a webhook for %s %s" % (kind, job_id))

    def issue_fal_token(self, kind, job_id):
        """Issues a webhook token the way start-training does (for a job whose
        submission the test plays itself); returns the token."""
        import secrets
        token = secrets.token_urlsafe(32)
        key = hashlib.blake2b(b"test-fal-webhook-secret", digest_size=32).digest()
        h = hashlib.blake2b(token.encode(), key=key, digest_size=32).hexdigest()
        self.sql("INSERT INTO fal_webhook_tokens (kind, job_id, token_hash) VALUES ('%s', %d,"
                 " '%s') ON CONFLICT (kind, job_id) DO UPDATE SET token_hash = EXCLUDED.token_hash"
                 % (kind, int(job_id), h))
        return token

    def fal_signed(self, rid, raw, ts=None, user="sandbox-user"):
        """FAL's signature headers over raw, made with the stand-in's key."""
        if ts is None:  # FAL signs each delivery afresh: never the same (rid, ts) twice
            self.signed = getattr(self, "signed", set())
            ts = int(time.time())
            while (rid, ts) in self.signed:
                ts -= 1
        self.signed = getattr(self, "signed", set())
        self.signed.add((rid, int(ts)))
        ts = str(ts)
        msg = "\n".join([rid, user, ts, hashlib.sha256(raw).hexdigest()]).encode()
        with tempfile.NamedTemporaryFile() as f:
            f.write(msg)
            f.flush()
            sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey",
                                  self.var + "/standin.pem", "-in", f.name],
                                 capture_output=True, check=True).stdout.hex()
        return {"X-Fal-Webhook-Request-Id": rid, "X-Fal-Webhook-User-Id": user,
                "X-Fal-Webhook-Timestamp": ts, "X-Fal-Webhook-Signature": sig}

    def fal_post(self, path, body, signed=True, headers=None):
        """Posts a FAL webhook body as FAL does: signed, unless told not to."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {}
        if signed:
            h.update(self.fal_signed(json.loads(raw)["request_id"], raw))
        h.update(headers or {})
        return self.http("POST", path, raw=raw, headers=h)

    def admin_headers(self):
        return {"Authorization": "Bearer " + self.admin}

    def ctl(self, path, body=None):
        port = self.tg_port
        data = json.dumps(body).encode() if body is not None else None
        rq = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data,
                                    method="POST" if data is not None else "GET")
        with urllib.request.urlopen(rq, timeout=60) as r:
            return json.loads(r.read().decode())

    def calls(self, since=0, method=None, service="telegram"):
        cs = self.ctl("/_ctl/calls?since=%d" % since)["calls"]
        return [c for c in cs if c["service"] == service and
                (method is None or c["method"] == method)]

    def violations(self):
        """What the Telegram stand-in refused (or dropped from a webhook
        answer) since the last call: calls real Telegram would refuse for a
        mistake of ours.  A test that provokes one on purpose takes it here;
        run_all fails a test that leaves any behind."""
        v = self.ctl("/_ctl/violations?since=%d" % self.viol_mark)
        self.viol_mark = v["n"]
        return v["violations"]

    def seq(self):
        return self.ctl("/_ctl/state")["seq"]

    def sql(self, query, *params):
        """Runs SQL through psql; returns rows as lists of strings."""
        args = ["psql", self.dburl, "-X", "-q", "-t", "-A", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
        for i, p in enumerate(params):
            args += ["-v", "p%d=%s" % (i + 1, p)]
        r = subprocess.run(args, input=query, capture_output=True, text=True)
        if r.returncode != 0:
            raise Fail("sql failed: %s\n%s" % (query, r.stderr))
        return [line.split("\t") for line in r.stdout.splitlines() if line != ""]

    def one(self, query, *params):
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None

    def queued_avatar(self, tid, photos=10, style=False, lang="ru", username=None, due=True):
        """A person (Telegram id tid) with an avatar waiting in the queue, as
        the bot leaves it: (user id, avatar id).  due: startable now (else in
        an hour, out of cron's way)."""
        uid = self.one("INSERT INTO users (telegram_id, first_name, lang, username) VALUES"
                       " (%d, 'Q', '%s', %s) RETURNING id"
                       % (tid, lang, "'%s'" % username if username else "NULL"))
        aid = self.one("INSERT INTO avatars (user_id, name, gender, training_type) VALUES"
                       " (%s, 'Q %d', 'female', '%s') RETURNING id"
                       % (uid, tid, "style" if style else "portrait"))
        for i in range(photos):
            self.sql("INSERT INTO avatar_photos (avatar_id, file_id, file_unique_id, source,"
                     " width, height) VALUES (%s, 'AgQ_%s_%d', 'UQ_%s_%d', 'photo', 1280, 960)"
                     % (aid, aid, i, aid, i))
        self.sql("UPDATE avatars SET status = 'queued', queued_at = now(), next_attempt_at ="
                 " now() + interval '%d hour' WHERE id = %s" % (0 if due else 1, aid))
        return uid, aid

    def cli_env(self):
        """The settings the functions run with now (cron shares their file)."""
        return dict(getattr(self, "lighttpd_env", None) or self.env())

    def cli(self, prog, *args, env=None, stdin=None):
        e = self.cli_env()
        e.update(env or {})
        return subprocess.run([os.path.join(self.bindir, prog)] + list(args), env=e,
                              capture_output=True, text=True, input=stdin, timeout=120)

    def function_log(self):
        try:
            with open(os.path.join(self.var, "log", "functions.log")) as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_reports(self):
        out = []
        logdir = os.path.join(self.var, "log")
        for name in os.listdir(logdir):
            if name.startswith(("asan", "ubsan")):
                with open(os.path.join(logdir, name)) as f:
                    text = f.read()
                if not only_a_killed_leak_check(text):
                    out.append(text)
        text = self.function_log()
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            if marker in text:
                out.append(text)
        return out


def only_a_killed_leak_check(text):
    """True when a sanitizer log holds nothing but LeakSanitizer's notice that
    a thread vanished while it stopped the world: a program killed (kill -9,
    as the reliability suite does) during its exit's leak check. The notice
    is informational (LSan goes on); any other line is a report."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return bool(lines) and all(
        re.fullmatch(r"==\d+==Unable to get registers from thread \d+\.", ln)
        for ln in lines)


def run_scenario(name, stack, fn):
    """The runner of a whole-flow test (tests/cgi, tests/multinode,
    tests/browser): stack started, fn(stack), nothing Telegram would refuse,
    no sanitizer report; one line of outcome, and the exit status."""
    ok = False
    try:
        stack.start()
        fn(stack)
        left = stack.violations()
        check(not left, "Telegram would refuse: %r" % left[:3])
        reports = stack.sanitizer_reports()
        check(not reports, "sanitizer reports: %s" % "\n".join(reports)[:3000])
        ok = True
    except Exception as e:
        print("FAIL  %s: %s" % (name, e))
        if not isinstance(e, Fail):
            traceback.print_exc()
        print(stack.function_log()[-2000:])
    finally:
        stack.stop()
    print("%s: %s" % (name, "passed" if ok else "failed"))
    sys.exit(0 if ok else 1)


def wait_for(fn, timeout=10, interval=0.1, what="condition"):
    end = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > end:
            raise Fail("timed out waiting for %s" % what)
        time.sleep(interval)


def run_all(stack, only=None):
    passed = failed = 0
    names = [n for n in (only or "").split(",") if n]
    for t in TESTS:
        if names and not any(n in t.__name__ for n in names):
            continue
        t0 = time.time()
        try:
            stack.violations()
            t(stack)
            left = stack.violations()
            if left:
                raise Fail("Telegram would refuse (or silently drop) %d call(s): %s" % (
                    len(left), "; ".join("%s via %s: %s" % (c["method"], c["via"],
                                                            c.get("description", c["status"]))
                                         for c in left[:5])))
            passed += 1
            print("ok    %-60s %.2fs" % (t.__name__, time.time() - t0), flush=True)
        except Exception as e:
            failed += 1
            print("FAIL  %-60s %.2fs\n      %s" % (t.__name__, time.time() - t0, e), flush=True)
            if not isinstance(e, Fail):
                traceback.print_exc()
    reports = stack.sanitizer_reports()
    if reports:
        failed += 1
        print("FAIL  sanitizer reports in the functions' logs:\n" + "\n".join(reports)[:6000])
    return passed, failed
