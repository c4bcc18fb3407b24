/*
 * webhook_tokens — the random token FAL carries back in a job's webhook URL
 * (/fal/webhook?avatar=ID&token=…).  A fresh one is issued before each
 * submission; only its keyed hash is kept (auth_token_hash), so neither the
 * database nor a log holds a token that works.  A token answers only for its
 * own job, and once the job has ended it changes nothing (the finish path
 * says "duplicate") and is pruned a week later.
 */
#ifndef AISHA_WEBHOOK_TOKENS_H
#define AISHA_WEBHOOK_TOKENS_H

#include <stdint.h>

#include "db.h"

#define WEBHOOK_TOKEN_LEN 43 /* 32 random bytes, URL-safe base64 */

/* A new token for (kind, id), replacing any earlier one; 0 or -1. */
int webhook_token_issue(struct db *db, const char *secret, const char *kind, int64_t id,
    char out[WEBHOOK_TOKEN_LEN + 1]);
/* 1 when token is the one issued for (kind, id), 0 when not, -1 on error. */
int webhook_token_check(struct db *db, const char *secret, const char *kind, int64_t id,
    const char *token);
/* Drops tokens issued more than a week ago; how many, or -1. */
int webhook_tokens_prune(struct db *db);

#endif
