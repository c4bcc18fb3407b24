#!/usr/bin/python3
"""make bench: speed and memory of the real stack, printed as one table.

    bench/run.py --bin build/gcc/bin [--quick] [--out var/bench/results.md]

Brings up its own stack under var/bench (embedded PostgreSQL, the sandbox
stand-ins, lighttpd with bench/lighttpd.conf = the production configuration
plus the hello-world ceiling), seeds bench/seed.sql (100k users, 200k
avatars, 1M tg_updates, 100k pictures), then measures each figure twice in
one sitting with wrk (bench/wrk/*.lua: distinct, realistic requests) or
hyperfine.  --quick runs everything briefly, to check the script itself.
Never part of make test: the numbers are what matter, not a pass/fail.
"""
import argparse
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

PY = "/usr/bin/python3"
USERS = 100000
CONNS = 32
AUDIT_SEQ = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM fal_events_id_seq"


class Signer:
    """FAL's webhook signature, made as the stand-in makes it (its ED25519
    key, var/bench/standin.pem) but in-process through libsodium: one
    openssl process per webhook would take longer than the run."""

    def __init__(self, pem):
        import base64
        import ctypes
        import ctypes.util
        der = base64.b64decode("".join(l for l in open(pem).read().splitlines()
                                       if not l.startswith("-----")))
        self.na = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
        if self.na.sodium_init() < 0:
            sys.exit("libsodium did not start")
        self.ct = ctypes
        self.sk = ctypes.create_string_buffer(64)
        pk = ctypes.create_string_buffer(32)
        self.na.crypto_sign_seed_keypair(pk, self.sk, der[-32:])  # PKCS#8: the seed ends it

    def headers(self, rid, raw, ts):
        user = "sandbox-user"
        msg = "\n".join([rid, user, str(ts), hashlib.sha256(raw).hexdigest()]).encode()
        sig = self.ct.create_string_buffer(64)
        self.na.crypto_sign_detached(sig, None, msg, self.ct.c_ulonglong(len(msg)), self.sk)
        return rid, user, str(ts), sig.raw.hex()


