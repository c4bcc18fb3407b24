"""Generation with a trained avatar: templates and own prompts, the right
FAL endpoint and inputs, webhook and polling delivery, regenerate, full
quality, the gallery, sharing, limits, NSFW, and test mode."""
import hashlib
import urllib.request
import json
import time
import urllib.parse
import uuid

from harness import check, eq, test, wait_for
from tg_user import User

_uid = [640000000]


def trained_user(s, lang="ru", kind="lora", gender="female"):
    _uid[0] += 1
    u = User(s, _uid[0], lang, "Алия")
    u.text("/start")
    uid = u.db_user_id()
    result = ("diffusers_lora_file_url = 'https://v3.fal.media/files/x/lora.safetensors'"
              if kind == "lora" else "finetune_id = 'ft-abc123'")
    aid = s.one("INSERT INTO avatars (user_id, name, gender, training_type, trigger_phrase) VALUES "
                "(%s, 'Студия', '%s', '%s', 'TOK') RETURNING id"
                % (uid, gender, "portrait" if kind == "lora" else "style"))
    s.sql("UPDATE avatars SET status = 'completed', fal_request_id = 'req-%s', %s,"
          " training_completed_at = now() WHERE id = %s" % (uuid.uuid4().hex, result, aid))
    return u, aid


def fal_submits(s, since):
    return [c for c in s.calls(since, "submit", service="fal")]


def gens(s, uid):
    return s.sql("SELECT g.id, g.status, g.aspect_ratio, coalesce(g.template_key, ''), g.prompt,"
                 " g.seed "
                 "FROM generations g JOIN users u ON u.id = g.user_id WHERE u.telegram_id = %d "
                 "ORDER BY g.id" % uid)


def photos_to(s, u, since):
    return [c for c in s.calls(since, "sendPhoto") if str(c["params"].get("chat_id")) == str(u.uid)]


def generate(u, tpl_prefix="v1:gt:", ar=1):
    u.press_raw("v1:gen")
    u.press(tpl_prefix)
    m, data = u.button("v1:gar:")
    base = int(data.split(":")[3]) // 8 * 8
    aid = data.split(":")[2]
    u.press_raw("v1:gar:%s:%d" % (aid, base + ar), m)
    u.press("v1:ggo:")


@test
def template_generation_with_a_lora_avatar(s):
    u, aid = trained_user(s)
    seq = s.seq()
    generate(u, ar=1)
    sub = fal_submits(s, seq)
    eq(len(sub), 1, "one FAL job")
    eq(sub[0]["params"]["endpoint"], "fal-ai/flux-lora", "endpoint")
    inp = sub[0]["params"]["input"]
    eq(inp["loras"][0]["path"], "https://v3.fal.media/files/x/lora.safetensors", "LoRA url")
    check("TOK woman" in inp["prompt"], "trigger word and gender in the prompt: %s" % inp["prompt"])
    eq(inp["image_size"], "portrait_4_3", "3:4 maps to portrait_4_3")
    for k in ("num_inference_steps", "guidance_scale", "num_images", "seed",
              "enable_safety_checker"):
        check(k in inp, "input has %s" % k)
    eq((inp["num_inference_steps"], inp["guidance_scale"], inp["loras"][0]["scale"]),
       (28, 3.5, 1.0), "the parameter table's defaults")
    check(any("Генерирую" in t for t in u.texts(seq)), "'generating…' at once")
    check(u.calls("sendChatAction", since=seq), "a chat action")
    ph = wait_for(lambda: photos_to(s, u, seq), 8, what="the picture")
    eq(len(ph), 1, "one photo")
    check(ph[0]["params"]["photo"].startswith("http"), "sent by URL")
    datas = [b["callback_data"] for row in ph[0]["params"]["reply_markup"]["inline_keyboard"]
             for b in row]
    check(any(d.startswith("v1:iregen:") for d in datas) and
          any(d.startswith("v1:ifull:") for d in datas) and
          any(d.startswith("v1:ishare:") for d in datas), "buttons: %r" % datas)
    g = gens(s, u.uid)
    eq(g[-1][1], "completed", "job completed")
    eq(s.one("SELECT count(*) FROM generated_images i JOIN generations g ON g.id = "
             "i.generation_id WHERE g.id = %s AND i.tg_file_id IS NOT NULL" % g[-1][0]), "1",
       "the file_id Telegram gave is kept")


@test
def own_prompt_with_a_finetune_avatar(s):
    u, aid = trained_user(s, "en", kind="finetune", gender="male")
    seq = s.seq()
    u.press_raw("v1:gen")
    u.press("v1:gt:%s:0" % aid)
    eq(u.conv()[0], "gen_prompt", "waiting for the prompt")
    u.text("x" * 601)
    check("too long" in u.last_text(), u.last_text())
    u.text("in a space suit on Mars")
    m, data = u.button("v1:gar:")
    u.press_raw("v1:gar:%s:%d" % (aid, 4), m)
    u.press("v1:ggo:")
    sub = fal_submits(s, seq)
    eq(sub[-1]["params"]["endpoint"], "fal-ai/flux-pro/v1.1-ultra-finetuned", "endpoint")
    inp = sub[-1]["params"]["input"]
    eq(inp["finetune_id"], "ft-abc123", "finetune id")
    check("finetune_strength" in inp, "strength")
    eq(inp["aspect_ratio"], "16:9", "aspect ratio")
    check(inp["prompt"].startswith("TOK man, in a space suit on Mars"), inp["prompt"])
    wait_for(lambda: photos_to(s, u, seq), 8, what="the picture")
    eq(u.conv()[0], "idle", "back to idle")


