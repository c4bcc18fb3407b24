#!/usr/bin/python3
"""Stand-ins for the two services this machine cannot reach.

    Telegram Bot API   POST /bot<TOKEN>/<method>, GET /file/bot<TOKEN>/<path>
    FAL queue          POST /<owner>/<app>[/<path>]   (submit)
                       GET  /<owner>/<app>/requests/<id>/status
                       GET  /<owner>/<app>/requests/<id>
                       PUT  /<owner>/<app>/requests/<id>/cancel
                       GET  /.well-known/jwks.json
                       and webhook delivery to the submit's ?fal_webhook=

Both speak the documented wire protocol (../shared/contracts) on 127.0.0.1
and share one control API under /_ctl/ (either port) for tests and the
sandbox chat:

    POST /_ctl/deliver        {"update": {...}} -> delivered to the webhook the
                              bot registered with setWebhook, with its secret;
                              a method in the webhook answer is performed, as
                              Telegram does.  Answers {"status", "body"}.
    GET  /_ctl/calls?since=N  every Bot API / FAL call received, in order
    POST /_ctl/fail           inject failures (see Failures below)
    POST /_ctl/reset          forget calls, messages, failures and requests
    GET  /_ctl/state          webhook, bot, counters
    POST /_ctl/fal/complete   {"request_id"} finish a FAL request now
    POST /_ctl/fal/hold       {"request_id", "seconds"} keep it in progress
    POST /_ctl/reset_failures forget injected failures

Failures ({"service": "telegram"|"fal", "method", "status", "count", ...}):
Telegram methods answer the status (429 with retry_after, 403 blocked, 500,
or "delay": seconds before answering); FAL "submit"/"status"/"result" answer
the status (a 0 status holds the connection: a timeout), "result" at submit
time makes the request end with an error result (and an ERROR webhook),
"webhook" with "mode": "lost" | "duplicate", and "nsfw" flags the images.

Test tooling only (Python standard library): never part of the product.
"""
import argparse
import base64
import hashlib
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY

