"""Credits and Telegram Stars: the ledger, charges and refunds, the limits and
the budget breaker, payments (invoice, pre-checkout, successful_payment) and
the operator's API — through lighttpd, with a real database and the
stand-ins."""
import contextlib
import json
import threading
import uuid

from harness import check, eq, test, wait_for
from tg_user import User

_uid = [660000000]

CREDITS = {"CREDITS_START": "300", "PRICE_TRAINING": "100", "PRICE_GENERATION": "10",
           "CREDIT_PACKS": "100:50,500:200", "TRAININGS_PER_DAY": "0",
           "GENERATIONS_PER_DAY": "0", "FAL_DAILY_BUDGET_USD": "0"}


@contextlib.contextmanager
def credits(s, **extra):
    """The functions with prices on (and extra settings) for one test."""
    env = dict(CREDITS)
    env.update(extra)
    s.restart_lighttpd(**env)
    try:
        yield
    finally:
        s.restart_lighttpd()


def new_user(s, lang="ru"):
    _uid[0] += 1
    u = User(s, _uid[0], lang, "Алия")
    u.text("/start")
    return u


def balance(s, tid):
    return int(s.one("SELECT balance FROM users WHERE telegram_id = %d" % tid))


def entries(s, tid, reason=None):
    return s.sql("SELECT e.reason, e.delta, e.reference FROM credit_entries e JOIN users u"
                 " ON u.id = e.user_id WHERE u.telegram_id = %d%s ORDER BY e.id"
                 % (tid, "" if reason is None else " AND e.reason = '%s'" % reason))


def grant(s, tid, delta, key):
    return s.http("POST", "/api/users/%d/credits" % tid, {"delta": delta, "key": key},
                  headers=s.admin_headers())


def queued_avatar(s, u):
    """An avatar of u's waiting in the queue, as the bot leaves it."""
    aid = s.one("INSERT INTO avatars (user_id, name, gender, training_type) VALUES"
                " (%s, 'Ава', 'female', 'portrait') RETURNING id" % u.db_user_id())
    for i in range(10):
        s.sql("INSERT INTO avatar_photos (avatar_id, file_id, file_unique_id, source, width,"
              " height) VALUES (%s, 'AgC_%s_%d', 'UC_%s_%d', 'photo', 1280, 960)"
              % (aid, aid, i, aid, i))
    s.sql("UPDATE avatars SET status = 'queued', queued_at = now() - interval '5 minutes',"
          " next_attempt_at = now() WHERE id = %s" % aid)
    return aid


def trained_avatar(s, u):
    aid = s.one("INSERT INTO avatars (user_id, name, gender, training_type, trigger_phrase)"
                " VALUES (%s, 'Студия', 'female', 'portrait', 'TOK') RETURNING id"
                % u.db_user_id())
    s.sql("UPDATE avatars SET status = 'completed', fal_request_id = 'req-%s',"
          " diffusers_lora_file_url = 'https://v3.fal.media/files/x/lora.safetensors',"
          " training_completed_at = now() WHERE id = %s" % (uuid.uuid4().hex, aid))
    return aid


def train(s, aid):
    return s.http("POST", "/api/avatars/%s/train" % aid, headers=s.admin_headers(), raw=b"")


def status(s, aid):
    return s.one("SELECT status FROM avatars WHERE id = %s" % aid)


def generate(u):
    u.press_raw("v1:gen")
    u.press("v1:gt:")
    u.press("v1:gar:")
    u.press("v1:ggo:")


def gen_rows(s, tid):
    return s.sql("SELECT g.status FROM generations g JOIN users u ON u.id = g.user_id"
                 " WHERE u.telegram_id = %d ORDER BY g.id" % tid)


def buy(s, u, pack="v1:buy:0:"):
    """Presses Balance, then a pack: the invoice it sends."""
    seq = s.seq()
    u.press_raw("v1:bal")
    u.press(pack)
    inv = [c for c in s.calls(seq, "sendInvoice") if c["params"].get("chat_id") == u.uid]
    eq(len(inv), 1, "one invoice")
    return inv[0]["params"]