def last_request_id(s, u, other_than=None):
    """FAL's request id of the person's newest generation, once submitted."""
    def newest():
        rid = s.one("SELECT coalesce(fal_request_id, '') FROM generations g JOIN users u ON"
                    " u.id = g.user_id WHERE u.telegram_id = %d ORDER BY g.id DESC LIMIT 1"
                    % u.uid)
        return rid if rid and rid != other_than else None
    return wait_for(newest, 8, what="the submit")


@test
def polling_delivers_when_the_webhook_is_lost_and_duplicates_deliver_once(s):
    u, aid = trained_user(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    seq = s.seq()
    generate(u)
    # (the stand-in records a webhook once it was answered: an earlier
    # test's may land after seq — only this job's counts)
    rid1 = last_request_id(s, u)
    wait_for(lambda: [c for c in s.calls(seq, "webhook", service="fal")
                      if c["params"].get("request_id") == rid1], 8,
             what="FAL done (webhook lost)")
    eq(photos_to(s, u, seq), [], "nothing yet")
    s.cli("check-status", "--all")      # queues it; the sender (or the pass) sends it
    eq(len(wait_for(lambda: photos_to(s, u, seq), 5, what="the poller's delivery")), 1,
       "delivered once by the poller")
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "duplicate"})
    seq2 = s.seq()
    generate(u)
    rid = last_request_id(s, u, other_than=rid1)

    def mine():
        return [c for c in s.calls(seq2, "webhook", service="fal")
                if c["params"].get("request_id") == rid]
    # a webhook call is recorded once it was answered, i.e. fully handled
    hooks = wait_for(lambda: [c for c in mine() if c["status"] == 200][1:] and mine(),
                     8, what="two webhooks answered")
    eq([c["status"] for c in hooks], [200, 200], "both answered")
    # the sender woken by the first answer sends it: once
    wait_for(lambda: photos_to(s, u, seq2), 5, what="the delivery")
    time.sleep(0.5)
    eq(len(photos_to(s, u, seq2)), 1, "one delivery for a duplicate webhook")


@test
def regenerate_full_quality_share_and_gallery(s):
    u, aid = trained_user(s, "en")
    seq = s.seq()
    generate(u)
    ph = wait_for(lambda: photos_to(s, u, seq), 8, what="the picture")
    img = [b["callback_data"] for row in ph[0]["params"]["reply_markup"]["inline_keyboard"]
           for b in row if b["callback_data"].startswith("v1:iregen:")][0].split(":")[2]
    seed1 = gens(s, u.uid)[-1][5]
    seq2 = s.seq()
    u.press_raw("v1:iregen:%s" % img)
    wait_for(lambda: photos_to(s, u, seq2), 8, what="the regenerated picture")
    g = gens(s, u.uid)
    eq(len(g), 2, "a new job")
    eq(g[0][4], g[1][4], "same prompt")
    check(g[1][5] != seed1, "a new seed")
    seq3 = s.seq()
    u.press_raw("v1:ifull:%s" % img)
    docs = u.calls("sendDocument", since=seq3)
    eq(len(docs), 1, "full quality as a document")
    eq(docs[0]["status"], 200, "Telegram took the document")
    url = s.one("SELECT url FROM generated_images WHERE id = %s" % img)
    with urllib.request.urlopen(url, timeout=10) as r:
        original = hashlib.sha256(r.read()).hexdigest()
    up = docs[0]["params"]["document"]
    check(isinstance(up, dict) and up.get("sha256") == original,
          "the original's bytes uploaded (a JPEG URL is refused by Telegram): %r" % (up,))
    doc_fid = s.one("SELECT tg_doc_file_id FROM generated_images WHERE id = %s" % img)
    check(doc_fid, "the document's file_id is kept")
    seq3b = s.seq()
    u.press_raw("v1:ifull:%s" % img)
    again = u.calls("sendDocument", since=seq3b)
    eq([c["params"]["document"] for c in again], [doc_fid], "the second time by file_id")
    u.press_raw("v1:ishare:%s" % img)
    share = u.last_text()
    code = s.one("SELECT share_code FROM generated_images WHERE id = %s" % img)
    check("start=img_%s" % code in share, "deep link: %r" % share)
    other = User(s, _uid[0] + 500, "ru", "Друг")
    seq4 = s.seq()
    other.text("/start img_%s" % code)
    got = [c for c in s.calls(seq4, "sendPhoto") if str(c["params"]["chat_id"]) == str(other.uid)]
    eq(len(got), 1, "the friend sees the picture")
    fid = s.one("SELECT tg_file_id FROM generated_images WHERE id = %s" % img)
    eq(got[0]["params"]["photo"], fid, "re-sent by file_id")
    check("Хочешь свою" in got[0]["params"]["caption"], "a stranger is invited")
    seq5 = s.seq()
    u.text("/start img_%s" % code)                 # the owner opens their own link
    mine = [c for c in s.calls(seq5, "sendPhoto") if str(c["params"]["chat_id"]) == str(u.uid)]
    check(mine and "/start" not in mine[-1]["params"]["caption"] and
          "your picture" in mine[-1]["params"]["caption"] and
          "v1:iregen:%s" % img in buttons_of(mine[-1]), "the owner gets their own: %r" % mine)
    # delivered by the stand-in, which performs (and checks) the answer
    r = s.deliver({"inline_query": {
        "id": "77", "from": other.user, "query": "img_%s" % code, "offset": ""}})
    eq(r["status"], 200, "inline query delivered")
    res = json.loads(r["body"])
    eq(res.get("method"), "answerInlineQuery", "inline answer")
    eq(len(res["results"]), 1, "one result")
    got = res["results"][0]
    eq(got.get("type"), "photo", "the result is the picture")
    check(got.get("photo_file_id") == fid or (got.get("photo_url") == url and
                                              got.get("thumbnail_url")),
          "the shared picture itself (by file_id, or its URL with a thumbnail): %r" % got)
    # gallery and delete
    seq5 = s.seq()
    u.press_raw("v1:gal")
    gal = photos_to(s, u, seq5)
    check(gal and "1/2" in gal[-1]["params"]["caption"], "gallery page 1/2")
    u.press_raw("v1:idelok:%s" % img)
    eq(s.one("SELECT deleted_at IS NOT NULL FROM generated_images WHERE id = %s" % img), "t",
       "deleted")
    seq6 = s.seq()
    other.text("/start img_%s" % code)
    check(not [c for c in s.calls(seq6, "sendPhoto") if str(c["params"]["chat_id"]) ==
               str(other.uid)], "the share code died with the picture")


