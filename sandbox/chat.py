#!/usr/bin/python3
"""make chat — be a Telegram user talking to the local bot.

Type text to send a message (a leading / makes it a command, e.g. /start).
Lines starting with ':' are actions of the chat itself:

    :photo [W H]     send a photo (default 1280x960; a portrait of one face)
    :photo FILE      send the JPEG, PNG or WebP at FILE as a photo (try a
                     blurred, dark or group shot: the bot's checks judge it)
    :album N         send an album of N photos (each item its own update,
                     delivered at the same moment, as Telegram does)
    :doc [pdf]       send an image document (or a PDF)
    :sticker         send a sticker
    :press N  (#N)   press button N of the keyboards shown
    #text            press the newest button whose label contains text
    :pay             pay the last invoice (Telegram Stars), as Telegram would
    :lang ru|en      the language your Telegram app reports
    :wait [S]        wait S seconds (default 5) and show what arrives
    :help            this text
    :quit            leave (Ctrl-D too)

What the bot sends (messages, edits, photos, button notices) is printed as
the stand-in Telegram received it, keyboards numbered for :press.
"""
import argparse
import base64
import json
import os
import re
import sys
import threading
import time
import urllib.request
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def env_file_value(path, key):
    try:
        for line in open(path):
            line = line.strip()
            if line.startswith(key + "="):
                return line.split("=", 1)[1].strip().strip("'\"")
    except OSError:
        pass
    return None