@test
def start_credits_are_granted_once_and_the_balance_shows_the_packs(s):
    with credits(s):
        u = new_user(s)
        eq(balance(s, u.uid), 300, "CREDITS_START on registration")
        eq(s.sql("SELECT e.reference, e.balance_after, c.state FROM credit_entries e"
                 " JOIN users u ON u.id = e.user_id JOIN conversations c ON c.user_id = u.id"
                 " WHERE u.telegram_id = %d" % u.uid),
           [["user:" + s.one("SELECT id FROM users WHERE telegram_id = %d" % u.uid), "300",
             "idle"]], "the ledger's entry (its balance after) and the idle conversation")
        u.text("/start")
        eq(len(entries(s, u.uid, "start")), 1, "granted once")
        eq(balance(s, u.uid), 300, "not twice")
        seq = s.seq()
        u.text("/balance")
        check(any("300" in t for t in u.texts(seq)), "the balance is shown: %r" % u.texts(seq))
        m, data = u.button("v1:buy:1:")
        eq(data, "v1:buy:1:500", "the second pack (500 credits)")
        check("200" in json.dumps(m["reply_markup"], ensure_ascii=False), "its price in Stars")


@test
def a_training_is_charged_once_and_refunded_once_when_it_fails(s):
    with credits(s, CREDITS_START="0"):
        u = new_user(s)
        r = grant(s, u.uid, 150, "grant-%d" % u.uid)
        eq(r.status, 200, "grant: %s" % r.body)
        eq(r.json()["balance"], 150, "granted")
        eq(grant(s, u.uid, 150, "grant-%d" % u.uid).json()["outcome"], "duplicate",
           "the same key grants once")
        eq(balance(s, u.uid), 150, "still 150")
        aid = queued_avatar(s, u)
        s.ctl("/_ctl/fail", {"service": "fal", "method": "result", "status": 422})
        seq = s.seq()
        eq(train(s, aid).status, 202, "started")
        wait_for(lambda: status(s, aid) == "error", 8, what="the ERROR webhook")
        eq([e[:2] for e in entries(s, u.uid)], [["admin", "150"], ["training", "-100"],
                                                ["refund", "100"]], "charge and refund")
        eq(balance(s, u.uid), 150, "all back")
        check(any("вернулись" in t for t in u.texts(seq)), "the person hears of the refund")
        # the checkers pass again: still one refund
        rid = s.one("SELECT fal_request_id FROM avatars WHERE id = %s" % aid)
        s.cli("check-status", "--all")
        eq(len(entries(s, u.uid, "refund")), 1, "refunded once (request %s)" % rid)


@test
def a_picture_is_charged_and_nsfw_blocked_ones_are_refunded(s):
    with credits(s):
        u = new_user(s)
        trained_avatar(s, u)
        seq = s.seq()
        generate(u)
        wait_for(lambda: gen_rows(s, u.uid) == [["completed"]], 10, what="the picture")
        eq(balance(s, u.uid), 290, "charged 10")
        s.ctl("/_ctl/fail", {"service": "fal", "method": "nsfw"})
        generate(u)
        wait_for(lambda: len(gen_rows(s, u.uid)) == 2 and gen_rows(s, u.uid)[1] == ["completed"],
                 10, what="the blocked picture")
        eq(balance(s, u.uid), 290, "the blocked picture is refunded")
        eq([e[:2] for e in entries(s, u.uid) if e[0] != "start"],
           [["generation", "-10"], ["generation", "-10"], ["refund", "10"]], "the ledger")
        check(any("вернулись" in t for t in u.texts(seq)), "told")