def media(s, i):
    return "http://127.0.0.1:%d/_media/gallery-%d.jpg" % (s.fal_port, i)


@test
def gallery_pages_over_25_images(s):
    u, aid = trained_user(s)
    uid = u.db_user_id()
    gid = s.one("INSERT INTO generations (user_id, avatar_id, chat_id, prompt, status, "
                "fal_request_id) VALUES (%s, %s, %d, 'p', 'completed', 'r-%s') RETURNING id"
                % (uid, aid, u.uid, uuid.uuid4().hex))
    for i in range(25):
        g2 = s.one("INSERT INTO generations (user_id, avatar_id, chat_id, prompt, status, "
                   "fal_request_id) VALUES (%s, %s, %d, 'p', 'completed', 'r-%s') RETURNING id"
                   % (uid, aid, u.uid, uuid.uuid4().hex))
        # pictures Telegram can fetch (it downloads a photo sent by URL)
        s.sql("INSERT INTO generated_images (generation_id, user_id, avatar_id, idx, url) "
              "VALUES (%s, %s, %s, 0, '%s')" % (g2, uid, aid, media(s, i)))
    seq = s.seq()
    u.press_raw("v1:gal")
    first = photos_to(s, u, seq)[-1]
    check("1/25" in first["params"]["caption"], first["params"]["caption"])
    eq(first["params"]["photo"], media(s, 24), "newest first")
    m, _ = u.button("v1:galp:")
    u.press_raw("v1:galp:24", m)
    edits = u.calls("editMessageMedia", since=seq)
    check(edits and "25/25" in edits[-1]["params"]["media"]["caption"], "last page")
    eq(edits[-1]["params"]["media"]["media"], media(s, 0), "oldest last")
    eq(s.one("SELECT count(*) FROM generated_images WHERE generation_id = %s" % gid), "0",
       "a generation without pictures shows nothing")


@test
def concurrency_limit_and_nsfw(s):
    u, aid = trained_user(s)
    s.restart_lighttpd(GEN_MAX_ACTIVE="1")
    try:
        s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost", "count": 1})
        seq = s.seq()
        generate(u)
        generate(u)
        check(any("Уже идут 1" in t for t in u.texts(seq)), "limit message: %r" % u.texts(seq))
        eq(len(fal_submits(s, seq)), 1, "one job")
    finally:
        s.restart_lighttpd()
    s.cli("check-status", "--all")
    wait_for(lambda: photos_to(s, u, seq), 5, what="the first job's picture")
    s.ctl("/_ctl/fail", {"service": "fal", "method": "nsfw"})
    seq = s.seq()
    generate(u)
    wait_for(lambda: any("проверку безопасности" in t for t in u.texts(seq)), 8,
             what="the NSFW notice")
    eq(photos_to(s, u, seq), [], "the image is not sent")


@test
def generation_for_an_untrained_avatar_is_refused(s):
    u, aid = trained_user(s)
    s.sql("UPDATE avatars SET status = 'error' WHERE id = %s" % aid)
    seq = s.seq()
    u.press_raw("v1:gen")
    check(any("обученный аватар" in t for t in u.texts(seq)), "no trained avatar: %r" % u.texts(seq))
    u.press_raw("v1:ggo:%s:9" % aid)
    eq(gens(s, u.uid), [], "no job")
    eq(fal_submits(s, seq), [], "nothing sent to FAL")


@test
def test_mode_generation_delivers_placeholder_jpegs(s):
    s.restart_lighttpd(FAL_TRAINING_TEST_MODE="true")
    try:
        u, aid = trained_user(s, "en")
        seq = s.seq()
        generate(u)
        ph = wait_for(lambda: photos_to(s, u, seq), 8, what="a placeholder")
        url = ph[0]["params"]["photo"]
        check("/media/placeholder/" in url, url)
        r = s.http("GET", urllib.parse.urlsplit(url).path)
        eq(r.status, 200, "served")
        eq(r.body[:2], b"\xff\xd8", "a real JPEG")
        eq(fal_submits(s, seq), [], "no FAL calls")
    finally:
        s.restart_lighttpd()


