/*
 * fal_verify — FAL's ED25519 webhook signature (contracts/fal.md).
 *
 * The signed message is the four lines
 *   request_id \n user_id \n timestamp \n hex(sha256(raw body))
 * from the X-Fal-Webhook-* headers; the timestamp must be within ±300 s.
 * The public keys come from the JWKS at FAL_JWKS_URL (OKP / Ed25519, x in
 * base64url), cached in the fal_jwks table for 24 h and fetched again when
 * no cached key verifies (a key FAL rotated in); each worker keeps what it
 * read from the table for a minute.  libsodium does the crypto.
 *
 * A signature verifies once: each verified (request id, timestamp) pair is
 * kept for twice the window, and the same pair again is a replay.  The
 * caller binds the signature to the body by comparing the signed request
 * id with the body's (fal-webhook.c).
 */
#ifndef AISHA_FAL_VERIFY_H
#define AISHA_FAL_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "app.h"
#include "http.h"

/* The message FAL signs (exposed for tests); out gets a NUL-terminated copy. */
int fal_signed_message(const char *request_id, const char *user_id, const char *ts,
    const char *body, size_t body_len, char *out, size_t outlen);
/* Ed25519 verify of hex signature over msg with a base64url key. 0 valid. */
int fal_verify_with_key(const char *x_b64url, const char *sig_hex, const char *msg);

/* Seconds a signed webhook's timestamp may be away from now. */
#define FAL_SIGNATURE_WINDOW 300
/* X-Fal-Webhook-Timestamp: plain decimal seconds within the window of now
 * (range-checked before any arithmetic: no overflow on hostile input). */
bool fal_timestamp_fresh(const char *ts, time_t now);
/* 0 when the request carries a valid FAL signature, -1 with a reason.
 * Whether it was seen before is asked in the job's transaction
 * (fal_signature_claim). */
int fal_verify_request(struct app_ctx *ctx, const struct http_req *req, char *why,
    size_t whylen);
/* Remembers a verified signature's (request id, timestamp) in the caller's
 * transaction; *fresh becomes 1 when the pair is new, 0 for a replay — at
 * once, or when the transaction's next read runs (db_defer).  0 or -1. */
int fal_signature_claim(struct db *db, const char *rid, const char *ts, int *fresh);
/* Drops the seen signatures older than twice the window; how many, or -1. */
int fal_signatures_prune(struct db *db);

#endif
