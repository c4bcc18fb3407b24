/*
 * auth — secret comparison for the three ways callers prove who they are:
 * Telegram's webhook secret header, the operator's Bearer token, and the
 * random per-job token FAL carries back in the webhook URL (kept only as a
 * keyed hash: webhook_tokens.h).  Comparisons take
 * time independent of where the strings differ (libsodium).
 */
#ifndef AISHA_AUTH_H
#define AISHA_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Constant-time equality; false when either is NULL or expected is empty. */
bool auth_equal(const char *given, const char *expected);
/* "Bearer <token>" against token (empty token: nobody gets in). */
bool auth_bearer(const char *authorization_header, const char *token);
/* Hex keyed BLAKE2b-256 of token under (a hash of) secret into out. */
void auth_token_hash(const char *secret, const char *token, char out[65]);
/* Fills out with n random bytes as URL-safe base64 (no padding). */
void auth_random_b64(char *out, size_t outlen, size_t nbytes);
int auth_init(void);

#endif