@test
def several_images_arrive_as_a_media_group_with_buttons(s):
    s.restart_lighttpd(GEN_NUM_IMAGES="3")
    try:
        u, aid = trained_user(s, "en")
        seq = s.seq()
        generate(u)
        groups = wait_for(lambda: u.calls("sendMediaGroup", since=seq), 8, what="the album")
        eq(len(groups[0]["params"]["media"]), 3, "three pictures in one media group")
        eq(s.one("SELECT num_images FROM generations g JOIN users u ON u.id = g.user_id "
                 "WHERE u.telegram_id = %d" % u.uid), "3", "asked FAL for three")
        btns = wait_for(lambda: [c for c in u.calls("sendMessage", since=seq)
                                 if c["params"].get("reply_markup")], 5, what="the buttons")
        rows = btns[-1]["params"]["reply_markup"]["inline_keyboard"]
        eq(len(rows), 3, "a row of buttons per picture")
        eq(s.one("SELECT count(*) FROM generated_images i JOIN users u ON u.id = i.user_id "
                 "WHERE u.telegram_id = %d AND tg_file_id IS NOT NULL" % u.uid), "3",
           "every file_id kept")
    finally:
        s.restart_lighttpd()


@test
def a_5xx_result_after_completed_fails_the_generation_once(s):
    u, aid = trained_user(s)
    s.ctl("/_ctl/fail", {"rules": [{"service": "fal", "method": "result", "status": 503},
                                   {"service": "fal", "method": "webhook", "mode": "lost"}]})
    seq = s.seq()
    generate(u)
    gid = gens(s, u.uid)[-1][0]
    rid = s.one("SELECT fal_request_id FROM generations WHERE id = %s" % gid)
    wait_for(lambda: [r for r in s.ctl("/_ctl/fal/requests")["requests"]
                      if r["request_id"] == rid and r["delivered"]], 5, what="FAL done")
    for _ in range(2):
        s.sql("UPDATE generations SET last_status_check = NULL WHERE id = %s" % gid)
        r = s.cli("check-status", "--all")
        eq(r.returncode, 0, r.stderr)
    eq(s.one("SELECT status FROM generations WHERE id = %s" % gid), "error",
       "a 503 result after COMPLETED is final")
    eq(s.one("SELECT count(*) FROM notifications WHERE generation_id = %s"
             " AND dedupe_key = 'gen:%s:failed' AND status = 'sent'" % (gid, gid)), "1",
       "the person is told once")
    told = [t for t in u.texts(since=seq) if "Не получилось сгенерировать" in t]
    check(told and "перегружен" in told[-1] and "503" not in told[-1],
          "told why, in Russian: %r" % told)


@test
def generations_in_flight_past_gen_timeout_fail_and_free_the_slot(s):
    u, aid = trained_user(s)
    uid = u.db_user_id()
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    seq = s.seq()
    generate(u)
    gid = gens(s, u.uid)[-1][0]
    rid = s.one("SELECT fal_request_id FROM generations WHERE id = %s" % gid)
    s.ctl("/_ctl/fal/hold", {"request_id": rid, "seconds": 3600})
    # one that was never submitted (its worker died before the FAL call)
    stuck = s.one("INSERT INTO generations (user_id, avatar_id, chat_id, prompt, status)"
                  " VALUES (%s, %s, %d, 'p', 'queued') RETURNING id" % (uid, aid, u.uid))
    s.sql("UPDATE generations SET created_at = now() - interval '16 minutes'"
          " WHERE id IN (%s, %s)" % (gid, stuck))
    r = s.cli("check-status", "--all")
    eq(r.returncode, 0, r.stderr)
    eq(s.one("SELECT status FROM generations WHERE id = %s" % gid), "error",
       "running past GEN_TIMEOUT (900 s)")
    eq(s.one("SELECT status FROM generations WHERE id = %s" % stuck), "error",
       "queued past GEN_TIMEOUT")
    check("timed out" in s.one("SELECT error FROM generations WHERE id = %s" % gid), "reason")
    s.cli("check-status", "--all")
    notes = s.one("SELECT count(*) FROM notifications WHERE dedupe_key IN"
                  " ('gen:%s:failed', 'gen:%s:failed') AND status = 'sent'" % (gid, stuck))
    eq(notes, "2", "each person told once")
    eq(s.one("SELECT count(*) FROM generations WHERE user_id = %s"
             " AND status IN ('queued', 'submitting', 'running')" % uid), "0", "slots freed")
    check(seq, "seq")


@test
def a_long_prompt_that_cleans_short_is_stored_clean_and_a_long_one_refused(s):
    u, aid = trained_user(s)
    u.press_raw("v1:gen")
    m, data = u.button("v1:gt:")
    u.press_raw("v1:gt:%s:0" % aid, m)   # "my own prompt"
    prompt = ("  " * 900) + "портрет в стиле нуар" + ("\n" * 500)
    check(len(prompt) > 2300, "a raw message longer than the row allows")
    u.text(prompt)
    stored = s.one("SELECT data->>'prompt' FROM conversations c JOIN users x ON x.id = c.user_id"
                   " WHERE x.telegram_id = %d" % u.uid)
    eq(stored, "портрет в стиле нуар", "the cleaned prompt is what is kept")
    seq = s.seq()
    u.text("я" * 700)
    check(any("600" in t for t in u.texts(seq)), "too long: told the limit: %r" % u.texts(seq))