@test
def two_trainings_at_once_with_credits_for_one_start_exactly_one(s):
    with credits(s, CREDITS_START="100"):
        u = new_user(s)
        a1, a2 = queued_avatar(s, u), queued_avatar(s, u)
        seq = s.seq()
        codes = {}
        ts = [threading.Thread(target=lambda a=a: codes.__setitem__(a, train(s, a).status))
              for a in (a1, a2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        eq(sorted(codes.values()), [202, 422], "one starts, one is refused: %r" % codes)
        eq(balance(s, u.uid), 0, "never below zero")
        eq(len([c for c in s.calls(seq, "submit", service="fal")]), 1, "one FAL submission")
        loser = a1 if codes[a1] == 422 else a2
        eq(s.one("SELECT training_error FROM avatars WHERE id = %s" % loser),
           "not enough credits", "the loser's reason")
        m, data = u.button("v1:buy:0:")
        check("Не хватает" in m.get("text", ""), "told, with the packs: %r" % m.get("text"))


@test
def not_enough_credits_at_confirm_shows_the_packs_and_queues_nothing(s):
    with credits(s, CREDITS_START="5"):
        u = new_user(s)
        trained_avatar(s, u)
        seq = s.seq()
        generate(u)
        eq(gen_rows(s, u.uid), [], "no job")
        check(any("Не хватает" in t for t in u.texts(seq)), "told: %r" % u.texts(seq))
        u.button("v1:buy:0:")
        eq(balance(s, u.uid), 5, "nothing charged")


@test
def the_daily_limit_refuses_the_next_picture(s):
    with credits(s, GENERATIONS_PER_DAY="1"):
        u = new_user(s)
        trained_avatar(s, u)
        generate(u)
        wait_for(lambda: gen_rows(s, u.uid) == [["completed"]], 10, what="the first picture")
        # the person sees the picture (and «Генерирую…» ended) before tapping
        # again: a tap on the button-less status message would be turned into
        # the templates, then edited back by the late status edit
        u.settled()
        seq = s.seq()
        generate(u)
        eq(len(gen_rows(s, u.uid)), 1, "no second job today")
        check(any("лимит" in t for t in u.texts(seq)), "told of the limit: %r" % u.texts(seq))
        eq(balance(s, u.uid), 290, "charged once")


@test
def the_budget_breaker_keeps_a_training_queued_and_says_so_once(s):
    with credits(s, FAL_DAILY_BUDGET_USD="3", FAL_COST_TRAINING_USD="2"):
        s.sql("TRUNCATE credit_entries")  # today's spend starts at zero
        u1, u2 = new_user(s), new_user(s)
        a1, a2 = queued_avatar(s, u1), queued_avatar(s, u2)
        eq(train(s, a1).status, 202, "the first fits the budget")
        seq = s.seq()
        r = train(s, a2)
        eq(r.status, 503, "the second waits: %s" % r.body)
        eq(status(s, a2), "queued", "still queued")
        eq(balance(s, u2.uid), 300, "not charged")
        s.cli("start-training", "--pending")
        eq(status(s, a2), "queued", "still over the budget")
        later = [t for t in u2.texts(seq) if "очереди" in t]
        eq(len(later), 1, "told once that it starts later: %r" % u2.texts(seq))
        with open(s.var + "/log/functions.log") as f:
            check("FAL budget" in f.read(), "the operator sees it in the log")
        st = json.loads(s.cli("check-status", "--all").stdout)
        eq((st["fal_spend_today_usd"], st["fal_budget_usd"]), (2, 3), "and in the status API")
    with credits(s):
        s.cli("start-training", "--pending")
        check(status(s, a2) in ("training", "completed"), "starts once the budget allows")


def paid(s, u, deliveries=1, **over):
    body = {"user": u.user, "chat_id": u.uid, "deliveries": deliveries}
    body.update(over)
    return s.ctl("/_ctl/pay", body)


@test
def a_stars_payment_is_credited_once_when_delivered_twice(s):
    with credits(s, CREDITS_START="0"):
        u = new_user(s)
        inv = buy(s, u)
        eq(inv["currency"], "XTR", "Stars")
        eq(inv.get("provider_token", ""), "", "no provider token")
        eq([p["amount"] for p in inv["prices"]], [50], "one price: the pack's Stars")
        check(len(inv["payload"].encode()) <= 128, "payload within 128 bytes")
        seq = s.seq()
        r = paid(s, u, deliveries=2)
        eq(r["answer"], {"ok": True, "error_message": None}, "pre-checkout accepted")
        ans = [c for c in s.calls(seq, "answerPreCheckoutQuery")]
        eq([c["via"] for c in ans], ["webhook"], "answered in the webhook answer")
        eq(balance(s, u.uid), 100, "the pack, once")
        eq(len(entries(s, u.uid, "topup")), 1, "one ledger entry")
        eq(s.one("SELECT count(*) FROM payments WHERE charge_id = '%s'" % r["charge_id"]), "1",
           "one payment")
        eq(len([t for t in u.texts(seq) if "+100" in t]), 1, "told once")


@test
def a_pre_checkout_that_does_not_match_a_pack_is_refused(s):
    with credits(s, CREDITS_START="0"):
        u, other = new_user(s), new_user(s)
        inv = buy(s, u)
        for over in ({"payload": "pack:999:1:%s" % u.db_user_id(), "amount": 1},
                     {"payload": inv["payload"].rsplit(":", 1)[0] + ":" + other.db_user_id()},
                     {"amount": 1},
                     {"payload": "free credits"}):
            r = paid(s, u, **over)
            check(r["answer"] is not None and r["answer"]["ok"] is False,
                  "refused %r: %r" % (over, r["answer"]))
            check(r["answer"]["error_message"], "with a reason")
            check("charge_id" not in r, "no payment follows")
        eq(balance(s, u.uid), 0, "nothing credited")
        eq(s.one("SELECT count(*) FROM payments WHERE telegram_id = %d" % u.uid), "0",
           "no payment")


@test
def the_operator_refunds_a_payment_and_takes_back_what_is_there(s):
    with credits(s, CREDITS_START="0"):
        u = new_user(s)
        buy(s, u)
        charge = paid(s, u)["charge_id"]
        eq(grant(s, u.uid, -70, "spent-%d" % u.uid).status, 200, "70 spent")
        eq(grant(s, u.uid, -70, "too-much-%d" % u.uid).status, 409, "never below zero")
        seq = s.seq()
        r = s.http("POST", "/api/payments/%s/refund" % charge, headers=s.admin_headers(), raw=b"")
        eq(r.status, 200, "refund: %s" % r.body)
        eq((r.json()["credits_taken"], r.json()["credits_not_taken"]), (30, 70),
           "took what was there, said what it could not")
        calls = s.calls(seq, "refundStarPayment")
        eq([(c["params"]["user_id"], c["params"]["telegram_payment_charge_id"]) for c in calls],
           [(u.uid, charge)], "refundStarPayment for the payer")
        eq(balance(s, u.uid), 0, "balance")
        eq(s.http("POST", "/api/payments/%s/refund" % charge, headers=s.admin_headers(),
                  raw=b"").status, 409, "refunded once")
        check(any("возвращён" in t for t in u.texts(seq)), "the person is told")
        r = s.http("GET", "/api/users/%d" % u.uid, headers=s.admin_headers())
        eq(r.status, 200, "the operator's view")
        eq(r.json()["balance"], 0, "balance in it")
        check([e["reason"] for e in r.json()["entries"]][:2] == ["payment_refund", "admin"],
              "last entries first: %r" % r.json()["entries"])


@test
def the_operator_api_refuses_bad_input_and_strangers(s):
    u = new_user(s)
    before = balance(s, u.uid)
    path = "/api/users/%d/credits" % u.uid
    for body in ({"delta": "10", "key": "a"}, {"delta": 1.5, "key": "a"}, {"delta": 10},
                 {"delta": 10, "key": ""}, {"delta": 0, "key": "z"},
                 {"delta": 10, "key": "k" * 101}, [1, 2]):
        eq(s.http("POST", path, body, headers=s.admin_headers()).status, 400, "bad: %r" % body)
    eq(s.http("POST", path, {"delta": 10, "key": "x"}).status, 401, "no token")
    eq(s.http("GET", "/api/users/%d" % u.uid).status, 401, "no token")
    eq(s.http("GET", "/api/users/1", headers=s.admin_headers()).status, 404, "no such user")
    eq(s.http("POST", "/api/payments/nope/refund", headers=s.admin_headers(), raw=b"").status,
       404, "no such payment")
    eq(s.http("POST", "/api/payments/a%20b/refund", headers=s.admin_headers(), raw=b"").status,
       400, "not a charge id")
    eq(balance(s, u.uid), before, "nothing changed")


@test
def the_webhook_asks_for_pre_checkout_queries_and_the_commands_are_there(s):
    wh = s.ctl("/_ctl/state")["webhook"]
    check("pre_checkout_query" in (wh.get("allowed_updates") or []),
          "allowed_updates: %r" % wh.get("allowed_updates"))
    u = new_user(s, "en")
    seq = s.seq()
    u.text("/terms")
    u.text("/paysupport")
    texts = u.texts(seq)
    check(any("Terms" in t for t in texts) and any("Payment support" in t for t in texts),
          "terms and payment support answer: %r" % texts)


@test
def every_way_a_job_fails_gives_the_credits_back_once(s):
    with credits(s):
        # FAL refuses a training at submit
        u = new_user(s)
        aid = queued_avatar(s, u)
        s.ctl("/_ctl/fail", {"service": "fal", "method": "submit", "status": 422})
        eq(train(s, aid).status, 422, "refused")
        eq(balance(s, u.uid), 300, "refunded after a refused submit")
        # a training that never ends: the startup checker times it out
        aid = queued_avatar(s, u)
        s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
        eq(train(s, aid).status, 202, "started")
        eq(balance(s, u.uid), 200, "charged")
        s.sql("UPDATE avatars SET training_started_at = now() - interval '7 hours'"
              " WHERE id = %s" % aid)
        s.ctl("/_ctl/fal/hold", {"request_id": s.one("SELECT fal_request_id FROM avatars"
                                                     " WHERE id = %s" % aid), "seconds": 600})
        s.cli("check-status", "--startup")
        eq(status(s, aid), "error", "timed out")
        s.cli("check-status", "--startup")
        eq(balance(s, u.uid), 300, "refunded once after the timeout")
        # a picture FAL fails
        trained_avatar(s, u)
        s.ctl("/_ctl/fail", {"service": "fal", "method": "result", "status": 500})
        generate(u)
        wait_for(lambda: gen_rows(s, u.uid) == [["error"]], 10, what="the failed picture")
        eq(balance(s, u.uid), 300, "refunded after a failed picture")
        eq(len(entries(s, u.uid, "refund")), 3, "three refunds, one each")
