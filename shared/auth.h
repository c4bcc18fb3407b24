/*
 * auth — secret comparison for the three ways callers prove who they are:
 * Telegram's webhook secret header, the operator's Bearer token, and the
 * per-avatar webhook token FAL carries back in the URL.  Comparisons take
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
/* Hex HMAC-SHA256 of "<kind>:<id>" under secret into out (65 bytes). */
void auth_token(const char *secret, const char *kind, int64_t id, char out[65]);
/* Fills out with n random bytes as URL-safe base64 (no padding). */
void auth_random_b64(char *out, size_t outlen, size_t nbytes);
int auth_init(void);

#endif
