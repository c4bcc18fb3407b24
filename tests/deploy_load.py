"""Requests in flight across a deploy (tests/deploy.sh): N threads, each
sending one request after another — GET /healthz and a Telegram /help
update in turn — until the stop file appears; prints sent and failed."""
import json
import os
import sys
import threading
import urllib.error
import urllib.request

port, secret, stop, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
sent = [0] * n
failed = []
ids = iter(range(900000000, 999999999))
lock = threading.Lock()


def one(i):
    with lock:
        uid = next(ids)
    if uid % 2:
        rq = urllib.request.Request("http://127.0.0.1:%d/healthz" % port)
    else:
        body = {"update_id": uid, "message": {"message_id": 1, "date": 1,
                "chat": {"id": 31500 + i, "type": "private"},
                "from": {"id": 31500 + i, "is_bot": False, "first_name": "D"}, "text": "/help"}}
        rq = urllib.request.Request("http://127.0.0.1:%d/telegram/webhook" % port,
                                    data=json.dumps(body).encode(), method="POST",
                                    headers={"Content-Type": "application/json",
                                             "X-Telegram-Bot-Api-Secret-Token": secret})
    try:
        with urllib.request.urlopen(rq, timeout=30) as r:
            if r.status != 200:
                failed.append("%s %d" % (rq.full_url, r.status))
    except urllib.error.HTTPError as e:
        failed.append("%s %d %s" % (rq.full_url, e.code, e.read()[:100]))
    except OSError as e:
        failed.append("%s %s" % (rq.full_url, e))


def worker(i):
    while not os.path.exists(stop):
        one(i)
        sent[i] += 1


threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("sent %d failed %d" % (sum(sent), len(failed)))
for f in failed[:10]:
    print("  " + f)