class Chat:
    def __init__(self, base, user_id, first_name, lang, out=sys.stdout):
        self.base = base
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name,
                     "username": "sandbox_user", "language_code": lang}
        self.chat = {"id": user_id, "first_name": first_name, "type": "private"}
        self.mid = 1
        self.seq = self.state()["seq"]
        self.buttons = {}      # number -> (message, callback_data)
        self.labels = {}       # number -> button text
        self.next_button = 1
        self.lock = threading.Lock()
        self.out = out
        self.photo_n = 0

    # --- stand-in ---------------------------------------------------------------
    def ctl(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        rq = urllib.request.Request(self.base + path, data=data,
                                    method="POST" if data is not None else "GET")
        with urllib.request.urlopen(rq, timeout=60) as r:
            return json.loads(r.read().decode())

    def state(self):
        return self.ctl("/_ctl/state")

    def deliver(self, update):
        r = self.ctl("/_ctl/deliver", {"update": update})
        if r.get("status") != 200:
            self.say("⚠️  the bot answered HTTP %s: %s" % (r.get("status"), r.get("body", "")[:200]))
        return r

    # --- building updates ----------------------------------------------------------
    def message(self, **fields):
        self.mid += 1
        m = {"message_id": self.mid, "from": self.user, "chat": self.chat,
             "date": int(time.time())}
        m.update(fields)
        return {"message": m}

    def send_text(self, text):
        fields = {"text": text}
        if text.startswith("/"):
            cmd = text.split()[0]
            fields["entities"] = [{"offset": 0, "length": len(cmd), "type": "bot_command"}]
        self.deliver(self.message(**fields))

    def photo_sizes(self, w, h):
        self.photo_n += 1
        key = "sbx%s" % uuid.uuid4().hex[:12]
        sizes = []
        for scale in (0.07, 0.25, 0.5, 1.0):
            sw, sh = max(1, int(w * scale)), max(1, int(h * scale))
            sizes.append({"file_id": "AgAC%s_%dx%d" % (key, sw, sh),
                          "file_unique_id": "AQAD%s%d" % (key[:8], sw),
                          "file_size": sw * sh // 8, "width": sw, "height": sh})
        return sizes

    def send_photo(self, w=1280, h=960, group=None):
        fields = {"photo": self.photo_sizes(w, h)}
        if group:
            fields["media_group_id"] = group
        return self.message(**fields)

    def send_file_photo(self, path):
        """A photo whose bytes are the file's: the stand-in serves them for
        its file_ids (getFile and the download), as Telegram would."""
        try:
            with open(path, "rb") as f:
                raw = f.read(20 * 1024 * 1024 + 1)
        except OSError as e:
            self.say("⚠️  %s" % e)
            return
        update = self.send_photo()
        for size in update["message"]["photo"]:
            self.ctl("/_ctl/file", {"file_id": size["file_id"],
                                    "raw_b64": base64.b64encode(raw).decode()})
        self.deliver(update)

    def send_album(self, n):
        group = str(uuid.uuid4().int)[:17]
        updates = [self.send_photo(group=group) for _ in range(n)]
        threads = [threading.Thread(target=self.deliver, args=(u,)) for u in updates]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def send_doc(self, kind):
        key = uuid.uuid4().hex[:10]
        if kind == "pdf":
            doc = {"file_name": "scan.pdf", "mime_type": "application/pdf",
                   "file_id": "BQAC%s" % key, "file_unique_id": "AgAD%s" % key,
                   "file_size": 182044}
        else:
            doc = {"file_name": "IMG_%s.JPG" % key[:4], "mime_type": "image/jpeg",
                   "file_id": "BQAC%s" % key, "file_unique_id": "AgAD%s" % key,
                   "file_size": 2811044}
        self.deliver(self.message(document=doc))

    def send_sticker(self):
        key = uuid.uuid4().hex[:10]
        self.deliver(self.message(sticker={"width": 512, "height": 512, "emoji": "😀",
                                           "is_animated": False, "is_video": False,
                                           "type": "regular", "file_id": "CAAC" + key,
                                           "file_unique_id": "AgAD" + key}))

    def press(self, n):
        b = self.buttons.get(n)
        if b is None:
            self.say("no button %d" % n)
            return
        msg, data = b
        cq = {"id": str(uuid.uuid4().int)[:18], "from": self.user, "chat_instance": "-1",
              "data": data, "message": {"message_id": msg["message_id"],
                                        "from": msg.get("from"), "chat": self.chat,
                                        "date": msg.get("date", int(time.time()))}}
        for k in ("text", "photo", "caption", "document"):   # as Telegram includes it
            if k in msg:
                cq["message"][k] = msg[k]
        self.deliver({"callback_query": cq})

    # --- showing what the bot did ------------------------------------------------------
    def say(self, text):
        with self.lock:
            print(text, file=self.out, flush=True)

    def render_text(self, html):
        t = re.sub(r"</?(b|strong)>", "*", html or "")
        t = re.sub(r"</?(i|em|u|s|code|pre)>", "", t)
        t = re.sub(r"<a href=\"([^\"]*)\">([^<]*)</a>", r"\2 <\1>", t)
        return t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def render_keyboard(self, message, markup):
        if not markup:
            return []
        lines = []
        for row in markup.get("inline_keyboard", []):
            cells = []
            for b in row:
                if "callback_data" in b:
                    n = self.next_button
                    self.next_button += 1
                    self.buttons[n] = (message, b["callback_data"])
                    self.labels[n] = b["text"]
                    cells.append("[%d] %s" % (n, b["text"]))
                elif "url" in b:
                    cells.append("[🔗 %s → %s]" % (b["text"], b["url"]))
                else:
                    cells.append("[↗ %s]" % b["text"])
            lines.append("   " + "   ".join(cells))
        return lines

    def show(self, call):
        m, p = call["method"], call["params"]
        if call["status"] != 200:
            self.say("   (Telegram refused %s: HTTP %s %s)" % (m, call["status"],
                                                              call.get("description", "")))
            return
        if str(p.get("chat_id", self.chat["id"])) != str(self.chat["id"]) and \
                m not in ("answerCallbackQuery", "answerInlineQuery"):
            return
        msg = {"message_id": p.get("message_id"), "from": {"id": 1, "is_bot": True},
               "date": int(time.time()), "text": p.get("text", "")}
        if m == "sendMessage":
            msg["message_id"] = self.lookup_mid(call)
            lines = ["🤖 " + self.render_text(p.get("text")).replace("\n", "\n   ")]
            lines += self.render_keyboard(msg, p.get("reply_markup"))
            self.say("\n".join(lines))
        elif m == "editMessageText":
            lines = ["🤖 ✏️  " + self.render_text(p.get("text")).replace("\n", "\n   ")]
            lines += self.render_keyboard(msg, p.get("reply_markup"))
            self.say("\n".join(lines))
        elif m == "editMessageReplyMarkup":
            self.say("\n".join(["🤖 ✏️  (buttons changed)"] +
                               self.render_keyboard(msg, p.get("reply_markup"))))
        elif m == "answerCallbackQuery":
            if p.get("text"):
                self.say("   🔔 " + p["text"])
        elif m == "sendPhoto":
            msg["message_id"] = self.lookup_mid(call)
            lines = ["🤖 🖼  [photo %s]" % str(p.get("photo"))[:80]]
            if p.get("caption"):
                lines.append("   " + self.render_text(p["caption"]))
            lines += self.render_keyboard(msg, p.get("reply_markup"))
            self.say("\n".join(lines))
        elif m == "sendMediaGroup":
            media = p.get("media") or []
            self.say("🤖 🖼  [album of %d photos]" % len(media))
        elif m == "sendDocument":
            msg["message_id"] = self.lookup_mid(call)
            lines = ["🤖 📎 [file %s]" % str(p.get("document"))[:80]]
            if p.get("caption"):
                lines.append("   " + self.render_text(p["caption"]))
            lines += self.render_keyboard(msg, p.get("reply_markup"))
            self.say("\n".join(lines))
        elif m == "sendInvoice":
            prices = p.get("prices") or []
            stars = sum(x.get("amount", 0) for x in prices if isinstance(x, dict))
            self.say("🤖 🧾 [invoice] %s — %s ⭐\n   %s\n   (type :pay to pay it)" % (
                p.get("title"), stars, p.get("description")))
        elif m == "answerPreCheckoutQuery":
            self.say("   (checkout %s)" % ("accepted" if p.get("ok") else
                                           "refused: %s" % p.get("error_message")))
        elif m == "sendChatAction":
            self.say("   … %s" % p.get("action"))
        elif m == "deleteMessage":
            self.say("   (a message was deleted)")

    def lookup_mid(self, call):
        """The message_id the stand-in gave this sent message."""
        try:
            msgs = self.ctl("/_ctl/messages?chat_id=%d" % self.chat["id"])["messages"]
        except OSError:
            return None
        text = call["params"].get("text")
        for m in reversed(msgs):
            if text is None or m.get("text") == text:
                return m["message_id"]
        return msgs[-1]["message_id"] if msgs else None

    def poll(self):
        calls = self.ctl("/_ctl/calls?since=%d" % self.seq)["calls"]
        for c in calls:
            self.seq = max(self.seq, c["seq"])
            if c["service"] == "telegram" and c["method"] not in ("getFile", "download",
                                                                  "setWebhook", "setMyCommands",
                                                                  "getMe"):
                self.show(c)
        return len(calls)

    def settle(self, quiet=0.6, limit=5.0):
        end = time.time() + limit
        last = time.time()
        while time.time() < end:
            if self.poll():
                last = time.time()
            elif time.time() - last > quiet:
                break
            time.sleep(0.1)

    # --- the loop ---------------------------------------------------------------------------
    def handle(self, line):
        line = line.strip()
        if not line:
            return True
        if line.startswith("#") and line[1:].isdigit():
            line = ":press " + line[1:]
        elif line.startswith("#") and len(line) > 1:
            want = line[1:].strip().lower()
            def words(n):
                return [w.strip("«»“”\"'.,!?") for w in self.labels.get(n, "").lower().split()]
            hits = [n for n in self.buttons if want in " ".join(words(n)).split()
                    or any(w.startswith(want) for w in words(n))]
            if not hits:
                hits = [n for n in self.buttons if want in self.labels.get(n, "").lower()]
            if not hits:
                self.say("no button labelled %r" % line[1:])
                return True
            line = ":press %d" % max(hits)
        if line.startswith(":"):
            parts = line[1:].split()
            cmd, args = (parts[0] if parts else ""), parts[1:]
            if cmd in ("quit", "exit", "q"):
                return False
            if cmd == "help":
                self.say(__doc__)
            elif cmd == "photo" and len(args) == 1 and not args[0].isdigit():
                self.send_file_photo(os.path.expanduser(args[0]))
            elif cmd == "photo":
                w, h = (int(args[0]), int(args[1])) if len(args) == 2 else (1280, 960)
                self.deliver(self.send_photo(w, h))
            elif cmd == "album":
                self.send_album(int(args[0]) if args else 3)
            elif cmd == "doc":
                self.send_doc(args[0] if args else "jpeg")
            elif cmd == "sticker":
                self.send_sticker()
            elif cmd == "press" and args and args[0].isdigit():
                self.press(int(args[0]))
            elif cmd == "pay":
                r = self.ctl("/_ctl/pay", {"user": self.user, "chat_id": self.chat["id"]})
                if r.get("error"):
                    self.say("   (%s)" % r["error"])
                elif r.get("charge_id"):
                    self.say("   (you paid; charge %s)" % r["charge_id"])
            elif cmd == "lang" and args:
                self.user["language_code"] = args[0]
                self.say("   (your app now reports language %s)" % args[0])
            elif cmd == "wait":
                self.settle(quiet=float(args[0]) if args else 5.0,
                            limit=float(args[0]) if args else 5.0)
                return True
            else:
                self.say("unknown action; :help lists them")
                return True
        else:
            self.send_text(line)
        self.settle()
        return True


def main():
    ap = argparse.ArgumentParser(description="Talk to the local bot as a Telegram user.")
    ap.add_argument("--base", help="the stand-in Telegram (default: from var/aisha.env)")
    ap.add_argument("--user-id", type=int, default=100000001)
    ap.add_argument("--name", default="Тестер")
    ap.add_argument("--lang", default="ru")
    args = ap.parse_args()
    var = os.environ.get("AISHA_VAR_DIR") or os.path.join(ROOT, "var")
    base = args.base or env_file_value(os.path.join(var, "aisha.env"), "TELEGRAM_API_BASE")
    if not base:
        print("The sandbox is not up: run `make up` first (without TELEGRAM_BOT_TOKEN).")
        sys.exit(1)
    try:
        chat = Chat(base, args.user_id, args.name, args.lang)
    except OSError as e:
        print("Cannot reach the stand-in Telegram at %s (%s): is `make up` running?" % (base, e))
        sys.exit(1)
    stop = threading.Event()

    def background():
        while not stop.wait(1.0):
            try:
                chat.poll()
            except OSError:
                pass
    interactive = sys.stdin.isatty()
    if interactive:
        print("You are %s (id %d) in a private chat with the bot. Try /start — :help for actions."
              % (args.name, args.user_id))
        threading.Thread(target=background, daemon=True).start()
    try:
        while True:
            if interactive:
                try:
                    line = input("you> ")
                except EOFError:
                    break
            else:
                line = sys.stdin.readline()
                if not line:
                    break
                print("you> " + line.rstrip())
            if not chat.handle(line):
                break
    except KeyboardInterrupt:
        pass
    stop.set()
    if not interactive:
        chat.settle(quiet=1.0, limit=3.0)


if __name__ == "__main__":
    main()
