#!/usr/bin/python3
"""The reliability suite: the real stack under kill -9, a database restart,
upstream outages and load, with Telegram-style retries.

    tests/reliability/run.py --bin build/gcc/bin [--short] [--only NAME]

--short is the pass inside make test (fewer users, shorter outages); the full
suite is make reliability (with the long fuzzing run and valgrind, see the
Makefile).  Every test checks the database and what the stand-ins received;
the closing line is "N passed, N failed".
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402
from harness import Fail, check, eq, test, wait_for  # noqa: E402
from tg_user import User  # noqa: E402
import hostile  # noqa: E402,F401  (the hostile pass: its tests join the suite)

FUNCS = ("tg-update", "fal-webhook", "start-training", "check-status")
SHORT = False
_uid = [770000000]


def scale(full, short):
    return short if SHORT else full


# --- Telegram's side: deliveries retried until a 2xx --------------------------------

class Person(User):
    """A user who goes through avatar creation by doing what the bot's current
    step asks, with every update delivered Telegram-style: a non-2xx answer or
    a cut connection is delivered again, with the same update_id."""

    def __init__(self, s, lang="ru"):
        _uid[0] += 1
        super().__init__(s, _uid[0], lang, "Лейла" if lang == "ru" else "Lena")
        self.acked_photos = set()
        self.retries = 0

    def send(self, update):
        for attempt in range(400):
            try:
                r = self.s.deliver(update)
            except (OSError, urllib.error.URLError):
                r = {"status": 0}
            if 200 <= r.get("status", 0) < 300:
                return r
            if "update_id" in r:
                update["update_id"] = r["update_id"]
            self.retries += 1
            time.sleep(min(0.05 * (attempt + 1), 1.0))
        raise Fail("user %d: an update was never accepted" % self.uid)

    def state(self):
        rows = self.s.sql("SELECT c.state, coalesce(c.avatar_id, 0) FROM conversations c JOIN"
                          " users u ON u.id = c.user_id WHERE u.telegram_id = %d" % self.uid)
        return rows[0] if rows else ["none", "0"]

    def submitted(self):
        return self.s.one("SELECT count(*) FROM avatars a JOIN users u ON u.id = a.user_id"
                          " WHERE u.telegram_id = %d AND a.status IN ('queued', 'submitting',"
                          " 'training', 'completed')" % self.uid) != "0"

    def step(self):
        state, aid = self.state()
        if state in ("none", "idle"):
            if self.s.one("SELECT count(*) FROM users WHERE telegram_id = %d" % self.uid) == "0":
                self.text("/start")
            self.press_raw("v1:new")
        elif state == "create_name":
            self.text("Аватар %d" % self.uid)
        elif state == "create_gender":
            self.press_raw("v1:sex:%s:1" % aid)
        elif state == "create_type":
            self.press_raw("v1:type:%s:0" % aid)
        elif state == "create_photos":
            have = int(self.s.one("SELECT count(*) FROM avatar_photos WHERE avatar_id = %s" % aid))
            if have < int(self.s.extra["PHOTOS_MIN"]):
                u = self.photo_update()
                self.send(u)
                self.acked_photos.add(u["message"]["photo"][-1]["file_unique_id"])
            else:
                self.press_raw("v1:pdone:%s" % aid)
        elif state == "create_summary":
            self.press_raw("v1:train:%s" % aid)
        else:
            raise Fail("user %d: unexpected state %s" % (self.uid, state))

    def create(self, deadline):
        while not self.submitted():
            if time.time() > deadline:
                raise Fail("user %d: stuck in %s" % (self.uid, self.state()))
            self.step()


def run_people(people, deadline):
    errors = []

    def go(p):
        try:
            p.create(deadline)
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append(str(e))
    ts = [threading.Thread(target=go, args=(p,)) for p in people]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


# --- the operator's side: cron, processes ------------------------------------------

class Cron:
    """What cron does, faster: the status checker and the startup checker."""

    def __init__(self, s, every=1.0):
        self.s, self.every = s, every
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        n = 0
        while not self.stop.wait(self.every):
            self.s.cli("check-status", "--all")
            n += 1
            if n % 3 == 0:
                startup(self.s)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        self.t.join()


def startup(s):
    """cron's startup job: the startup checker, then the queue."""
    if s.cli("check-status", "--startup").returncode == 0:
        s.cli("start-training", "--pending")


