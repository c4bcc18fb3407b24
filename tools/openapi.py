#!/usr/bin/python3
"""Writes docs/openapi.json, the OpenAPI 3 document of every route
(tests/integration/test_operations.py checks it against the code's routes).
Add a route here when you add one to the code, then run this."""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "openapi.json")
err = {"$ref": "#/components/responses/Error"}
def op(summary, ok="200", okdesc="OK", sec=True, params=(), body=None, extra=None, okschema=None, ctype="application/json"):
    o = {"summary": summary, "responses": {ok: {"description": okdesc, "content": {ctype: {"schema": okschema or {"type": "object"}}}}}}
    o["responses"]["default"] = err
    if sec is True:
        o["security"] = [{"bearer": []}]
    elif sec:
        o["security"] = sec
    else:
        o["security"] = []
    if params:
        o["parameters"] = list(params)
    if body:
        o["requestBody"] = body
    if extra:
        o["responses"].update(extra)
    return o
pid = lambda name, desc, t="integer": {"name": name, "in": "path", "required": True, "description": desc, "schema": {"type": t} if t != "integer" else {"type": "integer", "minimum": 1}}
q = lambda name, desc, schema: {"name": name, "in": "query", "required": False, "description": desc, "schema": schema}
jsonbody = lambda schema, desc: {"required": True, "description": desc, "content": {"application/json": {"schema": schema}}}
empty = {"required": False, "description": "none: send an empty body (curl -d '')", "content": {"application/json": {"schema": {"type": "object"}}}}
doc = {
 "openapi": "3.0.3",
 "info": {"title": "Aisha", "version": "1", "description": "The HTTP routes of Aisha's four FastCGI programs behind lighttpd (README: Routes). Errors are {\"ok\":false,\"error\":{\"code\",\"message\"}}; every answer carries X-Request-Id. tests/integration/test_operations.py checks this document against the routes in the code."},
 "servers": [{"url": "http://127.0.0.1:8080"}],
 "components": {
   "securitySchemes": {
     "bearer": {"type": "http", "scheme": "bearer", "description": "ADMIN_TOKEN"},
     "telegramSecret": {"type": "apiKey", "in": "header", "name": "X-Telegram-Bot-Api-Secret-Token", "description": "TELEGRAM_WEBHOOK_SECRET, as given to setWebhook"},
     "falToken": {"type": "apiKey", "in": "query", "name": "token", "description": "the job's random webhook token (with avatar= or generation=), and FAL's ED25519 signature headers in live mode"}},
   "schemas": {"Error": {"type": "object", "required": ["ok", "error"], "properties": {"ok": {"type": "boolean", "enum": [False]}, "error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}},
   "responses": {"Error": {"description": "an error (400 bad input, 401 no or wrong credentials, 404 unknown, 405 wrong method, 409 not now, 411 no Content-Length, 413 too large, 429 too many refused calls, 500/503 try again)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}},
 "paths": {
  "/telegram/webhook": {"post": op("A Telegram update (tg-update)", sec=[{"telegramSecret": []}], body=jsonbody({"type": "object", "required": ["update_id"]}, "a Telegram Update, up to 1 MB"), okdesc="handled; the body may hold one Bot API method to perform")},
  "/fal/webhook": {"post": op("A FAL queue result (fal-webhook)", sec=[{"falToken": []}], params=[q("avatar", "the avatar's id", {"type": "integer"}), q("generation", "the generation's id", {"type": "integer"}), q("token", "the job's webhook token", {"type": "string"})], body=jsonbody({"type": "object", "required": ["request_id", "status"]}, "FAL's webhook payload, up to 256 KB"))},
  "/api/avatars/{id}/train": {"post": op("Start training a queued avatar now (start-training)", ok="202", okdesc="submitted to FAL", params=[pid("id", "avatar id")], body=empty)},
  "/api/avatars/{id}/status": {"get": op("An avatar's training status, polled at FAL first", params=[pid("id", "avatar id")])},
  "/api/check-status": {"post": op("Run the status checker now", body=empty)},
  "/api/users/{id}": {"get": op("A person's balance, last ledger entries and jobs", params=[pid("id", "Telegram user id")])},
  "/api/users/{id}/credits": {"post": op("Grant (+) or take (−) credits, once per key", params=[pid("id", "Telegram user id")], body=jsonbody({"type": "object", "required": ["delta", "key"], "properties": {"delta": {"type": "integer", "minimum": -1000000, "maximum": 1000000}, "key": {"type": "string", "minLength": 1, "maxLength": 100}, "note": {"type": "string", "maxLength": 500}}}, "the grant"))},
  "/api/payments/{charge_id}/refund": {"post": op("Refund a Telegram Stars payment and take its credits back", params=[pid("charge_id", "telegram_payment_charge_id", "string")], body=empty)},
  "/api/overview": {"get": op("Counts by status and type, oldest jobs, outbox, checkers, FAL spend")},
  "/api/stats": {"get": op("Users, trainings per UTC day by type and outcome, success rate and median/p90 training time by type and trainer, generations per day, credits bought and refunded per day", params=[q("days", "the window", {"type": "integer", "minimum": 1, "maximum": 366, "default": 30})])},
  "/api/attention": {"get": op("Jobs stuck past their time, jobs failed in the last 24 h with FAL's error, messages Telegram keeps refusing, updates recorded as failed")},
  "/api/people": {"get": op("People by Telegram id or @username (a prefix), up to 20", params=[q("q", "a Telegram id or a username", {"type": "string", "minLength": 1, "maxLength": 79})])},
  "/api/avatars": {"get": op("Avatars, newest first, paged", params=[q("status", "an avatar status", {"type": "string", "enum": ["draft", "photos", "ready", "queued", "submitting", "training", "completed", "error", "cancelled"]}), q("type", "training type", {"type": "string", "enum": ["portrait", "style"]}), q("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}), q("before", "the previous page's next_before", {"type": "integer", "minimum": 1})], okschema={"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}, "next_before": {"type": "integer", "nullable": True}}})},
  "/api/avatars/{id}/retry": {"post": op("A failed avatar back to the queue (charged again), started in the background", ok="202", params=[pid("id", "avatar id")], body=empty)},
  "/api/avatars/{id}/cancel": {"post": op("Cancel a queued or training avatar: refunded, the person told, FAL asked to drop it", params=[pid("id", "avatar id")], body=empty)},
  "/api/generations/{id}/retry": {"post": op("A failed generation queued again and started now (not charged again)", ok="202", params=[pid("id", "generation id")], body=empty)},
  "/api/generations/{id}/cancel": {"post": op("Cancel a queued or running generation", params=[pid("id", "generation id")], body=empty)},
  "/healthz": {"get": op("ok, or 503 when the database is down, a migration is pending or the status checker stopped; details with the token", sec=[{}, {"bearer": []}], extra={"503": {"description": "unhealthy", "content": {"application/json": {"schema": {"type": "object"}}}}})},
  "/metrics": {"get": op("Prometheus text format (Bearer, or a caller on 127.0.0.1)", sec=[{}, {"bearer": []}], ctype="text/plain", okschema={"type": "string"})},
  "/media/{name}": {"get": op("A training zip for FAL to download (lighttpd, static): 22 random characters + .zip, only while FAL needs it", sec=False, params=[pid("name", "22 characters of A–Z a–z 0–9 _ - and .zip", "string")], ctype="application/zip", okschema={"type": "string", "format": "binary"})},
 }}
with open(OUT, "w") as f:
    json.dump(doc, f, indent=1, ensure_ascii=False)
    f.write("\n")
