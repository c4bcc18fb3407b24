"""A Telegram user for tests: builds realistic updates (as in
../shared/contracts/telegram-updates), has the stand-in Telegram deliver them to
the webhook, and reads back what the bot sent to this chat."""
import threading
import time
import uuid

from harness import Fail
from portraits import one_face_key


class User:
    def __init__(self, s, uid, lang="ru", name="Алия"):
        self.s = s
        self.uid = uid
        self.user = {"id": uid, "is_bot": False, "first_name": name, "username": "u%d" % uid,
                     "language_code": lang}
        self.chat = {"id": uid, "first_name": name, "type": "private"}
        self.mid = 0
        self.since = s.seq()

    # --- updates ----------------------------------------------------------------
    def message(self, **fields):
        self.mid += 1
        m = {"message_id": self.mid, "from": self.user, "chat": self.chat,
             "date": int(time.time())}
        m.update(fields)
        return {"message": m}

    def text(self, text):
        f = {"text": text}
        if text.startswith("/"):
            f["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
        return self.send(self.message(**f))

    def photo_update(self, w=1280, h=960, group=None, uniq=None, size=120000):
        key = uniq or one_face_key(self.s.bindir, "AgL_")
        sizes = [{"file_id": "AgS_%s" % key, "file_unique_id": "S%s" % key, "width": 90,
                  "height": 67, "file_size": 1201},
                 {"file_id": "AgL_%s" % key, "file_unique_id": "L%s" % key, "width": w,
                  "height": h, "file_size": size}]
        f = {"photo": sizes}
        if group:
            f["media_group_id"] = group
        return self.message(**f)

    def photo(self, **kw):
        return self.send(self.photo_update(**kw))

    def document(self, mime="image/jpeg", size=2811044, name="IMG.JPG"):
        key = one_face_key(self.s.bindir, "BQ", size=(640, 800), length=10)
        return self.send(self.message(document={
            "file_name": name, "mime_type": mime, "file_id": "BQ%s" % key,
            "file_unique_id": "D%s" % key, "file_size": size}))

    def send(self, update):
        seq = self.s.seq()
        r = self.s.deliver(update)
        if r.get("status") != 200:
            raise Fail("delivery answered %s: %s" % (r.get("status"), r.get("body")))
        if "callback_query" in update:
            self.answered(update["callback_query"]["id"], seq)
        m = update.get("message") or {}
        if "photo" in m or "document" in m:
            self.settled()      # the progress message's edit
        return r

    def settled(self, timeout=15.0):
        """A person looks a moment later: the photos they sent have been
        checked, and what the bot queued for this chat (a photo's progress
        edit, the checks' verdicts) has gone out through the outbox's
        sender.  (Up to 15 s: on a loaded machine — CI's shards side by side
        — ten photos' checks have taken longer than 5.)"""
        end = time.time() + timeout
        while time.time() < end:
            if self.s.one("SELECT (SELECT count(*) FROM notifications WHERE chat_id = %d"
                          " AND status = 'pending' AND next_attempt_at <= now())"
                          " + (SELECT count(*) FROM avatar_photos p JOIN avatars a"
                          "  ON a.id = p.avatar_id JOIN users u ON u.id = a.user_id"
                          "  WHERE u.telegram_id = %d AND p.verdict IS NULL"
                          "  AND a.status IN ('photos', 'ready'))" % (self.uid, self.uid)) == "0":
                return True
            time.sleep(0.02)
        return False

    def answered(self, callback_id, since, timeout=5.0):
        """A person sees the spinner stop: the answer may come from the
        outbox's sender a moment after the webhook's answer."""
        end = time.time() + timeout
        while time.time() < end:
            if [c for c in self.s.calls(since, "answerCallbackQuery")
                    if c["params"].get("callback_query_id") == callback_id]:
                return True
            time.sleep(0.02)
        return False

    def send_concurrently(self, updates):
        results = [None] * len(updates)

        def go(i, u):
            results[i] = self.s.deliver(u)
        ts = [threading.Thread(target=go, args=(i, u)) for i, u in enumerate(updates)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if any("photo" in (u.get("message") or {}) or "document" in (u.get("message") or {})
               for u in updates):
            self.settled()      # the progress message's edit
        return results

    # --- buttons ------------------------------------------------------------------
    def chat_messages(self):
        return self.s.ctl("/_ctl/messages?chat_id=%d" % self.uid)["messages"]

    def button(self, prefix):
        """(message, callback_data) of the newest button whose data starts with prefix."""
        for m in reversed(self.chat_messages()):
            kb = (m.get("reply_markup") or {}).get("inline_keyboard") or []
            for row in kb:
                for b in row:
                    if b.get("callback_data", "").startswith(prefix):
                        return m, b["callback_data"]
        raise Fail("no button %r in the chat" % prefix)

    def callback_update(self, data, message=None):
        # The message the button is on, as Telegram includes it: a text
        # message has "text", a photo "photo" and maybe "caption".
        msg = {"message_id": message["message_id"] if message else 1,
               "from": {"id": 1, "is_bot": True, "first_name": "Aisha"}, "chat": self.chat,
               "date": int(time.time())}
        for k in ("text", "photo", "caption", "document", "media_group_id"):
            if message and k in message:
                msg[k] = message[k]
        if not message:
            msg["text"] = "…"
        return {"callback_query": {"id": str(uuid.uuid4().int)[:18], "from": self.user,
                                   "message": msg, "chat_instance": "-1", "data": data}}

    def press(self, prefix):
        m, data = self.button(prefix)
        return self.send(self.callback_update(data, m))

    def press_raw(self, data, message=None):
        """Presses data as if it were on message (default: the newest one)."""
        if message is None:
            msgs = self.chat_messages()
            message = msgs[-1] if msgs else None
        return self.send(self.callback_update(data, message))

    # --- what the bot did -------------------------------------------------------------
    def calls(self, method=None, since=None):
        out = []
        for c in self.s.calls(self.since if since is None else since, method):
            p = c["params"]
            if str(p.get("chat_id")) == str(self.uid) or c["method"] == "answerCallbackQuery":
                out.append(c)
        return out

    def texts(self, since=None):
        return [c["params"].get("text", "") for c in self.calls(since=since)
                if c["method"] in ("sendMessage", "editMessageText")]

    def last_text(self):
        t = self.texts()
        return t[-1] if t else ""

    def db_user_id(self):
        return self.s.one("SELECT id FROM users WHERE telegram_id = %d" % self.uid)

    def conv(self):
        return self.s.sql("SELECT state, coalesce(avatar_id, 0) FROM conversations c "
                          "JOIN users u ON u.id = c.user_id WHERE u.telegram_id = %d" % self.uid)[0]

    def avatar(self):
        return self.s.one("SELECT max(a.id) FROM avatars a JOIN users u ON u.id = a.user_id "
                          "WHERE u.telegram_id = %d" % self.uid)