ACCEPT = ("43", "288")      # x86_64 accept, accept4: a FastCGI worker between requests


def function_pids(s, busy=False):
    """The functions' processes; busy: only those inside a request (not
    waiting in accept)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink("/proc/%s/exe" % pid)
        except OSError:
            continue
        if os.path.dirname(exe) != s.bindir or os.path.basename(exe) not in FUNCS:
            continue
        if busy:
            try:
                with open("/proc/%s/syscall" % pid) as f:
                    if f.read().split(" ")[0] in ACCEPT:
                        continue
            except OSError:
                continue
        out.append(int(pid))
    return out


def calls(s, service, method=None, via=None):
    return [c for c in s.ctl("/_ctl/calls")["calls"] if c["service"] == service and
            (method is None or c["method"] == method) and (via is None or c["via"] == via)]


def fal_submits_per_avatar(s):
    per = {}
    for c in calls(s, "fal", "submit"):
        if c["status"] != 200:
            continue
        q = c["params"].get("query", "")
        aid = q.split("avatar%3D")[-1].split("%26")[0] if "avatar%3D" in q else q
        per[aid] = per.get(aid, 0) + 1
    return per


def sent_twice(s):
    """(chat, text) pairs the bot sent more than once on its own (not answers)."""
    seen, twice = set(), []
    for c in calls(s, "telegram", "sendMessage", "api"):
        if c["status"] != 200:
            continue
        k = (str(c["params"].get("chat_id")), c["params"].get("text"))
        if k in seen:
            twice.append(k)
        seen.add(k)
    return twice


def finish_trainings(s, timeout):
    """Lets cron and FAL's webhooks finish every avatar that was sent off."""
    def done():
        s.cli("check-status", "--all")
        startup(s)
        return s.one("SELECT count(*) FROM avatars WHERE status IN ('queued', 'submitting',"
                     " 'training')") == "0"
    wait_for(done, timeout, 1.0, "every training to finish")


# --- the tests --------------------------------------------------------------------------

@test
def kill_9_during_creation_flows(s):
    s.ctl("/_ctl/reset_failures", {})
    people = [Person(s, random.choice(["ru", "en"])) for _ in range(scale(50, 12))]
    kills, target = [0], scale(100, 25)
    stop = threading.Event()

    def killer():
        rnd = random.Random(7)
        while kills[0] < target and not stop.is_set():
            # mostly a process in the middle of a request, sometimes any
            pids = function_pids(s, busy=rnd.random() < 0.8)
            if pids:
                try:
                    os.kill(rnd.choice(pids), signal.SIGKILL)
                    kills[0] += 1
                except ProcessLookupError:
                    pass
                time.sleep(rnd.uniform(0.02, 0.12))
            else:
                time.sleep(0.002)
    k = threading.Thread(target=killer)
    with Cron(s):
        k.start()
        errors = run_people(people, time.time() + scale(240, 120))
        stop.set()
        k.join()
    eq(errors, [], "every person finished creating an avatar")
    finish_trainings(s, 60)
    print("      %d people, %d kills, %d redeliveries" %
          (len(people), kills[0], sum(p.retries for p in people)))
    # the short pass too: a pass that killed nothing proved nothing
    check(kills[0] >= target, "killed %d times, want %d" % (kills[0], target))
    for p in people:
        stored = [r[0] for r in s.sql(
            "SELECT ph.file_unique_id FROM avatar_photos ph JOIN avatars a ON a.id = ph.avatar_id"
            " JOIN users u ON u.id = a.user_id WHERE u.telegram_id = %d" % p.uid)]
        check(p.acked_photos <= set(stored), "user %d: an acknowledged photo was lost" % p.uid)
        eq(len(stored), len(set(stored)), "user %d: photos stored once" % p.uid)
        eq(p.state()[0], "idle", "user %d: conversation back at the menu" % p.uid)
    per = fal_submits_per_avatar(s)
    eq([a for a, n in per.items() if n > 1], [], "avatars submitted to FAL twice")
    eq(sent_twice(s), [], "messages the bot sent twice")
    eq(s.one("SELECT count(*) FROM avatars WHERE status = 'completed'"), str(len(people)),
       "every avatar trained")
    # a sender killed mid-batch leaves its claims for a minute; then cron's
    # pass (played here) sends them
    def settled():
        if s.one("SELECT count(*) FROM notifications WHERE status = 'pending'") == "0":
            return True
        s.cli("check-status", "--all")
        return False
    wait_for(settled, 100, 2, "every notification settled")
    eq(s.one("SELECT count(*) FROM notifications WHERE status <> 'sent' AND ordered"), "0",
       "every message delivered")
    late = s.one("SELECT count(*) FROM notifications WHERE status <> 'sent' AND NOT ordered")
    print("      %s button answers dropped: Telegram refused them as too old" % late)