@test
def toasts_are_plain_text(s):
    """answerCallbackQuery has no parse mode: a name with & shows as is."""
    u, aid = trained_user(s, "en")
    s.sql("UPDATE avatars SET name = 'Tom & Jerry <3' WHERE id = %s" % aid)
    seq = s.seq()
    u.press_raw("v1:avmain:%s" % aid)
    toasts = [c["params"].get("text") for c in s.calls(seq, "answerCallbackQuery")]
    check("⭐ “Tom & Jerry <3” is now your main avatar." in toasts, "the toast: %r" % toasts)
    cards = [t for t in u.texts(seq) if "Tom" in t]
    check(cards and "Tom &amp; Jerry &lt;3" in cards[-1], "the card (HTML) escapes it: %r" % cards)


@test
def a_long_non_ascii_fal_error_fails_the_generation_on_the_first_webhook(s):
    u, aid = trained_user(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "result", "status": 422,
                         "detail": [{"loc": ["body", "prompt"], "msg": "é" * 400,
                                     "type": "value_error"}]})
    seq = s.seq()
    generate(u)
    gid = gens(s, u.uid)[-1][0]
    wait_for(lambda: s.one("SELECT status FROM generations WHERE id = %s" % gid) == "error", 8,
             what="the ERROR webhook stored")
    err = s.one("SELECT error FROM generations WHERE id = %s" % gid)
    check(err.count("é") > 200, "the reason kept, cut on a character")
    rid = s.one("SELECT fal_request_id FROM generations WHERE id = %s" % gid)
    eq([c["status"] for c in s.calls(seq, "webhook", service="fal")
        if c["params"].get("request_id") == rid], [200], "taken the first time")
    wait_for(lambda: s.one("SELECT status FROM notifications WHERE dedupe_key = 'gen:%s:failed'"
                           % gid) == "sent", 5, what="the person told")
    told = [t for t in u.texts(since=seq) if "Не получилось сгенерировать" in t]
    check(told and "é" not in told[-1] and "что-то пошло не так" in told[-1],
          "FAL's words stay out of the chat: %r" % told)


@test
def generation_webhooks_need_the_generations_own_token(s):
    u, aid = trained_user(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "webhook", "mode": "lost"})
    generate(u)
    gid = int(gens(s, u.uid)[-1][0])
    rid = s.one("SELECT fal_request_id FROM generations WHERE id = %s" % gid)
    body = {"request_id": rid, "gateway_request_id": rid, "status": "OK", "payload": {
        "images": [{"url": "http://127.0.0.1:%d/_media/forged.jpg" % s.fal_port,
                    "width": 1024, "height": 1024, "content_type": "image/jpeg"}],
        "seed": 1, "has_nsfw_concepts": [False], "prompt": "p"}}
    own = s.fal_hook("generation", gid).split("token=")[1]
    trained = s.issue_fal_token("avatar", aid)
    for query in ("generation=%d" % gid,
                  "generation=%d&token=%s" % (gid, "0" * 43),
                  "generation=%d&token=%s" % (gid, trained),
                  "avatar=%d&token=%s" % (gid, own),
                  "generation=%d&token=%s" % (gid + 1, own),
                  "generation=%d&token=%s" % (gid, own[:-1]),
                  "generation=%d&token=%s" % (gid, own + "A")):
        r = s.fal_post("/fal/webhook?" + query, body)
        eq(r.status, 401, "a generation webhook with %s" % query)
    eq(s.one("SELECT status FROM generations WHERE id = %s" % gid), "running", "unchanged")
    r = s.fal_post("/fal/webhook?generation=%d&token=%s" % (gid, own), body)
    eq(r.status, 200, "its own token")
    eq(s.one("SELECT status FROM generations WHERE id = %s" % gid), "completed", "completed")


def tpl_buttons(m):
    return [b["callback_data"] for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row if b["callback_data"].startswith("v1:gt:")]


@test
def template_pages_turn_both_ways(s):
    u, aid = trained_user(s)
    u.press_raw("v1:gen")
    m, _ = u.button("v1:gt:")
    first = tpl_buttons(m)
    nav = [b for row in m["reply_markup"]["inline_keyboard"] for b in row
           if b["callback_data"].startswith("v1:g:")]
    check(len(nav) == 3 and "1/" in nav[1]["text"], "◀ 1/N ▶: %r" % nav)
    u.press_raw(nav[2]["callback_data"], m)            # ▶
    m2 = [x for x in u.chat_messages() if x["message_id"] == m["message_id"]][0]
    second = tpl_buttons(m2)
    check(set(second) - {"v1:gt:%s:0" % aid} and
          not (set(second) & set(first)) - {"v1:gt:%s:0" % aid},
          "page 2 shows other templates: %r then %r" % (first, second))
    check(any("2/" in b["text"] for row in m2["reply_markup"]["inline_keyboard"] for b in row),
          "page 2/N")
    back = [b for row in m2["reply_markup"]["inline_keyboard"] for b in row
            if b["callback_data"].startswith("v1:g:")][0]
    u.press_raw(back["callback_data"], m2)              # ◀
    m3 = [x for x in u.chat_messages() if x["message_id"] == m["message_id"]][0]
    check(tpl_buttons(m3) != second, "◀ turns back")


@test
def cancel_while_typing_a_prompt_returns_to_the_menu(s):
    u, aid = trained_user(s, "en")
    u.press_raw("v1:gen")
    m, _ = u.button("v1:gt:")
    u.press_raw("v1:gt:%s:0" % aid, m)                  # "my own prompt"
    eq(u.conv()[0], "gen_prompt", "waiting for the prompt")
    seq = s.seq()
    u.text("/cancel")
    eq(u.conv()[0], "idle", "/cancel leaves the prompt step")
    check(u.texts(seq) and u.calls("sendMessage", since=seq)[-1]["params"].get("reply_markup"),
          "with the menu: %r" % u.texts(seq))
    u.text("a castle in the clouds")
    eq(gens(s, u.uid), [], "a text after /cancel is not taken as a prompt")