BOT = {"id": 7012345678, "is_bot": True, "first_name": "Aisha",
       "username": "aisha_sandbox_bot"}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def make_jpeg(seed, width=320, height=400):
    """A real baseline JPEG (via libjpeg's cjpeg): a gradient keyed by seed."""
    h = hashlib.sha256(seed.encode()).digest()
    r0, g0, b0 = h[0], h[1], h[2]
    rows = bytearray()
    for y in range(height):
        for x in range(width):
            rows += bytes(((r0 + x // 3) & 255, (g0 + y // 3) & 255,
                           (b0 + (x + y) // 5) & 255))
    ppm = b"P6\n%d %d\n255\n" % (width, height) + bytes(rows)
    out = subprocess.run(["cjpeg", "-quality", "80"], input=ppm,
                         capture_output=True, check=True)
    return out.stdout


class Failures:
    """Injected failures: each rule matches a service+method (+chat) and
    fires `count` times (-1: until cleared), or for `seconds` (an outage)."""

    def __init__(self):
        self.rules = []

    def add(self, rule):
        if "seconds" in rule:       # an outage: every call until it ends
            rule["until"] = time.time() + float(rule["seconds"])
            rule.setdefault("count", -1)
        rule.setdefault("count", 1)
        self.rules.append(rule)

    def take(self, service, method, chat_id=None):
        for r in self.rules:
            if r.get("service", "telegram") != service:
                continue
            if r.get("method") not in (None, "*", method):
                continue
            if r.get("chat_id") is not None and r["chat_id"] != chat_id:
                continue
            if r["count"] == 0 or r.get("until", float("inf")) <= time.time():
                continue
            if r["count"] > 0:
                r["count"] -= 1
            return r
        return None


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.reset()
        self.jpeg_cache = {}

    def reset(self):
        with getattr(self, "lock", threading.RLock()):
            self.calls = []
            self.seq = 0
            self.counts = {}        # "service.via" -> calls, for the benchmarks
            self.webhook = {"url": self.args.webhook or "", "secret": self.args.secret or ""}
            self.commands = {}
            self.messages = {}      # chat_id -> {message_id: message}
            self.next_mid = {}      # chat_id -> next message_id
            self.failures = Failures()
            self.files = {}         # file_id -> {"path", "unique", "seed", "size"}
            self.fal = {}           # request_id -> request
            self.update_id = int(time.time() * 1000)  # increasing across restarts

    def record(self, service, method, params, status, via="api", extra=None):
        with self.lock:
            self.seq += 1
            k = service + "." + via
            self.counts[k] = self.counts.get(k, 0) + 1
            c = {"seq": self.seq, "t": time.time(), "service": service,
                 "method": method, "params": params, "status": status, "via": via}
            if extra:
                c.update(extra)
            self.calls.append(c)
            return c

    def jpeg(self, seed):
        with self.lock:
            if seed not in self.jpeg_cache:
                self.jpeg_cache[seed] = make_jpeg(seed)
            return self.jpeg_cache[seed]


# --- Telegram ---------------------------------------------------------------

class TelegramError(Exception):
    def __init__(self, code, description, retry_after=None):
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


def tg_chat_id(p):
    try:
        return int(p.get("chat_id"))
    except (TypeError, ValueError):
        return None


class Telegram:
    def __init__(self, st):
        self.st = st

    def _new_message(self, chat_id, **fields):
        st = self.st
        with st.lock:
            mid = st.next_mid.get(chat_id, 1000)
            st.next_mid[chat_id] = mid + 1
            m = {"message_id": mid, "from": BOT,
                 "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                 "date": int(time.time())}
            m.update({k: v for k, v in fields.items() if v is not None})
            st.messages.setdefault(chat_id, {})[mid] = m
            return m

    def _need_chat(self, p):
        chat_id = tg_chat_id(p)
        if chat_id is None:
            raise TelegramError(400, "Bad Request: chat_id is empty")
        return chat_id

    def _text(self, p, key="text", limit=4096):
        t = p.get(key)
        if key == "text" and (not isinstance(t, str) or not t):
            raise TelegramError(400, "Bad Request: message text is empty")
        if isinstance(t, str) and len(t) > limit:
            raise TelegramError(400, "Bad Request: message is too long")
        return t

    def _check_markup(self, p):
        rm = p.get("reply_markup")
        if isinstance(rm, str):
            try:
                rm = json.loads(rm)
            except ValueError:
                raise TelegramError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if rm is None:
            return None
        kb = rm.get("inline_keyboard") if isinstance(rm, dict) else None
        if kb is not None:
            for row in kb:
                for b in row:
                    d = b.get("callback_data")
                    if d is not None and not (1 <= len(d.encode()) <= 64):
                        raise TelegramError(400, "Bad Request: BUTTON_DATA_INVALID")
        return rm

    def _file_for(self, value, kind):
        """A sent photo/document: an uploaded file, a URL or a file_id."""
        st = self.st
        with st.lock:
            n = len(st.files) + 1
            fid = "%s_sent_%d_%s" % (kind, n, uuid.uuid4().hex[:8])
            st.files[fid] = {"path": "%ss/file_%d.jpg" % (kind, n),
                             "unique": "U" + uuid.uuid4().hex[:10],
                             "seed": str(value)[:200], "size": 50000}
            return fid, st.files[fid]["unique"]

    def call(self, method, p):
        m = getattr(self, "m_" + method, None)
        if m is None:
            raise TelegramError(404, "Not Found: method not found")
        return m(p)

    def m_getMe(self, p):
        return BOT

    def m_setWebhook(self, p):
        url = p.get("url", "")
        secret = p.get("secret_token", "")
        if secret and not all(c.isalnum() or c in "_-" for c in secret):
            raise TelegramError(400, "Bad Request: secret token contains unallowed characters")
        with self.st.lock:
            self.st.webhook = {"url": url, "secret": secret,
                               "allowed_updates": p.get("allowed_updates")}
        return True

    def m_deleteWebhook(self, p):
        with self.st.lock:
            self.st.webhook = {"url": "", "secret": ""}
        return True

    def m_getWebhookInfo(self, p):
        return {"url": self.st.webhook.get("url", ""), "pending_update_count": 0}

    def m_setMyCommands(self, p):
        cmds = p.get("commands")
        if not isinstance(cmds, list) or not cmds:
            raise TelegramError(400, "Bad Request: commands must be non-empty")
        self.st.commands[p.get("language_code", "")] = cmds
        return True

    def m_sendMessage(self, p):
        chat_id = self._need_chat(p)
        text = self._text(p)
        rm = self._check_markup(p)
        return self._new_message(chat_id, text=text, reply_markup=rm)

    def _existing(self, p):
        chat_id = self._need_chat(p)
        try:
            mid = int(p.get("message_id"))
        except (TypeError, ValueError):
            raise TelegramError(400, "Bad Request: message identifier is not specified")
        m = self.st.messages.get(chat_id, {}).get(mid)
        if m is None:
            raise TelegramError(400, "Bad Request: message to edit not found")
        return m

    def m_editMessageText(self, p):
        text = self._text(p)
        rm = self._check_markup(p)
        with self.st.lock:
            m = self._existing(p)
            if m.get("text") == text and m.get("reply_markup") == rm:
                raise TelegramError(400, "Bad Request: message is not modified: specified new "
                                    "message content and reply markup are exactly the same")
            m["text"] = text
            m["reply_markup"] = rm
            m["edit_date"] = int(time.time())
            return m

    def m_editMessageReplyMarkup(self, p):
        rm = self._check_markup(p)
        with self.st.lock:
            m = self._existing(p)
            if m.get("reply_markup") == rm:
                raise TelegramError(400, "Bad Request: message is not modified")
            m["reply_markup"] = rm
            return m

    def m_editMessageMedia(self, p):
        media = p.get("media")
        if isinstance(media, str):
            media = json.loads(media)
        if not isinstance(media, dict) or not media.get("media"):
            raise TelegramError(400, "Bad Request: there is no media in the request")
        rm = self._check_markup(p)
        with self.st.lock:
            m = self._existing(p)
            fid, uniq = self._file_for(media["media"], "photo")
            m["photo"] = self._photo_sizes(fid, uniq)
            m["caption"] = media.get("caption")
            m["reply_markup"] = rm
            return m

    def m_deleteMessage(self, p):
        with self.st.lock:
            m = self._existing(p)
            del self.st.messages[m["chat"]["id"]][m["message_id"]]
        return True

    def m_answerCallbackQuery(self, p):
        if not p.get("callback_query_id"):
            raise TelegramError(400, "Bad Request: query is too old and response timeout expired")
        return True

    def m_answerInlineQuery(self, p):
        if not p.get("inline_query_id"):
            raise TelegramError(400, "Bad Request: QUERY_ID_INVALID")
        return True

    def m_sendChatAction(self, p):
        self._need_chat(p)
        if p.get("action") not in ("typing", "upload_photo", "upload_document"):
            raise TelegramError(400, "Bad Request: wrong parameter action in request")
        return True

    def _photo_sizes(self, fid, uniq):
        return [{"file_id": fid + "_s", "file_unique_id": uniq + "s", "width": 320,
                 "height": 320, "file_size": 9000},
                {"file_id": fid, "file_unique_id": uniq, "width": 1024,
                 "height": 1024, "file_size": 90000}]

    def m_sendPhoto(self, p):
        chat_id = self._need_chat(p)
        if not p.get("photo"):
            raise TelegramError(400, "Bad Request: there is no photo in the request")
        self._text(p, "caption", 1024)
        rm = self._check_markup(p)
        fid, uniq = self._file_for(p["photo"], "photo")
        return self._new_message(chat_id, photo=self._photo_sizes(fid, uniq),
                                 caption=p.get("caption"), reply_markup=rm)

    def m_sendDocument(self, p):
        chat_id = self._need_chat(p)
        if not p.get("document"):
            raise TelegramError(400, "Bad Request: there is no document in the request")
        rm = self._check_markup(p)
        fid, uniq = self._file_for(p["document"], "document")
        return self._new_message(chat_id, document={"file_id": fid, "file_unique_id": uniq,
                                                    "file_name": "image.jpg",
                                                    "mime_type": "image/jpeg"},
                                 caption=p.get("caption"), reply_markup=rm)

    def m_sendMediaGroup(self, p):
        chat_id = self._need_chat(p)
        media = p.get("media")
        if isinstance(media, str):
            media = json.loads(media)
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise TelegramError(400, "Bad Request: wrong number of media (must be 2-10)")
        out = []
        for item in media:
            fid, uniq = self._file_for(item.get("media"), "photo")
            out.append(self._new_message(chat_id, photo=self._photo_sizes(fid, uniq),
                                         caption=item.get("caption"),
                                         media_group_id="mg" + uuid.uuid4().hex[:8]))
        return out

    def m_getFile(self, p):
        fid = p.get("file_id")
        if not isinstance(fid, str) or not fid:
            raise TelegramError(400, "Bad Request: invalid file_id")
        with self.st.lock:
            f = self.st.files.get(fid)
            if f is None:
                # Any file the chat or a test sent: deterministic per file_id.
                f = {"path": "photos/file_%s.jpg" % hashlib.sha1(fid.encode()).hexdigest()[:12],
                     "unique": "U" + hashlib.sha1(fid.encode()).hexdigest()[:10],
                     "seed": fid, "size": None}
                self.st.files[fid] = f
        data = self.st.jpeg(f["seed"])
        if f.get("size_override", 0) > 20 * 1024 * 1024:
            raise TelegramError(400, "Bad Request: file is too big")
        return {"file_id": fid, "file_unique_id": f["unique"], "file_size": len(data),
                "file_path": f["path"]}

    def download(self, path):
        with self.st.lock:
            for f in self.st.files.values():
                if f["path"] == path:
                    return self.st.jpeg(f["seed"])
        return None


# --- FAL ---------------------------------------------------------------------

TRAINER_OUTPUT_LORA = lambda rid: {
    "diffusers_lora_file": {"url": "https://v3.fal.media/files/sandbox/%s_lora.safetensors" % rid,
                            "content_type": "application/octet-stream",
                            "file_name": "pytorch_lora_weights.safetensors",
                            "file_size": 89745224},
    "config_file": {"url": "https://v3.fal.media/files/sandbox/%s_config.json" % rid,
                    "content_type": "application/octet-stream",
                    "file_name": "config.json", "file_size": 452}}


class Fal:
    def __init__(self, st, base):
        self.st = st
        self.base = base

    def output_for(self, req):
        ep = req["endpoint"]
        rid = req["request_id"]
        if ep.endswith("flux-pro-trainer"):
            return {"finetune_id": "ft-%s" % rid[:18]}
        if "trainer" in ep or "training" in ep:
            return TRAINER_OUTPUT_LORA(rid)
        n = int(req["input"].get("num_images", 1) or 1)
        seed = req["input"].get("seed") or 42
        return {"images": [{"url": "%s/_media/%s_%d.jpg" % (self.base, rid, i),
                            "width": 1024, "height": 1024, "content_type": "image/jpeg"}
                           for i in range(n)],
                "seed": seed, "has_nsfw_concepts": [bool(req.get("nsfw"))] * n,
                "prompt": req["input"].get("prompt", ""), "timings": {"inference": 1.2}}

    def app_of(self, endpoint):
        return "/".join(endpoint.split("/")[:2])

    def submit(self, endpoint, query, body, auth):
        rid = str(uuid.uuid4())
        app = self.app_of(endpoint)
        dur = self.st.args.fal_duration
        req = {"request_id": rid, "endpoint": endpoint, "input": body, "auth": auth,
               "webhook": (urllib.parse.parse_qs(query).get("fal_webhook") or [None])[0],
               "created": time.time(), "done_at": time.time() + dur, "status": "IN_QUEUE",
               "cancelled": False, "delivered": 0}
        rule = self.st.failures.take("fal", "result")
        if rule:
            req["result_error"] = rule
        rule = self.st.failures.take("fal", "webhook")
        if rule:
            req["webhook_mode"] = rule.get("mode", "lost")
        if self.st.failures.take("fal", "nsfw"):
            req["nsfw"] = True
        with self.st.lock:
            self.st.fal[rid] = req
        base = "%s/%s/requests/%s" % (self.base, app, rid)
        return {"request_id": rid, "gateway_request_id": rid, "status": "IN_QUEUE",
                "status_url": base + "/status", "response_url": base,
                "cancel_url": base + "/cancel", "queue_position": 0}

    def progress(self, req):
        now = time.time()
        if req["cancelled"]:
            return "COMPLETED"
        if now >= req["done_at"]:
            return "COMPLETED"
        if now >= req["created"] + (req["done_at"] - req["created"]) / 4:
            return "IN_PROGRESS"
        return "IN_QUEUE"

    def status_doc(self, req, logs):
        s = self.progress(req)
        doc = {"status": s, "request_id": req["request_id"]}
        if s == "IN_QUEUE":
            doc["queue_position"] = 0
        if logs and s != "IN_QUEUE":
            total = max(req["done_at"] - req["created"], 0.001)
            frac = min(1.0, (time.time() - req["created"]) / total)
            steps = int(req["input"].get("steps", 1000) or 1000)
            doc["logs"] = [{"message": "Training step %d/%d" % (int(frac * steps), steps),
                            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S")}]
        if s == "COMPLETED":
            doc["response_url"] = "%s/%s/requests/%s" % (self.base, self.app_of(req["endpoint"]),
                                                         req["request_id"])
        return doc

    def result(self, req):
        """(http status, body) of GET response_url."""
        if req["cancelled"]:
            return 400, {"detail": "Request was cancelled"}
        err = req.get("result_error")
        if err:
            return err.get("status", 422), {"detail": err.get("detail") or [
                {"loc": ["body", "images_data_url"], "msg": "Could not download images",
                 "type": "value_error"}]}
        return 200, self.output_for(req)

    def webhook_body(self, req):
        code, body = self.result(req)
        if code == 200:
            return {"request_id": req["request_id"], "gateway_request_id": req["request_id"],
                    "status": "OK", "payload": body}
        return {"request_id": req["request_id"], "gateway_request_id": req["request_id"],
                "status": "ERROR", "error": "Invalid status code: %d" % code, "payload": body}

    def deliver_due(self):
        """Called by the ticker: delivers webhooks of completed requests."""
        with self.st.lock:
            now = time.time()
            due = [r for r in self.st.fal.values()
                   if r["webhook"] and not r["delivered"] and self.progress(r) == "COMPLETED"
                   and r.get("retry_at", 0) <= now]
            for r in due:
                r["delivered"] = 1
        for r in due:
            mode = r.get("webhook_mode")
            if mode == "lost":
                self.st.record("fal", "webhook", {"request_id": r["request_id"]}, 0,
                               via="lost")
                continue
            times = 2 if mode == "duplicate" else 1
            body = json.dumps(self.webhook_body(r)).encode()
            for _ in range(times):
                code = self.post_webhook(r, body)
            # FAL retries a failed delivery 10 times (over 2 hours; here, seconds)
            n = r.get("attempts", 0) + 1
            if (code == 0 or code >= 500) and n < 10:
                with self.st.lock:
                    r.update(attempts=n, retry_at=time.time() + n, delivered=0)

    def post_webhook(self, r, body):
        headers = {"Content-Type": "application/json"}
        headers.update(sign_headers(self.st, r["request_id"], body))
        rq = urllib.request.Request(r["webhook"], data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(rq, timeout=15) as resp:
                code = resp.status
        except urllib.error.HTTPError as e:
            code = e.code
        except OSError:
            code = 0
        self.st.record("fal", "webhook", {"request_id": r["request_id"], "url": r["webhook"]},
                       code, via="webhook")
        return code


# --- webhook signatures (ED25519 via the openssl command) --------------------

def ensure_key(st):
    path = st.args.keyfile
    if not os.path.exists(path):
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", path],
                       check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    raw = der[-32:]
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def ed25519_sign(keyfile, msg):
    """openssl signs Ed25519 only in one shot, from a file of known size."""
    import tempfile
    with tempfile.NamedTemporaryFile() as f:
        f.write(msg)
        f.flush()
        return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", keyfile,
                               "-in", f.name], capture_output=True, check=True).stdout


def sign_headers(st, request_id, body):
    ts = str(int(time.time()) + st.args.sign_skew)
    user = "sandbox-user"
    msg = "\n".join([request_id, user, ts, hashlib.sha256(body).hexdigest()]).encode()
    try:
        sig = ed25519_sign(st.args.keyfile, msg).hex()
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"X-Fal-Webhook-Request-Id": request_id, "X-Fal-Webhook-User-Id": user,
            "X-Fal-Webhook-Timestamp": ts, "X-Fal-Webhook-Signature": sig}


# --- HTTP ----------------------------------------------------------------------

def parse_body(handler, raw):
    ctype = handler.headers.get("Content-Type", "")
    if not raw:
        return {}
    if ctype.startswith("application/json"):
        return json.loads(raw.decode())
    if ctype.startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
    if ctype.startswith("multipart/form-data"):
        msg = BytesParser(policy=HTTP_POLICY).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
        out = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True) or b""
            if part.get_filename():
                out[name] = {"_upload": part.get_filename(), "size": len(data),
                             "sha256": hashlib.sha256(data).hexdigest()}
            else:
                out[name] = data.decode()
                if name in ("reply_markup", "media") and out[name].startswith(("{", "[")):
                    out[name] = json.loads(out[name])
        return out
    return json.loads(raw.decode())


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body go out as two writes
    server_version = "aisha-standin/1"

    def log_message(self, fmt, *a):
        pass

    def send_json(self, code, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_bytes(self, code, data, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def route(self, verb):
        st = self.server.st
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        try:
            raw = self.body()
            if path.startswith("/_ctl/"):
                return self.control(verb, path, url.query, raw)
            if self.server.kind == "telegram":
                return self.telegram(verb, path, raw)
            return self.fal(verb, path, url.query, raw)
        except (ValueError, KeyError) as e:
            self.send_json(400, {"ok": False, "error_code": 400,
                                 "description": "Bad Request: %s" % e})
        except BrokenPipeError:
            pass

    # Telegram
    def telegram(self, verb, path, raw):
        st = self.server.st
        parts = path.split("/")
        if len(parts) >= 4 and parts[1] == "file" and parts[2] == "bot" + st.args.token:
            data = self.server.tg.download("/".join(parts[3:]))
            st.record("telegram", "download", {"path": "/".join(parts[3:])},
                      200 if data else 404)
            if data is None:
                return self.send_json(404, {"ok": False, "error_code": 404,
                                            "description": "Not Found"})
            return self.send_bytes(200, data, "image/jpeg")
        if len(parts) != 3 or not parts[1].startswith("bot"):
            return self.send_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if parts[1] != "bot" + st.args.token:
            return self.send_json(401, {"ok": False, "error_code": 401,
                                        "description": "Unauthorized"})
        method = parts[2]
        params = parse_body(self, raw)
        code, obj = self.server.tg_perform(method, params, "api")
        self.send_json(code, obj)

    # FAL
    def fal(self, verb, path, query, raw):
        st = self.server.st
        fal = self.server.falapi
        if path == "/.well-known/jwks.json":
            return self.send_json(200, {"keys": [{"kty": "OKP", "crv": "Ed25519",
                                                  "kid": "sandbox-1", "x": st.pubkey}]})
        if path.startswith("/_media/"):
            return self.send_bytes(200, st.jpeg(path), "image/jpeg")
        auth = self.headers.get("Authorization", "")
        if st.args.fal_key and auth != "Key " + st.args.fal_key:
            st.record("fal", verb.lower(), {"path": path}, 401)
            return self.send_json(401, {"detail": "Invalid API key"})
        segs = [s for s in path.split("/") if s]
        if len(segs) >= 4 and segs[2] == "requests":
            rid = segs[3]
            req = st.fal.get(rid)
            tail = segs[4] if len(segs) > 4 else ""
            method = {"status": "status", "cancel": "cancel", "": "result"}.get(tail, "?")
            rule = st.failures.take("fal", method)
            if rule and rule.get("status") == 0:   # a timeout: answer nothing
                time.sleep(rule.get("sleep", 20))
                return
            if rule and rule.get("status"):
                st.record("fal", method, {"request_id": rid}, rule["status"])
                return self.send_json(rule["status"], {"detail": "injected failure"})
            if req is None:
                st.record("fal", method, {"request_id": rid}, 404)
                return self.send_json(404, {"detail": "Request not found"})
            if st.args.fal_latency:
                time.sleep(st.args.fal_latency / 1000.0)
            if method == "status" and verb == "GET":
                qs = urllib.parse.parse_qs(query)
                doc = fal.status_doc(req, qs.get("logs", ["0"])[0] == "1")
                code = 200 if doc["status"] == "COMPLETED" else 202
                st.record("fal", "status", {"request_id": rid}, code)
                return self.send_json(code, doc)
            if method == "cancel" and verb == "PUT":
                if fal.progress(req) == "COMPLETED":
                    st.record("fal", "cancel", {"request_id": rid}, 400)
                    return self.send_json(400, {"status": "ALREADY_COMPLETED"})
                req["cancelled"] = True
                st.record("fal", "cancel", {"request_id": rid}, 202)
                return self.send_json(202, {"status": "CANCELLATION_REQUESTED"})
            if method == "result" and verb == "GET":
                if fal.progress(req) != "COMPLETED":
                    st.record("fal", "result", {"request_id": rid}, 400)
                    return self.send_json(400, {"detail": "Request is still in progress"})
                code, body = fal.result(req)
                st.record("fal", "result", {"request_id": rid}, code)
                return self.send_json(code, body)
            return self.send_json(405, {"detail": "Method not allowed"})
        if verb != "POST" or len(segs) < 2:
            return self.send_json(404, {"detail": "Not found"})
        endpoint = "/".join(segs)
        try:
            body = json.loads(raw.decode() or "{}")
        except ValueError:
            return self.send_json(422, {"detail": [{"loc": ["body"], "msg": "invalid JSON",
                                                    "type": "value_error"}]})
        rule = st.failures.take("fal", "submit")
        if rule:
            st.record("fal", "submit", {"endpoint": endpoint, "input": body,
                                        "query": query}, rule.get("status", 500))
            if rule.get("status", 500) == 422:
                return self.send_json(422, {"detail": rule.get("detail") or [
                    {"loc": ["body", "steps"], "msg": "ensure this value is less than 10000",
                     "type": "value_error"}]})
            if rule.get("status") == 0:   # a timeout: hold the connection, answer nothing
                time.sleep(rule.get("sleep", 20))
                return
            return self.send_json(rule.get("status", 500), {"detail": "Internal Server Error"})
        if not isinstance(body, dict):
            return self.send_json(422, {"detail": [{"loc": ["body"], "msg": "not an object",
                                                    "type": "type_error"}]})
        doc = fal.submit(endpoint, query, body, auth)
        st.record("fal", "submit", {"endpoint": endpoint, "input": body, "query": query,
                                    "request_id": doc["request_id"]}, 200)
        return self.send_json(200, doc)

    # Control
    def control(self, verb, path, query, raw):
        st = self.server.st
        body = json.loads(raw.decode()) if raw else {}
        if path == "/_ctl/calls":
            since = int((urllib.parse.parse_qs(query).get("since") or ["0"])[0])
            with st.lock:
                calls = [c for c in st.calls if c["seq"] > since]
            return self.send_json(200, {"calls": calls, "seq": st.seq})
        if path == "/_ctl/reset":
            st.reset()
            return self.send_json(200, {"ok": True})
        if path == "/_ctl/reset_failures":
            st.failures = Failures()
            return self.send_json(200, {"ok": True})
        if path == "/_ctl/fal/hold":
            with st.lock:
                req = st.fal.get(body.get("request_id", ""))
                if req:
                    secs = float(body.get("seconds", 30))
                    req["created"] = time.time() - secs
                    req["done_at"] = time.time() + secs
            return self.send_json(200, {"ok": bool(req)})
        if path == "/_ctl/fail":
            for rule in body.get("rules", [body]):
                st.failures.add(rule)
            return self.send_json(200, {"ok": True})
        if path == "/_ctl/state":
            with st.lock:
                return self.send_json(200, {"webhook": st.webhook, "seq": st.seq,
                                            "commands": st.commands,
                                            "counts": st.counts,
                                            "fal_requests": len(st.fal)})
        if path == "/_ctl/deliver":
            return self.send_json(200, self.server.deliver(body["update"]))
        if path == "/_ctl/fal/complete":
            with st.lock:
                req = st.fal.get(body.get("request_id", ""))
                if req:
                    req["done_at"] = time.time()
            return self.send_json(200, {"ok": bool(req)})
        if path == "/_ctl/fal/bulk":
            # Requests in flight that nobody submitted here (the benchmarks
            # seed the database with them): {"ids": [...], "endpoint", "seconds"}.
            now = time.time()
            secs = float(body.get("seconds", 3600))
            with st.lock:
                for rid in body.get("ids", []):
                    st.fal[rid] = {"request_id": rid, "endpoint": body.get("endpoint", ""),
                                   "input": {}, "auth": "", "webhook": None,
                                   "created": now - secs, "done_at": now + secs,
                                   "status": "IN_PROGRESS", "cancelled": False,
                                   "delivered": 0}
            return self.send_json(200, {"ok": True, "n": len(body.get("ids", []))})
        if path == "/_ctl/fal/requests":
            with st.lock:
                return self.send_json(200, {"requests": list(st.fal.values())})
        if path == "/_ctl/messages":
            chat = int((urllib.parse.parse_qs(query).get("chat_id") or ["0"])[0])
            with st.lock:
                return self.send_json(200, {"messages": list(st.messages.get(chat, {}).values())})
        return self.send_json(404, {"error": "unknown control path"})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def tg_perform(self, method, params, via):
        st = self.st
        rule = st.failures.take("telegram", method, tg_chat_id(params))
        if rule and rule.get("delay"):
            time.sleep(float(rule["delay"]))
            if "status" not in rule:
                rule = None
        if rule:
            code = rule.get("status", 500)
            desc = rule.get("description") or {
                429: "Too Many Requests: retry after %d" % rule.get("retry_after", 3),
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: injected"}.get(code, "Internal Server Error")
            obj = {"ok": False, "error_code": code, "description": desc}
            if code == 429:
                obj["parameters"] = {"retry_after": rule.get("retry_after", 3)}
            st.record("telegram", method, params, code, via)
            return code, obj
        try:
            result = self.tg.call(method, params)
            st.record("telegram", method, params, 200, via)
            return 200, {"ok": True, "result": result}
        except TelegramError as e:
            st.record("telegram", method, params, e.code, via, {"description": e.description})
            return e.code, {"ok": False, "error_code": e.code, "description": e.description}

    def deliver(self, update):
        """Telegram's side of webhook delivery, including the answer's method."""
        st = self.st
        with st.lock:
            if "update_id" not in update:
                st.update_id += 1
                update["update_id"] = st.update_id
            url, secret = st.webhook.get("url"), st.webhook.get("secret")
        if not url:
            return {"status": 0, "body": "no webhook registered"}
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        rq = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers,
                                    method="POST")
        try:
            with urllib.request.urlopen(rq, timeout=30) as resp:
                code, body = resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            code, body = e.code, e.read().decode()
        except OSError as e:
            return {"status": 0, "body": str(e), "update_id": update["update_id"]}
        if 200 <= code < 300 and body:
            try:
                ans = json.loads(body)
            except ValueError:
                ans = None
            if isinstance(ans, dict) and isinstance(ans.get("method"), str):
                params = {k: v for k, v in ans.items() if k != "method"}
                self.tg_perform(ans["method"], params, "webhook")
        return {"status": code, "body": body, "update_id": update["update_id"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--telegram-port", type=int, default=8081)
    ap.add_argument("--fal-port", type=int, default=8082)
    ap.add_argument("--token", default="123456:SANDBOX-token")
    ap.add_argument("--fal-key", default="")
    ap.add_argument("--fal-duration", type=float, default=3.0)
    ap.add_argument("--fal-latency", type=float, default=0.0, help="ms per status/result call")
    ap.add_argument("--webhook", default="")
    ap.add_argument("--secret", default="")
    ap.add_argument("--keyfile", default="var/standin-ed25519.pem")
    ap.add_argument("--sign-skew", type=int, default=0)
    ap.add_argument("--pidfile", default="")
    args = ap.parse_args()

    st = State(args)
    try:
        st.pubkey = ensure_key(st)
    except (OSError, subprocess.CalledProcessError) as e:
        log("no ED25519 key (%s): FAL webhooks go unsigned" % e)
        st.pubkey = ""
    tg_srv = Server((args.host, args.telegram_port), Handler)
    fal_srv = Server((args.host, args.fal_port), Handler)
    tg = Telegram(st)
    falapi = Fal(st, "http://%s:%d" % (args.host, args.fal_port))
    for s, kind in ((tg_srv, "telegram"), (fal_srv, "fal")):
        s.st, s.kind, s.tg, s.falapi = st, kind, tg, falapi
    for s in (tg_srv, fal_srv):
        threading.Thread(target=s.serve_forever, daemon=True).start()

    def ticker():
        while True:
            time.sleep(0.2)
            try:
                falapi.deliver_due()
            except Exception as e:  # keep delivering whatever one failure was
                log("webhook delivery error:", e)
    threading.Thread(target=ticker, daemon=True).start()
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(str(os.getpid()))
    log("telegram stand-in on http://%s:%d, fal stand-in on http://%s:%d"
        % (args.host, args.telegram_port, args.host, args.fal_port))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