class Psql:
    """One psql session kept open: a query, its first value back."""

    def __init__(self, url):
        self.p = subprocess.Popen(["psql", url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  bufsize=1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def one(self, query):
        self.p.stdin.write(query + ";\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            sys.exit("psql session ended: %s" % query)
        return line.strip()

    def close(self):
        self.p.stdin.close()
        self.p.wait()


class Bench:
    def __init__(self, stack, quick):
        self.s = stack
        self.quick = quick
        self.secs = 3 if quick else 10
        self.rows = []          # (figure, [values], unit, target, ratio-able)
        self.notes = []
        self.next_base = 5000000000
        self.ceiling = None
        self.signer = Signer(os.path.join(stack.var, "standin.pem"))
        self.one_select = None  # the C one-SELECT peer (issue 18)
        self.python = None      # the FastAPI + asyncpg peer

    # --- tools ------------------------------------------------------------------
    def base(self):
        """A fresh range of update ids for one wrk run."""
        self.next_base += 10 ** 10
        return self.next_base

    def wrk_cmd(self, path, script=None, args=(), conns=CONNS, secs=None, threads=2, url=None):
        cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % (secs or self.secs),
               "--latency", "--timeout", "10s"]
        if script:
            cmd += ["-s", os.path.join(HERE, "wrk", script)]
        cmd.append("%s%s" % (url or "http://127.0.0.1:%d" % self.s.port, path))
        if args:
            cmd += ["--"] + [str(a) for a in args]
        return cmd

    def wrk(self, *a, **kw):
        out = subprocess.run(self.wrk_cmd(*a, **kw), capture_output=True, text=True,
                             check=True).stdout
        return parse_wrk(out)

    def tg_calls(self):
        return self.s.ctl("/_ctl/state")["counts"].get("telegram.api", 0)

    def add(self, name, values, unit, target="", ratio=False):
        self.rows.append((name, values, unit, target, ratio))
        print("  %-46s %s %s" % (name, "  ".join(fmt(v) for v in values), unit), flush=True)

    def both(self, run):
        """run with Telegram on 127.0.0.1 (answering at once), then 80 ms
        away (the stand-in waits before each Bot API answer); run gets the
        label's suffix."""
        for ms in (0, 80):
            self.s.ctl("/_ctl/config", {"latency_ms": ms})
            try:
                run("" if ms == 0 else " at 80 ms")
            finally:
                self.s.ctl("/_ctl/config", {"latency_ms": 0})
            self.answers_drained()   # before the next figure

    def answers_drained(self, timeout=90):
        """Waits until every button's answer is delivered (an earlier run's
        answers, still queued, would share the cores with the next figure;
        the messages the FAL figure queues go at Telegram's 30 a second, and
        are not waited for).  Seconds waited."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.s.one("SELECT count(*) FROM callback_answers") == "0":
                break
            time.sleep(0.2)
        return time.time() - t0

    def oldest_answer_age(self, poll):
        """How long the oldest button answer still queued has waited, in ms
        (0 when none: delivered answers are deleted)."""
        v = poll.one("SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)),"
                     " 0) * 1000 FROM callback_answers")
        return float(v or 0)

    def note_answers(self):
        """The bench's own record of when a button's answer was queued:
        delivered answers are deleted, so a trigger (in the bench's database
        only) keeps the callback query id and created_at (the turn's start)
        of one answer in ten — of every one, it cost 110 µs of PostgreSQL's
        CPU a press (pg_stat_statements) and a sixth of the press figure.
        Unlogged: no WAL for it."""
        self.s.sql("CREATE UNLOGGED TABLE IF NOT EXISTS bench_answers"
                   " (cq text PRIMARY KEY, created_at timestamptz NOT NULL)")
        self.s.sql("CREATE OR REPLACE FUNCTION bench_answer_noted() RETURNS trigger"
                   " LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bench_answers VALUES"
                   " (NEW.payload::jsonb->'params'->>'callback_query_id', NEW.created_at)"
                   " ON CONFLICT DO NOTHING; RETURN NULL; END $$")
        self.s.sql("DROP TRIGGER IF EXISTS bench_answer_noted ON callback_answers")
        self.s.sql("CREATE TRIGGER bench_answer_noted AFTER INSERT ON callback_answers"
                   " FOR EACH ROW WHEN (NEW.id % 10 = 0)"
                   " EXECUTE FUNCTION bench_answer_noted()")

    def answer_times(self, seq):
        """Press → its answerCallbackQuery at Telegram, ms, for each press
        noted (one in ten) since bench_answers was emptied: the row's created_at against
        the stand-in's time of the call (after its latency).  (ages, presses
        never answered)"""
        at = {}
        for c in self.s.ctl("/_ctl/calls?since=%d" % seq)["calls"]:
            if c["method"] == "answerCallbackQuery" and c["status"] == 200:
                at[str(c["params"].get("callback_query_id"))] = c["t"]
        ages, missing = [], 0
        for cq, t0 in self.s.sql("SELECT cq, extract(epoch FROM created_at) FROM bench_answers"):
            if cq in at:
                ages.append((at[cq] - float(t0)) * 1000)
            else:
                missing += 1
        return sorted(ages), missing

    def wrk_watching_answers(self, *a, **kw):
        """wrk, and meanwhile (then until the queue is empty) the age of the
        oldest answer still queued, every 100 ms: its largest value is how
        long the slowest press of the run waited for its answer to leave
        (the call itself, one round trip to Telegram, comes on top).  One
        psql session for it all: a psql process a poll (a new server backend
        each) took several per cent of the machine from the figure."""
        with Psql(self.s.dburl) as poll:
            p = subprocess.Popen(self.wrk_cmd(*a, **kw), stdout=subprocess.PIPE, text=True)
            worst, t_end = 0.0, None
            while True:
                age = self.oldest_answer_age(poll)
                worst = max(worst, age)
                if p.poll() is not None:
                    t_end = t_end or time.time()
                    if age == 0 or time.time() - t_end > 90:
                        break
                time.sleep(0.1)
        return parse_wrk(p.communicate()[0]), worst

    # --- the figures --------------------------------------------------------------
    def ceiling_run(self):
        rs = [self.wrk("/bench/hello") for _ in range(2)]
        self.ceiling = max(r["rps"] for r in rs)
        self.add("ceiling: hello-world FastCGI, req/s", [r["rps"] for r in rs], "req/s")
        self.add("ceiling: p99", [r["p99"] for r in rs], "ms")

    def peers_run(self):
        """Issue 18's peers, measured in the same sitting as every figure:
        the C one-SELECT FastCGI program behind the same lighttpd, and the
        FastAPI + asyncpg program under uvicorn (uvloop, httptools, two
        workers: one per core), each answering one prepared SELECT of a
        random known user as JSON."""
        self.wrk("/bench/one", "one.lua", [USERS])         # warm the caches
        rs = [self.wrk("/bench/one", "one.lua", [USERS]) for _ in range(2)]
        self.check_peer(rs, "one-SELECT")
        self.one_select = max(r["rps"] for r in rs)
        self.add("peer: C FastCGI + libpq, one SELECT, req/s", [r["rps"] for r in rs], "req/s")
        self.add("peer: C one SELECT, p99", [r["p99"] for r in rs], "ms")
        port = harness.free_port()
        kv = dict(w.split("=", 1) for w in self.s.dburl.split())
        env = dict(os.environ, PEER_DATABASE_URL="postgresql://%s@/%s?host=%s&port=%s" %
                   (kv["user"], kv["dbname"], kv["host"], kv["port"]))
        py = subprocess.Popen([PY, "-m", "uvicorn", "fastapi_peer:app", "--app-dir",
                               os.path.join(HERE, "peers"), "--host", "127.0.0.1", "--port",
                               str(port), "--workers", "2", "--loop", "uvloop", "--http",
                               "httptools", "--no-access-log", "--log-level", "warning"],
                              env=env)
        try:
            harness.wait_for(lambda: self.peer_up(port), 30, what="the FastAPI peer")
            url = "http://127.0.0.1:%d" % port
            self.wrk("/bench/one", "one.lua", [USERS], url=url)
            rs = [self.wrk("/bench/one", "one.lua", [USERS], url=url) for _ in range(2)]
            self.check_peer(rs, "Python")
            self.python = max(r["rps"] for r in rs)
            self.add("peer: FastAPI + asyncpg (uvicorn, uvloop, httptools), req/s",
                     [r["rps"] for r in rs], "req/s")
            self.add("peer: FastAPI p99", [r["p99"] for r in rs], "ms")
        finally:
            py.terminate()
            py.wait(10)

    def peer_up(self, port):
        try:
            import urllib.request
            with urllib.request.urlopen("http://127.0.0.1:%d/bench/one?id=1000000001" % port,
                                        timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def check_peer(self, rs, name):
        for r in rs:
            if r["non2xx"] or r["errors"]:
                self.notes.append("%s peer: %d non-2xx, %d socket errors" %
                                  (name, r["non2xx"], r["errors"]))

    def telegram_run(self, kind, label, target_rps=""):
        rs, calls = [], []
        # a run first that is not counted: the first seconds of a kind of
        # turn read its rows from disk into the caches (a third to a half of
        # the steady rate in the first 3 s run, two thirds in the second)
        self.wrk("/telegram/webhook", "telegram.lua", [kind, self.base(), self.s.secret, USERS],
                 secs=max(self.secs, 8))
        waits, p99s, maxes = [], [], []
        for _ in range(2):
            self.settle(kind)
            self.answers_drained()
            c0 = self.tg_calls()
            seq = self.s.ctl("/_ctl/state")["seq"]
            self.s.sql("TRUNCATE bench_answers")
            r, wait = self.wrk_watching_answers("/telegram/webhook", "telegram.lua",
                                                [kind, self.base(), self.s.secret, USERS])
            waits.append(wait)
            if kind == "press":
                ages, missing = self.answer_times(seq)
                if ages:
                    p99s.append(ages[min(len(ages) - 1, int(len(ages) * 0.99))])
                    maxes.append(ages[-1])
                if missing or not ages:
                    self.notes.append("%s: %d of %d presses never answered" %
                                      (label, missing, missing + len(ages)))
            calls.append((self.tg_calls() - c0) / max(r["requests"], 1))
            if r["non2xx"] or r["errors"]:
                self.notes.append("%s: %d non-2xx, %d socket errors" %
                                  (label, r["non2xx"], r["errors"]))
            rs.append(r)
        self.add("tg-update %s, req/s" % label, [r["rps"] for r in rs], "req/s",
                 target_rps, ratio=True)
        self.add("tg-update %s, p50" % label, [r["p50"] for r in rs], "ms")
        self.add("tg-update %s, p99" % label, [r["p99"] for r in rs], "ms",
                 "< 10" if target_rps else "")
        self.add("tg-update %s, Bot API calls per update" % label, calls, "")
        if kind == "press":
            self.add("tg-update %s, longest wait of an answer in the queue" % label, waits,
                     "ms")
            self.add("tg-update %s, press → answer at Telegram, p99" % label, p99s, "ms",
                     "<= 1000")
            self.add("tg-update %s, press → answer at Telegram, max" % label, maxes, "ms")
        self.settle(kind)

    def settle(self, kind):
        """After photos: the photo checker (one process, 14-43 ms of CPU a
        photo) would go on through the thousands the run uploaded, taking a
        core from the next run; it is stopped, and the next photo starts a
        new one."""
        if kind == "photo":
            self.s.stop_photo_checker(timeout=60)

    def fal_lines(self, n, tag):
        """n trainings in flight, and the completion FAL would post for each."""
        s = self.s
        first = int(s.one("SELECT coalesce(max(id), 0) + 1 FROM avatars"))
        s.sql("INSERT INTO avatars (id, user_id, name, gender, status, training_type,"
              " fal_request_id, fal_endpoint, training_started_at, progress_chat_id,"
              " progress_message_id)"
              " SELECT %d + g, 1 + g %% %d, 'Bench ' || g, 'male', 'training', 'portrait',"
              " '%s-' || g, 'fal-ai/flux-lora-portrait-trainer', now(), 1000000001 + g %% %d, 9"
              " FROM generate_series(0, %d) g" % (first, USERS, tag, USERS, n - 1))
        s.sql("SELECT setval('avatars_id_seq', (SELECT max(id) FROM avatars))")
        # what autovacuum would know of a table that grew to this many
        # trainings over days (a bulk insert leaves it to guess)
        s.sql("ANALYZE avatars")
        # each job's webhook token, issued as start-training does (its keyed
        # hash kept); the webhooks are signed as FAL signs them (Signer) and
        # checked as in production (FAL_WEBHOOK_VERIFY on)
        key = hashlib.blake2b(b"test-fal-webhook-secret", digest_size=32).digest()
        toks = [secrets.token_urlsafe(32) for _ in range(n)]
        rows = "\n".join("avatar\t%d\t%s" % (first + g, hashlib.blake2b(
            t.encode(), key=key, digest_size=32).hexdigest()) for g, t in enumerate(toks))
        r = subprocess.run(["psql", s.dburl, "-X", "-q", "-c",
                            "COPY fal_webhook_tokens (kind, job_id, token_hash) FROM STDIN"],
                           input=rows + "\n", capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("tokens: " + r.stderr)
        jobs = []
        for g in range(n):
            aid, rid = first + g, "%s-%d" % (tag, g)
            body = {"request_id": rid, "gateway_request_id": rid, "status": "OK",
                    "payload": {"diffusers_lora_file": {
                        "url": "https://v3.fal.media/files/b/%s/lora.safetensors" % rid,
                        "content_type": "application/octet-stream",
                        "file_name": "pytorch_lora_weights.safetensors",
                        "file_size": 89745224},
                        "config_file": {"url": "https://v3.fal.media/files/b/%s/c.json" % rid}}}
            jobs.append(("/fal/webhook?avatar=%d&token=%s" % (aid, toks[g]), rid,
                         json.dumps(body)))
        return jobs, (first, first + n - 1)

    def fal_file(self, jobs, tag):
        """The webhooks as FAL sends them, signed now (a signature is good for
        300 s, and each delivery of FAL's is signed afresh)."""
        path = os.path.join(self.s.var, "fal-%s.txt" % tag)
        ts = int(time.time())
        with open(path, "w") as f:
            for url, rid, body in jobs:
                f.write("%s\t%s\t%s\n" % (url, body, "\t".join(
                    self.signer.headers(rid, body.encode(), ts))))
        return path

    def completed(self, ids, poll=None):
        # by primary key: a scan of 200,000 avatars every poll (parallel
        # workers and all) took a third of the machine from the webhook
        q = "SELECT count(*) FROM avatars WHERE id BETWEEN %d AND %d AND status = 'completed'" % ids
        return int(poll.one(q) if poll else self.s.one(q))

    def wait_completed(self, poll, start, ids, t0):
        """Until every training of ids is completed (or 300 s): the time.
        The exact count reads 20,000 rows (38 ms of PostgreSQL), and a psql
        process a poll is a new server backend: polled every 0.1 s they took
        6-10% of the machine from the figure.  So one session polls the
        audit's sequence (one row: each completion writes one audit row)
        until it has moved n, and only then counts exactly."""
        n = ids[1] - ids[0] + 1
        while time.time() - t0 < 300:
            if int(poll.one(AUDIT_SEQ)) - start >= n and self.completed(ids, poll) >= n:
                break
            time.sleep(0.05)
        return time.time() - t0

    def fal_run(self, suffix=""):
        n = 3000 if self.quick else 20000
        done, dups = [], []
        for i in range(2):
            tag = "bench%d%s" % (i, "far" if suffix else "")
            jobs, ids = self.fal_lines(n, tag)
            path = self.fal_file(jobs, tag)
            c0 = self.tg_calls()
            # wrk goes round the file until stopped:
            # the time is until the last completion is in the database.
            with Psql(self.s.dburl) as poll:
                start = int(poll.one(AUDIT_SEQ))
                t0 = time.time()
                w = subprocess.Popen(self.wrk_cmd("/fal/webhook", "fal.lua", [path, 2, "once"],
                                                  secs=300), stdout=subprocess.DEVNULL)
                secs = self.wait_completed(poll, start, ids, t0)
            w.terminate()
            w.wait()
            got = self.completed(ids)
            notes = int(self.s.one("SELECT count(*) FROM notifications"
                                   " WHERE avatar_id BETWEEN %d AND %d AND kind = 'done'"
                                   % ids))
            if got != n or notes != n:
                self.notes.append("fal-webhook run %d: %d of %d completed, %d notifications" %
                                  (i + 1, got, n, notes))
            done.append(got / secs)
            sends = (self.tg_calls() - c0) / max(got, 1)
            # FAL delivering each again: a fresh signature, a job already ended
            time.sleep(1)
            d = self.wrk("/fal/webhook", "fal.lua", [self.fal_file(jobs, tag + "again"), "2"])
            if d["non2xx"]:
                self.notes.append("fal-webhook duplicates: %d non-2xx" % d["non2xx"])
            dups.append(d["rps"])
        self.add("fal-webhook completions/s (+ notification)" + suffix, done, "/s", ">= 2000",
                 ratio=True)
        self.add("fal-webhook Telegram sends per completion" + suffix, [sends], "")
        self.add("fal-webhook duplicates/s" + suffix, dups, "/s", ">= 5000", ratio=True)

    def check_status_run(self):
        sizes = [200, 500] if self.quick else [1000, 5000, 10000]
        # the photos the photo figure left unchecked are not this figure's
        # work (cron's pass checks photos for up to 20 s after polling FAL)
        self.s.sql("UPDATE avatar_photos SET verdict = 'ok' WHERE verdict IS NULL")
        for n in sizes:
            times = []
            for i in range(2):
                tag = "poll%d-%d" % (n, i)
                first = int(self.s.one("SELECT coalesce(max(id), 0) + 1 FROM avatars"))
                base = "http://127.0.0.1:%d/fal-ai/flux-lora-portrait-trainer/requests/" % \
                    self.s.fal_port
                self.s.ctl("/_ctl/fal/bulk", {"ids": ["%s-%d" % (tag, g) for g in range(n)],
                                              "endpoint": "fal-ai/flux-lora-portrait-trainer"})
                self.s.sql(
                    "INSERT INTO avatars (id, user_id, name, gender, status, training_type,"
                    " fal_request_id, fal_endpoint, status_url, response_url, training_started_at)"
                    " SELECT %d + g, 1 + g %% %d, 'Poll ' || g, 'male', 'training', 'portrait',"
                    " '%s-' || g, 'fal-ai/flux-lora-portrait-trainer',"
                    " '%s%s-' || g || '/status', '%s%s-' || g, now() FROM generate_series(0, %d) g"
                    % (first, USERS, tag, base, tag, base, tag, n - 1))
                self.s.sql("SELECT setval('avatars_id_seq', (SELECT max(id) FROM avatars))")
                # what autovacuum knows of trainings in flight (their progress
                # rows change every pass): a bulk insert leaves the planner to
                # think few are, and it looks a training up through the
                # in-flight index instead of its primary key (1.6 ms, not 0.03)
                self.s.sql("ANALYZE avatars")
                t0 = time.time()
                r = self.s.cli("check-status", "--all")
                times.append(time.time() - t0)
                checked = json.loads(r.stdout or "{}").get("checked") if r.stdout.startswith("{") \
                    else None
                polled = int(self.s.one("SELECT count(*) FROM avatars WHERE fal_request_id LIKE"
                                        " $$%s-%%$$ AND last_status_check IS NOT NULL" % tag))
                if r.returncode != 0 or polled != n:
                    self.notes.append("check-status %d: rc %d, %d of %d polled (%s)" %
                                      (n, r.returncode, polled, n, checked))
                # out of the way of the next size
                self.s.sql("UPDATE avatars SET status = 'cancelled' WHERE fal_request_id LIKE"
                           " $$%s-%%$$" % tag)
            self.add("check-status --all, %d in flight (FAL 50 ms)" % n, times, "s",
                     "<= 15" if n == 10000 else "")

    def workers(self):
        """pid -> (program, RSS in kB) of every FastCGI worker lighttpd runs."""
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                exe = os.readlink("/proc/%s/exe" % pid)
                with open("/proc/%s/smaps_rollup" % pid) as f:
                    sm = f.read()
            except OSError:
                continue
            kb = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", sm, re.M)}
            name = os.path.basename(exe)
            if exe.startswith(os.path.dirname(self.s.bindir)) and name in (
                    "tg-update", "fal-webhook", "check-status", "hello"):
                out[int(pid)] = (name, kb.get("Rss", 0),
                                 kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0))
        return out

    def memory_run(self):
        """Mixed load in rounds (Telegram updates of all four kinds, FAL
        completions then duplicates, health checks) until 100,000 requests;
        the workers' RSS after the first round and after the last."""
        total = 10000 if self.quick else 100000
        jobs, _ = self.fal_lines(2000, "mem")
        done, samples = 0, []
        while done < total:
            path = self.fal_file(jobs, "mem")  # signed afresh each round
            for p, script, args in (
                    ("/telegram/webhook", "telegram.lua",
                     ["mixed", self.base(), self.s.secret, USERS]),
                    ("/fal/webhook", "fal.lua", [path, "1"]),
                    ("/healthz", None, [])):
                r = self.wrk(p, script, args, secs=2 if script != "telegram.lua" else 6,
                             threads=1 if script != "telegram.lua" else 2)
                done += r["requests"]
            samples.append(self.workers())
        first, last = samples[0], samples[-1]
        self.notes.append("memory: %d requests in %d rounds" % (done, len(samples)))
        for pid in sorted(last):
            name, rss, priv = last[pid]
            was = first.get(pid, last[pid])
            self.add("RSS %s (pid %d), after round 1 / all" % (name, pid),
                     [was[1] / 1024.0, rss / 1024.0], "MB", "<= 10, flat")
            self.add("  of it private to the process", [was[2] / 1024.0, priv / 1024.0], "MB")

    def cgi_run(self):
        e = self.s.env()
        env = ["env", "-i"] + ["%s=%s" % (k, e[k]) for k in (
            "PATH", "DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET",
            "TELEGRAM_API_BASE", "FAL_WEBHOOK_SECRET", "ADMIN_TOKEN", "MEDIA_DIR",
            "PUBLIC_BASE_URL")]
        cgi = ["GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1"]
        health = " ".join(env + cgi + ["REQUEST_METHOD=GET", "REQUEST_URI=/healthz",
                                       "SCRIPT_NAME=/healthz",
                                       os.path.join(self.s.bindir, "check-status")])
        upd = os.path.join(self.s.var, "help.json")
        body = json.dumps({"update_id": 77, "message": {
            "message_id": 1, "date": 1764012020, "text": "/help",
            "from": {"id": 1000000001, "is_bot": False, "first_name": "A", "language_code": "ru"},
            "chat": {"id": 1000000001, "type": "private", "first_name": "A"},
            "entities": [{"offset": 0, "length": 5, "type": "bot_command"}]}})
        with open(upd, "w") as f:
            f.write(body)
        # a fresh update_id each run would need a shell counter; a repeated
        # delivery takes the same path up to the dedupe insert, so also time
        # the first one through the full path with a new id each time.
        help_cmd = " ".join(env + cgi + [
            "REQUEST_METHOD=POST", "REQUEST_URI=/telegram/webhook", "SCRIPT_NAME=/telegram/webhook",
            "CONTENT_TYPE=application/json", "CONTENT_LENGTH=%d" % len(body),
            "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=" + self.s.secret,
            os.path.join(self.s.bindir, "tg-update"), "<", upd])
        start = " ".join(env + [os.path.join(self.s.bindir, "tg-update"), "--check-config"])
        res = {}
        for name, cmd, shell in (("process start only (--check-config)", start, False),
                                 ("healthz", health, False), ("tg-update /help", help_cmd, True)):
            vals = []
            for _ in range(2):
                jf = os.path.join(self.s.var, "hyperfine.json")
                args = ["hyperfine", "-w", "5", "-r", "30" if self.quick else "200",
                        "--export-json", jf, "-S", "sh"]
                if not shell:
                    args = [a for a in args if a not in ("-S", "sh")] + ["-N"]
                subprocess.run(args + [cmd], capture_output=True, check=True)
                with open(jf) as f:
                    vals.append(json.load(f)["results"][0]["mean"] * 1000)
            res[name] = vals
            self.add("CGI mode: %s, process start to answer" % name, vals, "ms", "<= 5")
        return res


def parse_wrk(out):
    def lat(s):
        m = re.match(r"([\d.]+)(us|ms|s)", s)
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    m = re.search(r"(\d+) requests in ([\d.]+)(s|ms|m)", out)
    r["requests"] = int(m.group(1))
    r["seconds"] = float(m.group(2)) * {"s": 1, "ms": 0.001, "m": 60}[m.group(3)]
    for p in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % p, out, re.M)
        r["p" + p] = lat(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["errors"] = sum(int(x) for x in m.groups()) if m else 0
    return r


def fmt(v):
    if isinstance(v, float):
        return "%.2f" % v if v < 100 else "%.0f" % v
    return str(v)


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 30)
    return "%s, %d cores, %d GiB, %s" % (cpu, os.cpu_count(), mem, os.uname().release)


def table(b):
    lines = ["| figure | run 1 | run 2 | unit | target | best / ceiling | / C one-SELECT"
             " | / Python peer |", "|---|---|---|---|---|---|---|---|"]

    def ratio(vals, to, ok):
        return "%.0f%%" % (100.0 * max(vals) / to) if ok and to else ""
    for name, vals, unit, target, r in b.rows:
        v = list(vals) + [""] * (2 - len(vals))
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, fmt(v[0]), fmt(v[1]), unit, target, ratio(vals, b.ceiling, r),
            ratio(vals, b.one_select, r), ratio(vals, b.python, r)))
    return "\n".join(lines)