@test
def two_and_four_pictures_each_arrive_as_one_album(s):
    for n in (2, 4):
        s.restart_lighttpd(GEN_NUM_IMAGES=str(n))
        try:
            u, aid = trained_user(s, "en")
            seq = s.seq()
            generate(u)
            groups = wait_for(lambda: u.calls("sendMediaGroup", since=seq), 8, what="the album")
            eq(len(groups[0]["params"]["media"]), n, "%d pictures in one media group" % n)
            eq(groups[0]["status"], 200, "Telegram took the album of %d" % n)
            eq(fal_submits(s, seq)[-1]["params"]["input"]["num_images"], n, "asked FAL for %d" % n)
        finally:
            s.restart_lighttpd()


@test
def deleting_a_picture_asks_first(s):
    u, aid = trained_user(s)
    seq = s.seq()
    generate(u)
    ph = wait_for(lambda: photos_to(s, u, seq), 8, what="the picture")
    img = [b["callback_data"] for row in ph[0]["params"]["reply_markup"]["inline_keyboard"]
           for b in row if b["callback_data"].startswith("v1:iregen:")][0].split(":")[2]
    seq = s.seq()
    u.press_raw("v1:idel:%s" % img)
    check(any("Удалить эту картинку" in t for t in u.texts(seq)), "asks: %r" % u.texts(seq))
    m, data = u.button("v1:idelok:")
    eq(data, "v1:idelok:%s" % img, "the confirmation names the picture")
    eq(s.one("SELECT deleted_at IS NULL FROM generated_images WHERE id = %s" % img), "t",
       "nothing deleted before the confirmation")
    u.press(data)
    eq(s.one("SELECT deleted_at IS NOT NULL FROM generated_images WHERE id = %s" % img), "t",
       "deleted after it")


@test
def choosing_among_several_trained_avatars(s):
    u, aid = trained_user(s, "en")
    uid = u.db_user_id()
    other = s.one("INSERT INTO avatars (user_id, name, gender, training_type, trigger_phrase,"
                  " status, fal_request_id, diffusers_lora_file_url) VALUES (%s, 'Second',"
                  " 'male', 'portrait', 'TOK', 'draft', 'r-%s', 'https://v3.fal.media/x.st')"
                  " RETURNING id" % (uid, uuid.uuid4().hex))
    s.sql("UPDATE avatars SET status = 'completed' WHERE id = %s" % other)
    u.press_raw("v1:gen")
    m, _ = u.button("v1:gpick")
    u.press_raw("v1:gpick", m)
    picks = [b for x in u.chat_messages() for row in (x.get("reply_markup") or {}).get(
        "inline_keyboard", []) for b in row if b["callback_data"].startswith("v1:g:")]
    names = {b["text"] for b in picks}
    check(any("Second" in n for n in names) and any("Студия" in n for n in names),
          "both avatars offered: %r" % names)
    pick = [b for b in picks if "Second" in b["text"]][-1]
    seq = s.seq()
    u.press_raw(pick["callback_data"])
    check(any("Second" in t for t in u.texts(seq)), "templates for the chosen one: %r"
          % u.texts(seq))
    u.press("v1:gt:%s:" % other)
    m, data = u.button("v1:gar:%s:" % other)
    u.press_raw(data, m)
    u.press("v1:ggo:%s:" % other)
    wait_for(lambda: gens(s, u.uid), 5, what="the job")
    eq(s.one("SELECT avatar_id FROM generations WHERE user_id = %s ORDER BY id DESC LIMIT 1"
             % uid), other, "generated with the chosen avatar")


@test
def a_refused_generation_submit_fails_it_and_tells_the_person(s):
    u, aid = trained_user(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "submit", "status": 422, "count": 1})
    seq = s.seq()
    generate(u)
    gid = wait_for(lambda: gens(s, u.uid), 5, what="the job")[-1][0]
    wait_for(lambda: s.one("SELECT status FROM generations WHERE id = %s" % gid) == "error", 8,
             what="the failed submit")
    check(s.one("SELECT error FROM generations WHERE id = %s" % gid), "reason kept")
    wait_for(lambda: s.one("SELECT status FROM notifications WHERE dedupe_key = 'gen:%s:failed'"
                           % gid) == "sent", 5, what="the person told")
    told = [t for t in u.texts(since=seq) if "Не получилось сгенерировать" in t]
    check(told and "é" not in told[-1] and "что-то пошло не так" in told[-1],
          "FAL's words stay out of the chat: %r" % told)
    eq(len(fal_submits(s, seq)), 1, "no retry of a 422")