def start_training_pids(s):
    return [pid for pid in function_pids(s)
            if os.path.basename(os.readlink("/proc/%d/exe" % pid)) == "start-training"]


@test
def kill_9_between_the_charge_and_the_fal_submit(s):
    """The bot's start-training, killed after its claim (and charge) committed
    while FAL holds the submit: the startup checker gives the claim back, the
    next start finds it paid, FAL gets one submission, and the credits are
    charged once."""
    # every person's start at once (the cap on parallel starts has its own test)
    s.restart_lighttpd(CREDITS_START="300", PRICE_TRAINING="100", PRICE_GENERATION="10",
                       START_TRAINING_MAX_PARALLEL="100")
    try:
        s.ctl("/_ctl/reset_failures", {})
        s.ctl("/_ctl/fail", {"service": "fal", "method": "submit", "status": 0, "sleep": 30,
                             "count": 1000})
        people = [Person(s) for _ in range(scale(12, 4))]
        for p in people:
            p.create(time.time() + 60)
        aids = [p.avatar() for p in people]

        def all_charged_and_waiting():
            return all(s.one("SELECT count(*) FROM credit_entries WHERE reason = 'training'"
                             " AND reference LIKE 'avatar:%s:%%'" % aid) == "1" and
                       s.one("SELECT status FROM avatars WHERE id = %s" % aid) == "submitting"
                       for aid in aids)
        wait_for(all_charged_and_waiting, 30, 0.1, "every start charged and waiting on FAL")
        time.sleep(0.3)  # into the submit, which FAL holds
        pids = start_training_pids(s)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        check(len(pids) >= len(aids), "killed %d starts for %d avatars" % (len(pids), len(aids)))
        s.ctl("/_ctl/reset_failures", {})
        time.sleep(6)   # past TRAINING_CLAIM_TIMEOUT: the claims count as crashed
        finish_trainings(s, 90)
        per = fal_submits_per_avatar(s)
        eq([a for a, n in per.items() if n > 1], [], "avatars submitted to FAL twice")
        for p, aid in zip(people, aids):
            charges = s.sql("SELECT delta FROM credit_entries WHERE reason = 'training' AND"
                            " reference LIKE 'avatar:%s:%%'" % aid)
            eq(charges, [["-100"]], "avatar %s charged once" % aid)
            eq(s.one("SELECT balance FROM users WHERE telegram_id = %d" % p.uid), "200",
               "user %d: 300 - 100" % p.uid)
            eq(s.one("SELECT status FROM avatars WHERE id = %s" % aid), "completed",
               "avatar %s trained" % aid)
        print("      %d starts killed between the charge and the submit" % len(pids))
    finally:
        s.ctl("/_ctl/reset_failures", {})
        s.restart_lighttpd()