def stack_up(bindir, procs):
    """The bench's stack under var/bench, started and seeded (bench/seed.sql);
    the caller stops it."""
    stack = harness.Stack(bindir, name="bench", pg_port=54349, conf="bench/lighttpd.conf",
                          # wrk's presses never came through the stand-in: it
                          # answers them (tests keep it strict: an unknown
                          # query is refused, as Telegram does)
                          standin_args=["--fal-latency", "50", "--foreign-queries"],
                          procs=procs)
    stack.start()
    try:
        stack.extra["FAL_WEBHOOK_VERIFY"] = "true"  # as in production
        stack.restart_lighttpd(PHOTOS_MAX="100")
        t0 = time.time()
        r = subprocess.run(["psql", stack.dburl, "-X", "-q", "-f", os.path.join(HERE, "seed.sql")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("seed failed: " + r.stderr)
    except BaseException:
        stack.stop()
        raise
    print("seeded in %.0f s" % (time.time() - t0), flush=True)
    return stack


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--procs", type=int, default=int(os.environ.get("AISHA_FCGI_PROCS", "4")))
    ap.add_argument("--only", default="", help="comma-separated: ceiling,peers,press,help,start,"
                    "photo,fal,poll,memory,cgi")
    ap.add_argument("--out", default=os.path.join(ROOT, "var", "bench-results.md"))
    ap.add_argument("--keep", action="store_true", help="leave the stack up afterwards")
    args = ap.parse_args()
    stack = stack_up(args.bin, args.procs)
    print("measuring (each figure twice)", flush=True)
    try:
        b = Bench(stack, args.quick)
        b.note_answers()
        runs = [("ceiling", b.ceiling_run), ("peers", b.peers_run),
                ("press", lambda: b.both(lambda ms: b.telegram_run(
                    "press", "button press" + ms, ">= 5000"))),
                ("help", lambda: b.both(lambda ms: b.telegram_run("help", "/help" + ms))),
                ("start", lambda: b.both(lambda ms: b.telegram_run(
                    "start", "/start of a new user" + ms))),
                ("photo", lambda: b.both(lambda ms: b.telegram_run(
                    "photo", "photo in the upload step" + ms))),
                ("fal", lambda: b.both(b.fal_run)),
                ("poll", b.check_status_run), ("memory", b.memory_run),
                ("cgi", b.cgi_run)]
        only = set(filter(None, args.only.split(",")))
        for name, fn in runs:
            if not only or name in only or name in ("ceiling", "peers"):
                fn()
    finally:
        if not args.keep:
            stack.stop()
    head = ("Machine: %s\nCommand: make bench (bench/run.py --bin %s --procs %d%s)\n"
            "Date: %s; wrk -t2 -c%d -d%ds unless noted; FastCGI workers per function: %d\n" %
            (machine(), os.path.relpath(args.bin, ROOT), args.procs,
             " --quick" if args.quick else "", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             CONNS, b.secs, args.procs))
    text = head + "\n" + table(b) + "\n"
    if b.notes:
        text += "\nNotes:\n" + "\n".join("- " + n for n in b.notes) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print("\n" + text)
    print("written to %s" % os.path.relpath(args.out, ROOT))


if __name__ == "__main__":
    main()