@test
def a_partly_flagged_album_shows_the_clean_pictures_and_says_why_one_is_missing(s):
    s.restart_lighttpd(GEN_NUM_IMAGES="3")
    try:
        u, aid = trained_user(s)
        s.ctl("/_ctl/fail", {"service": "fal", "method": "nsfw", "indexes": [1]})
        seq = s.seq()
        generate(u)
        groups = wait_for(lambda: u.calls("sendMediaGroup", since=seq), 8, what="the album")
        sent = [m["media"] for m in groups[0]["params"]["media"]]
        gid = gens(s, u.uid)[-1][0]
        rows = s.sql("SELECT idx, url, nsfw FROM generated_images WHERE generation_id = %s"
                     " ORDER BY idx" % gid)
        eq([r[2] for r in rows], ["f", "t", "f"], "the second one flagged")
        eq(sent, [rows[0][1], rows[2][1]], "only the clean pictures are sent")
        wait_for(lambda: any("проверку безопасности" in t for t in u.texts(seq)), 5,
                 what="the notice about the hidden one")
        eq(len([t for t in u.texts(seq) if "проверку безопасности" in t]), 1, "said once")
    finally:
        s.restart_lighttpd()


@test
def inline_share_answers_with_the_picture_itself(s):
    u, aid = trained_user(s)
    uid = u.db_user_id()
    gid = s.one("INSERT INTO generations (user_id, avatar_id, chat_id, prompt, status,"
                " fal_request_id) VALUES (%s, %s, %d, 'p', 'completed', 'r-%s') RETURNING id"
                % (uid, aid, u.uid, uuid.uuid4().hex))
    code = "share" + uuid.uuid4().hex[:16]
    url = media(s, 77)
    s.sql("INSERT INTO generated_images (generation_id, user_id, avatar_id, idx, url,"
          " share_code) VALUES (%s, %s, %s, 0, '%s', '%s')" % (gid, uid, aid, url, code))
    r = s.deliver({"inline_query": {"id": "78", "from": u.user, "query": "img_" + code,
                                    "offset": ""}})
    eq(r["status"], 200, "delivered")
    res = json.loads(r["body"])
    eq(res.get("method"), "answerInlineQuery", "answered inline")
    eq([x.get("type") for x in res["results"]], ["photo"], "one picture")
    eq((res["results"][0].get("photo_url"), res["results"][0].get("thumbnail_url")), (url, url),
       "the shared picture, by its URL with a thumbnail (no file_id yet)")