def healthz(s):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % s.port, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


@test
def database_restart_under_load(s):
    acked, lock = [], threading.Lock()
    stop = threading.Event()

    def load(i):
        p = Person(s)
        while not stop.is_set():
            u = p.message(text="/start", entities=[{"offset": 0, "length": 6,
                                                     "type": "bot_command"}])
            r = p.send(u)
            with lock:
                acked.append(r["update_id"])
            # a new user each time: a write that must survive the restart
            # (a normal stop writes every commit, waited for or not: it is
            # a crash of the machine that loses one that did not wait)
            _uid[0] += 1
            p.uid = p.user["id"] = p.chat["id"] = _uid[0]
    ts = [threading.Thread(target=load, args=(i,)) for i in range(scale(20, 8))]
    for t in ts:
        t.start()
    time.sleep(2)
    s.pg("stop")
    t_down = time.time()
    during = []
    while time.time() - t_down < 3:
        during.append(healthz(s))
        time.sleep(0.2)
    s.pg("start")
    t_up = time.time()
    while healthz(s) != 200 and time.time() - t_up < 30:
        time.sleep(0.05)
    back = time.time() - t_up
    time.sleep(3)
    stop.set()
    for t in ts:
        t.join(60)
    print("      healthz while down: %s; 200 again %.2f s after the database; %d updates acked"
          % (sorted(set(during)), back, len(acked)))
    check(during and all(c == 503 for c in during), "healthz 503 while down: %s" % during)
    check(back <= 5, "healthz 200 within 5 s (took %.1f s)" % back)
    ids = set(int(r[0]) for r in s.sql("SELECT update_id FROM tg_updates"))
    lost = [a for a in acked if a not in ids]
    eq(lost, [], "acknowledged updates lost")
    users = int(s.one("SELECT count(*) FROM users WHERE telegram_id > 770000000"))
    check(users >= len(acked), "every acknowledged /start left its user (%d < %d)" %
          (users, len(acked)))


@test
def upstream_outages_then_everything_once_in_order(s):
    secs = scale(60, 8)
    people = [Person(s, "en") for _ in range(scale(10, 4))]
    s.ctl("/_ctl/fail", {"rules": [
        {"service": "fal", "method": "submit", "status": 500, "seconds": secs},
        {"service": "fal", "method": "status", "status": 0, "seconds": secs},
        {"service": "telegram", "method": "sendMessage", "status": 429, "retry_after": 2,
         "seconds": secs * 2},
        {"service": "telegram", "method": "editMessageText", "status": 429, "retry_after": 2,
         "seconds": secs * 2}]})
    t0 = time.time()
    with Cron(s):
        errors = run_people(people, time.time() + 120)
        eq(errors, [], "people finished while the upstreams were failing")
        wait_for(lambda: time.time() - t0 > secs * 2 + 1, secs * 2 + 5, 0.5, "the outages")
        finish_trainings(s, 120)
        wait_for(lambda: s.one("SELECT count(*) FROM notifications WHERE status = 'pending'")
                 == "0", 60, 1.0, "the outbox to drain")
    eq(sent_twice(s), [], "messages sent twice")
    # in order per chat: the outbox's rows, by id, are the order sent
    for p in people:
        rows = s.sql("SELECT n.id FROM notifications n JOIN users u ON u.id = n.user_id"
                     " WHERE u.telegram_id = %d AND n.status = 'sent' ORDER BY n.sent_at, n.id"
                     % p.uid)
        ids = [int(r[0]) for r in rows]
        eq(ids, sorted(ids), "user %d: notifications in order" % p.uid)
        check(len(ids) >= 1, "user %d: notified" % p.uid)
        done = [c for c in calls(s, "telegram", "sendMessage", "api")
                if c["status"] == 200 and str(c["params"].get("chat_id")) == str(p.uid) and
                "ready" in c["params"].get("text", "")]
        eq(len(done), 1, "user %d: one 'ready' message" % p.uid)