def buttons_of(call):
    return [b.get("callback_data", "") for row in
            (call["params"].get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


@test
def the_prompt_request_has_back_and_menu_and_back_leaves_the_prompt_step(s):
    u, aid = trained_user(s)
    u.press_raw("v1:gen")
    m, _ = u.button("v1:gt:")
    seq = s.seq()
    u.press_raw("v1:gt:%s:0" % aid, m)                  # "my own prompt"
    eq(u.conv()[0], "gen_prompt", "waiting for the prompt")
    ask = [c for c in u.calls(since=seq) if c["method"] in ("editMessageText", "sendMessage")]
    b = buttons_of(ask[-1])
    check("v1:g:%s:0" % aid in b and "v1:menu" in b, "Back and Menu on the request: %r" % b)
    u.press_raw("v1:g:%s:0" % aid)
    eq(u.conv()[0], "idle", "Back leaves the prompt step")
    check(u.button("v1:gt:"), "the templates again")
    u.text("a castle in the clouds")
    eq(gens(s, u.uid), [], "a text after Back is not taken as a prompt")
    u.press_raw("v1:gt:%s:0" % aid)
    u.press_raw("v1:menu")
    eq(u.conv()[0], "idle", "Menu leaves the prompt step too")


@test
def a_failed_generation_and_a_deleted_picture_each_carry_the_way_on(s):
    u, aid = trained_user(s)
    s.ctl("/_ctl/fail", {"service": "fal", "method": "result", "status": 422})
    seq = s.seq()
    generate(u)
    failed = wait_for(lambda: [c for c in u.calls("sendMessage", since=seq)
                               if "Не получилось сгенерировать" in c["params"]["text"]], 8,
                      what="the failure message")
    b = buttons_of(failed[-1])
    check("v1:g:%s:0" % aid in b and "v1:menu" in b, "Generate and Menu: %r" % b)
    seq = s.seq()      # the injected failure was for one result
    generate(u)
    wait_for(lambda: photos_to(s, u, seq), 8, what="the picture")
    seq = s.seq()
    u.press_raw("v1:gal")
    page = [c for c in u.calls(since=seq) if c["method"] == "sendPhoto"]
    check(page and "v1:menu" in buttons_of(page[-1]), "a gallery page has Menu")
    img = [d for d in buttons_of(page[-1]) if d.startswith("v1:idel:")][0].split(":")[2]
    u.press_raw("v1:idelok:%s" % img)
    gone = [c for c in u.calls(since=seq) if c["method"] in ("editMessageText", "sendMessage",
                                                             "editMessageCaption")
            and "удалена" in (c["params"].get("text") or c["params"].get("caption") or "")]
    check(gone and "v1:gal" in buttons_of(gone[-1]) and "v1:menu" in buttons_of(gone[-1]),
          "the deleted notice has Gallery and Menu: %r" % gone)


@test
def buttons_of_a_deleted_avatar_offer_the_avatar_that_can_generate(s):
    u, aid = trained_user(s)
    seq = s.seq()
    generate(u)
    ph = wait_for(lambda: photos_to(s, u, seq), 8, what="the picture")
    img = [d for d in buttons_of(ph[-1]) if d.startswith("v1:iregen:")][0].split(":")[2]
    other = s.one("INSERT INTO avatars (user_id, name, gender, training_type, trigger_phrase,"
                  " status, fal_request_id, diffusers_lora_file_url, training_completed_at)"
                  " VALUES (%s, 'Вторая', 'female', 'portrait', 'TOK', 'completed', 'req-%s',"
                  " 'https://v3.fal.media/files/x/l2.safetensors', now()) RETURNING id"
                  % (u.db_user_id(), uuid.uuid4().hex))
    s.sql("UPDATE avatars SET deleted_at = now() WHERE id = %s" % aid)
    n = len(gens(s, u.uid))
    for data in ("v1:iregen:%s" % img, "v1:g:%s:0" % aid):
        seq = s.seq()
        u.press_raw(data)
        said = [c for c in u.calls("sendMessage", since=seq) if "Вторая" in c["params"]["text"]]
        check(said and "ещё не обучен" in said[-1]["params"]["text"] and
              "v1:g:%s:0" % other in buttons_of(said[-1]),
              "%s: the other avatar offered: %r" % (data, u.texts(seq)))
        check(not any("Сначала нужен обученный аватар" in t for t in u.texts(seq)),
              "%s: not told to create one" % data)
    eq(len(gens(s, u.uid)), n, "nothing generated with the deleted avatar")


@test
def a_stale_button_shows_the_menu_it_promises_or_lets_the_flow_go_on(s):
    u, aid = trained_user(s)
    seq = s.seq()
    u.press_raw("v1:avretry:99999999")          # not theirs: stale, the person idle
    a = s.calls(seq, "answerCallbackQuery")
    check(a and "вот актуальное меню" in a[-1]["params"].get("text", ""), "the notice")
    menu = u.calls("sendMessage", since=seq) + u.calls("editMessageText", since=seq)
    check(menu and "v1:avs" in buttons_of(menu[-1]), "and the menu: %r" % u.texts(seq))
    u.press_raw("v1:gen")
    u.press_raw("v1:gt:%s:0" % aid)                # waiting for a prompt
    seq = s.seq()
    u.press_raw("v1:avretry:99999999")
    a = s.calls(seq, "answerCallbackQuery")
    check(a and "продолжим" in a[-1]["params"].get("text", ""), "the flow goes on: %r" % a)
    eq(u.calls("sendMessage", since=seq), [], "no menu in the middle of a step")
    eq(u.conv()[0], "gen_prompt", "still waiting for the prompt")


@test
def the_own_prompt_is_shown_back_and_the_gallery_names_the_avatar_and_the_page(s):
    u, aid = trained_user(s)
    u.press_raw("v1:gen")
    m, _ = u.button("v1:gt:")
    u.press_raw("v1:gt:%s:0" % aid, m)
    u.text("кот в космосе <b>жирный</b>")
    m, data = u.button("v1:gar:")
    seq = s.seq()
    u.press_raw(data, m)
    confirm = [t for t in u.texts(seq) if "Генерируем" in t]
    check(confirm and "кот в космосе" in confirm[-1], "the prompt on the confirmation: %r" % confirm)
    check("<b>жирный</b>" not in confirm[-1], "the person's words are escaped")
    u.press("v1:ggo:")
    ph = wait_for(lambda: photos_to(s, u, seq), 8, what="the picture")
    check("кот в космосе" in ph[-1]["params"]["caption"], "the prompt in the caption")
    for _ in range(2):                              # two more: the first goes to page 3
        seq2 = s.seq()
        u.press_raw("v1:iregen:%s" % [d for d in buttons_of(ph[-1])
                                       if d.startswith("v1:iregen:")][0].split(":")[2])
        wait_for(lambda: photos_to(s, u, seq2), 8, what="another picture")
    seq = s.seq()
    u.press_raw("v1:galp:2")
    page = [c for c in u.calls(since=seq) if c["method"] in ("sendPhoto", "editMessageMedia")]
    cap = page[-1]["params"].get("caption") or page[-1]["params"]["media"]["caption"]
    check("Студия" in cap and "UTC" in cap and "3/3" in cap, "the caption: %r" % cap)
    img = [d for d in buttons_of(page[-1]) if d.startswith("v1:idel:")][0].split(":")[2]
    seq = s.seq()
    u.press_raw("v1:idel:%s" % img)
    confirm = [c for c in u.calls("sendMessage", since=seq)]
    check(confirm and "v1:galp:2" in buttons_of(confirm[-1]),
          "Back goes to the picture's page: %r" % buttons_of(confirm[-1]))


@test
def generating_does_not_stay_in_the_chat_after_the_pictures(s):
    u, aid = trained_user(s)
    seq = s.seq()
    generate(u)
    status = [c for c in u.calls("editMessageText", since=seq)
              if "Генерирую" in c["params"]["text"]]
    check(status, "the confirmation becomes «Генерирую…»: %r" % u.texts(seq))
    mid = status[-1]["params"]["message_id"]
    eq(s.one("SELECT status_message_id FROM generations g JOIN users u ON u.id = g.user_id"
             " WHERE u.telegram_id = %d ORDER BY g.id DESC LIMIT 1" % u.uid), str(mid), "kept")
    wait_for(lambda: photos_to(s, u, seq), 8, what="the picture")
    done = wait_for(lambda: [c for c in u.calls("editMessageText", since=seq)
                             if c["params"]["message_id"] == mid
                             and "Готово" in c["params"]["text"]], 5, what="the status ended")
    pic = [c for c in photos_to(s, u, seq)][0]
    check(pic["seq"] < done[0]["seq"], "after the picture")
    # a failure ends it too
    s.ctl("/_ctl/fail", {"service": "fal", "method": "result", "status": 422})
    seq = s.seq()
    generate(u)
    wait_for(lambda: [c for c in u.calls("editMessageText", since=seq)
                      if "Не получилось" in c["params"]["text"]], 8, what="the status, failed")