def sender_lock_held(s):
    """The outbox's sender holds advisory lock 4246 (shared/outbox.c)."""
    return s.one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                 " AND classid = 0 AND objid = 4246 AND objsubid = 1") != "0"


def expire_dead_claims(s):
    s.sql("UPDATE notifications SET claimed_until = now() - interval '1 second'"
          " WHERE kind = 'burst' AND status = 'pending' AND claimed_until > now()"
          " AND claimed_until < now() + interval '61 seconds'")


@test
def kill_9_of_the_sender_mid_burst_loses_nothing_and_doubles_only_what_was_in_flight(s):
    """A burst of messages to a few chats (at about 30 a second overall, a
    few seconds of sending); the sender is killed with SIGKILL mid-burst,
    twice.  Every message arrives, each chat's in its order; a message can
    arrive twice only if its call was in flight at a kill (Telegram may
    have taken it; there is no way to ask)."""
    chats, per = scale(8, 5), scale(25, 12)
    s.ctl("/_ctl/config", {"latency_ms": 40})
    base = 640000000
    for c in range(chats):
        s.sql("INSERT INTO users (telegram_id, first_name) VALUES (%d, 'K') ON CONFLICT DO"
              " NOTHING" % (base + c))
    # no sender of an earlier test takes the burst (killed after it had
    # claimed rows, its claims would hold them for a minute)
    s.kill_detached()
    rows = ",".join(
        "((SELECT id FROM users WHERE telegram_id = %d), %d, 'burst', 'burst:%d:%d',"
        " jsonb_build_object('method', 'sendMessage', 'params', jsonb_build_object("
        "'chat_id', %d, 'text', 'burst %d %03d')))" % (base + c, base + c, c, k, base + c, c, k)
        for k in range(per) for c in range(chats))
    s.sql("INSERT INTO notifications (user_id, chat_id, kind, dedupe_key, payload) VALUES "
          + rows)
    in_flight = set()
    try:
        for kill in range(2):
            # a killed sender's claims run out after a minute (it may have
            # held every chat's next message, and each chat waits for its
            # own): that minute passes at once here
            expire_dead_claims(s)
            # a killed sender's session lets go of the lock a moment later
            wait_for(lambda: not sender_lock_held(s), 10, 0.05, "the sender's lock free")
            sender = subprocess.Popen([os.path.join(s.bindir, "check-status"), "--send"],
                                      env=s.cli_env(), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            wait_for(lambda: sender_lock_held(s), 10, 0.05, "the new sender up")
            sent0 = int(s.one("SELECT count(*) FROM notifications WHERE kind = 'burst'"
                              " AND status = 'sent'"))
            try:
                wait_for(lambda: int(s.one("SELECT count(*) FROM notifications WHERE kind ="
                                           " 'burst' AND status = 'sent'")) >= sent0 + 3,
                         15, 0.05, "the new sender sending")
            except Fail:
                raise Fail("the new sender (alive %s) sent nothing: %s; holder %s" % (
                    sender.poll() is None, s.sql(
                        "SELECT status, last_error, attempts, claimed_until > now(), count(*)"
                        " FROM notifications WHERE kind = 'burst' GROUP BY 1, 2, 3, 4"),
                    s.sql("SELECT a.pid, a.state, left(a.query, 60) FROM pg_locks l JOIN"
                          " pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
                          " AND l.objid = 4246")))
            sender.kill()
            sender.wait()
            # what it had claimed and not settled: in flight, or about to be
            in_flight |= set(r[0] for r in s.sql(
                "SELECT payload->'params'->>'text' FROM notifications WHERE kind = 'burst'"
                " AND status = 'pending' AND claimed_until > now()"))
            left = int(s.one("SELECT count(*) FROM notifications WHERE kind = 'burst'"
                             " AND status = 'pending'"))
            check(0 < left < chats * per, "kill %d came mid-burst (%d of %d left: %s)" %
                  (kill + 1, left, chats * per, s.sql(
                      "SELECT status, last_error, attempts, count(*) FROM notifications"
                      " WHERE kind = 'burst' GROUP BY 1, 2, 3")))
        # the dead sender's claims run out after a minute; then the rest goes
        expire_dead_claims(s)
        sender = subprocess.Popen([os.path.join(s.bindir, "check-status"), "--send"],
                                  env=s.cli_env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        wait_for(lambda: s.one("SELECT count(*) FROM notifications WHERE kind = 'burst'"
                               " AND status = 'pending'") == "0", 60, 0.5, "the burst to drain")
        sender.kill()
        sender.wait()
    finally:
        s.ctl("/_ctl/config", {"latency_ms": 0})
    got = {}
    for c in calls(s, "telegram", "sendMessage", "api"):
        t = c["params"].get("text", "")
        if c["status"] == 200 and t.startswith("burst "):
            got.setdefault(str(c["params"].get("chat_id")), []).append(t)
    doubled = []
    for c in range(chats):
        texts = got.get(str(base + c), [])
        want = ["burst %d %03d" % (c, k) for k in range(per)]
        eq(sorted(set(texts)), want, "chat %d: every message arrived" % c)
        firsts = [t for i, t in enumerate(texts) if t not in texts[:i]]
        eq(firsts, want, "chat %d: in order" % c)
        doubled += [t for t in set(texts) if texts.count(t) > 1]
    eq(sorted(set(doubled) - in_flight), [], "sent twice though not in flight at a kill")
    print("      %d messages, 2 kills, %d were in flight at a kill, %d arrived twice" %
          (chats * per, len(in_flight), len(doubled)))


def photo_checker_pids(s):
    return s.detached_pids((b"check-status",), b"--check-photos")


@test
def kill_9_of_the_photo_checker_mid_album_loses_and_doubles_no_verdict(s):
    """Avatars at the photo step with photos to check; Telegram answers
    slowly, so the photo checker is surely mid-album; it is killed with
    SIGKILL, twice.  Once the dead checker's claims run out, the next checks
    the rest: every photo gets one verdict, none is checked twice except the
    one in hand at a kill, and a rejection is told once."""
    people, per = scale(4, 3), 5
    s.kill_detached()
    s.ctl("/_ctl/config", {"latency_ms": 60})
    blurred = []
    with open(os.path.join(ROOT, "tests", "fixtures", "photos", "blurred.jpg"), "rb") as f:
        blurred_b64 = __import__("base64").b64encode(f.read()).decode()
    for p in range(people):
        _uid[0] += 1
        uid = s.one("INSERT INTO users (telegram_id, first_name) VALUES (%d, 'P')"
                    " RETURNING id" % _uid[0])
        aid = s.one("INSERT INTO avatars (user_id, name, gender, training_type, status)"
                    " VALUES (%s, 'Фото %d', 'female', 'portrait', 'photos') RETURNING id"
                    % (uid, p))
        for k in range(per):
            fid = "AgK_%s_%d" % (aid, k)
            if k == 2:
                s.ctl("/_ctl/file", {"file_id": fid, "raw_b64": blurred_b64})
                blurred.append(fid)
            s.sql("INSERT INTO avatar_photos (avatar_id, file_id, file_unique_id, source, width,"
                  " height) VALUES (%s, '%s', 'U%s', 'photo', 1280, 960)" % (aid, fid, fid))
    total = people * per

    def judged():
        return int(s.one("SELECT count(*) FROM avatar_photos WHERE file_id LIKE 'AgK_%%'"
                         " AND verdict IS NOT NULL"))
    try:
        for kill in range(2):
            s.sql("UPDATE avatar_photos SET check_claimed_until = now() - interval '1 second'"
                  " WHERE verdict IS NULL AND file_id LIKE 'AgK_%'")
            before = judged()
            checker = subprocess.Popen([os.path.join(s.bindir, "check-status"),
                                        "--check-photos"], env=s.cli_env(),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(lambda: judged() >= before + 2, 20, 0.02, "the checker at work")
            checker.kill()
            checker.wait()
            left = total - judged()
            check(left > 0, "kill %d came mid-album (%d of %d left)" % (kill + 1, left, total))
        s.sql("UPDATE avatar_photos SET check_claimed_until = now() - interval '1 second'"
              " WHERE verdict IS NULL AND file_id LIKE 'AgK_%'")
        r = subprocess.run([os.path.join(s.bindir, "check-status"), "--all"], env=s.cli_env(),
                           capture_output=True, text=True, timeout=120)
        eq(r.returncode, 0, r.stderr)
    finally:
        s.ctl("/_ctl/config", {"latency_ms": 0})
    eq(judged(), total, "every photo has its verdict")
    eq(sorted(r[0] for r in s.sql("SELECT file_id FROM avatar_photos WHERE file_id LIKE"
                                  " 'AgK_%' AND verdict = 'blurry'")), sorted(blurred),
       "the blurred photos, and only they, rejected")
    tries = [int(r[0]) for r in s.sql("SELECT check_tries FROM avatar_photos WHERE file_id"
                                      " LIKE 'AgK_%'")]
    check(max(tries) <= 2 and tries.count(2) <= 2, "checked twice only when in hand at a kill:"
          " %r" % tries)
    fetched = {}
    for c in calls(s, "telegram", "getFile"):
        fid = c["params"].get("file_id", "")
        if fid.startswith("AgK_"):
            fetched[fid] = fetched.get(fid, 0) + 1
    eq(len(fetched), total, "every photo fetched")
    check(sum(1 for n in fetched.values() if n > 1) <= 2, "fetched twice: %r" % fetched)
    print("      %d photos, 2 kills, tries %r" % (total, sorted(tries)))


@test
def load_of_concurrent_users(s):
    n, secs = scale(200, 40), scale(60, 10)
    lat, codes, lock = [], {}, threading.Lock()
    stop = threading.Event()

    def user():
        p = Person(s)
        seq = 0
        while not stop.is_set():
            seq += 1
            if seq % 3 == 0:
                u = p.callback_update("v1:menu")
                # posted straight to the bot: the stand-in learns the query
                # Telegram would have sent, or refuses its answer
                s.ctl("/_ctl/query", {"id": u["callback_query"]["id"]})
            else:
                u = p.message(text="/help" if seq % 3 == 1 else "/start",
                              entities=[{"offset": 0, "length": 5 if seq % 3 == 1 else 6,
                                         "type": "bot_command"}])
            u["update_id"] = p.uid * 1000 + seq
            t = time.time()
            r = s.webhook(u)
            with lock:
                lat.append(time.time() - t)
                codes[r.status] = codes.get(r.status, 0) + 1
            time.sleep(random.uniform(0.0, 0.2))
    ts = [threading.Thread(target=user) for _ in range(n)]
    for t in ts:
        t.start()
    time.sleep(secs)
    stop.set()
    for t in ts:
        t.join()
    lat.sort()
    p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000
    print("      %d users for %d s: %d updates, status %s, p50 %.1f ms, p99 %.1f ms" %
          (n, secs, len(lat), codes, p50, p99))
    # every update was authentic and well formed: each one is a 200
    check(len(lat) > n, "updates sent: %d" % len(lat))
    eq(sorted(codes), [200], "answers other than 200: %r" % codes)


def main():
    global SHORT
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--only", default=None)
    ap.add_argument("--keep", action="store_true", help="leave the stack running")
    args = ap.parse_args()
    SHORT = args.short
    s = harness.Stack(args.bin, name="reliability", pg_port=54359, procs=4)
    # small numbers so flows are short and crashed claims come back soon
    s.extra = {"PHOTOS_MIN": "3", "PHOTOS_MAX": "5", "TRAINING_CLAIM_TIMEOUT": "5"}
    try:
        s.start()
        passed, failed = harness.run_all(s, args.only)
    finally:
        if not args.keep:
            s.stop()
    print("reliability: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
