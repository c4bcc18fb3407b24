#include "fal_verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "http_out.h"
#include "log.h"

int
fal_signed_message(const char *request_id, const char *user_id, const char *ts,
    const char *body, size_t body_len, char *out, size_t outlen)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];

	crypto_hash_sha256(h, (const unsigned char *)body, body_len);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	int n = snprintf(out, outlen, "%s\n%s\n%s\n%s", request_id, user_id, ts, hex);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int
fal_verify_with_key(const char *x, const char *sig_hex, const char *msg)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	size_t pklen = 0, siglen = 0;

	if (sodium_base642bin(pk, sizeof(pk), x, strlen(x), NULL, &pklen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 &&
	    sodium_base642bin(pk, sizeof(pk), x, strlen(x), NULL, &pklen, NULL,
	    sodium_base64_VARIANT_URLSAFE) != 0)
		return -1;
	if (pklen != sizeof(pk) || strlen(sig_hex) != 2 * sizeof(sig))
		return -1;
	if (sodium_hex2bin(sig, sizeof(sig), sig_hex, strlen(sig_hex), NULL, &siglen, NULL) != 0 ||
	    siglen != sizeof(sig))
		return -1;
	return crypto_sign_verify_detached(sig, (const unsigned char *)msg, strlen(msg), pk);
}

static struct db_stmt st_keys = DB_STMT("jwks_keys",
    "SELECT x FROM fal_jwks WHERE fetched_at > now() - interval '24 hours'");
static struct db_stmt st_fresh = DB_STMT("jwks_fresh",
    "SELECT count(*) FROM fal_jwks WHERE fetched_at > now() - interval '60 seconds'");
static struct db_stmt st_clear = DB_STMT("jwks_clear", "DELETE FROM fal_jwks");
static struct db_stmt st_add = DB_STMT("jwks_add",
    "INSERT INTO fal_jwks (kid, x) VALUES ($1, $2) ON CONFLICT (kid) DO UPDATE"
    " SET x = EXCLUDED.x, fetched_at = now()");

/* The keys this worker read from the table, for a minute. */
#define KEYS_MAX 8
#define KEYS_SECONDS 60
static struct {
	char x[KEYS_MAX][65];
	int n;
	time_t read_at;
} kc;

static time_t
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int
read_keys(struct db *db)
{
	PGresult *r = db_run(db, &st_keys, NULL);

	if (r == NULL)
		return -1;
	kc.n = 0;
	for (int i = 0; i < PQntuples(r) && kc.n < KEYS_MAX; i++)
		if (strlen(db_str(r, i, 0)) < sizeof(kc.x[0]))
			snprintf(kc.x[kc.n++], sizeof(kc.x[0]), "%s", db_str(r, i, 0));
	kc.read_at = mono_seconds();
	PQclear(r);
	return 0;
}

static int
verify_with_keys(const char *sig, const char *msg)
{
	for (int i = 0; i < kc.n; i++)
		if (fal_verify_with_key(kc.x[i], sig, msg) == 0)
			return 1;
	return 0;
}

/* 1 when a cached key verifies msg, 0 when none does, -1 error.  The
 * worker's copy first; the table when the copy is a minute old or no key
 * of it verifies. */
static int
verify_cached(struct db *db, const char *sig, const char *msg)
{
	bool recent = kc.read_at != 0 && mono_seconds() - kc.read_at < KEYS_SECONDS;

	if (recent && verify_with_keys(sig, msg))
		return 1;
	if (read_keys(db) != 0)
		return -1;
	return verify_with_keys(sig, msg);
}

/* Replaces the cache with FAL's current keys (at most once a minute). */
static int
refresh_keys(struct app_ctx *ctx)
{
	PGresult *r = db_run(&ctx->db, &st_fresh, NULL);
	struct http_out h;
	int n = 0;

	if (r == NULL)
		return -1;
	int fresh = db_i64(r, 0, 0) > 0;
	PQclear(r);
	if (fresh)
		return 0;
	http_out_init(&h, "GET", ctx->cfg.fal_jwks_url);
	h.timeout_ms = 5000;
	h.max_bytes = 256 << 10;
	if (http_out_one(&h) != 0 || h.status != 200) {
		log_warn("JWKS fetch failed (%ld %s)", h.status, h.error);
		http_out_free(&h);
		return -1;
	}
	cJSON *j = cJSON_Parse(sbuf_str(&h.resp));
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(j, "keys"), *k;

	if (!cJSON_IsArray(keys))
		keys = NULL;
	if (db_begin(&ctx->db) == 0 && db_exec(&ctx->db, &st_clear, NULL) == 0) {
		int i = 0;
		cJSON_ArrayForEach(k, keys) {
			const cJSON *kty = cJSON_GetObjectItemCaseSensitive(k, "kty");
			const cJSON *crv = cJSON_GetObjectItemCaseSensitive(k, "crv");
			const cJSON *x = cJSON_GetObjectItemCaseSensitive(k, "x");
			const cJSON *kid = cJSON_GetObjectItemCaseSensitive(k, "kid");
			char kidbuf[32];
			if (!cJSON_IsString(kty) || strcmp(kty->valuestring, "OKP") != 0 ||
			    !cJSON_IsString(crv) || strcmp(crv->valuestring, "Ed25519") != 0 ||
			    !cJSON_IsString(x) || strlen(x->valuestring) < 40 || strlen(x->valuestring) > 64)
				continue;
			snprintf(kidbuf, sizeof(kidbuf), "key-%d", i++);
			struct db_params p;
			db_params_init(&p);
			db_p_str(&p, cJSON_IsString(kid) && strlen(kid->valuestring) < 200 ?
			    kid->valuestring : kidbuf);
			db_p_str(&p, x->valuestring);
			if (db_exec(&ctx->db, &st_add, &p) == 0)
				n++;
		}
		if (db_commit(&ctx->db) != 0)
			n = -1;
	} else {
		db_rollback(&ctx->db);
		n = -1;
	}
	cJSON_Delete(j);
	http_out_free(&h);
	log_info("JWKS refreshed: %d Ed25519 keys", n);
	return n;
}

bool
fal_timestamp_fresh(const char *ts, time_t now)
{
	char *end;

	if (ts == NULL || *ts < '0' || *ts > '9' || strlen(ts) > 12)
		return false;
	errno = 0;
	long long t = strtoll(ts, &end, 10);
	/* no arithmetic on t before it is known to be near now */
	return errno == 0 && *end == '\0' && t >= (long long)now - FAL_SIGNATURE_WINDOW &&
	    t <= (long long)now + FAL_SIGNATURE_WINDOW;
}

static struct db_stmt st_seen = DB_STMT("fal_signature_seen",
    "INSERT INTO fal_signatures_seen (request_id, ts) VALUES ($1, $2::bigint)"
    " ON CONFLICT DO NOTHING");
static struct db_stmt st_seen_prune = DB_STMT("fal_signatures_prune",
    "DELETE FROM fal_signatures_seen WHERE seen_at < now() - interval '600 seconds'");

static void
claimed(void *ud, const PGresult *r)
{
	*(int *)ud = atoi(PQcmdTuples((PGresult *)r)) == 1;
}

int
fal_signature_claim(struct db *db, const char *rid, const char *ts, int *fresh)
{
	struct db_params p;

	*fresh = 0;
	db_params_init(&p);
	db_p_str(&p, rid);
	db_p_str(&p, ts);
	return db_exec_then(db, &st_seen, &p, claimed, fresh);
}

int
fal_signatures_prune(struct db *db)
{
	return db_affected(db, &st_seen_prune, NULL);
}

int
fal_verify_request(struct app_ctx *ctx, const struct http_req *req, char *why, size_t whylen)
{
	const char *rid = http_req_header(req, "X-Fal-Webhook-Request-Id");
	const char *uid = http_req_header(req, "X-Fal-Webhook-User-Id");
	const char *ts = http_req_header(req, "X-Fal-Webhook-Timestamp");
	const char *sig = http_req_header(req, "X-Fal-Webhook-Signature");
	char msg[1024];

	if (rid == NULL || uid == NULL || ts == NULL || sig == NULL || strlen(rid) > 200) {
		snprintf(why, whylen, "signature headers missing or too long");
		return -1;
	}
	if (!fal_timestamp_fresh(ts, time(NULL))) {
		snprintf(why, whylen, "timestamp missing or more than 300 s away");
		return -1;
	}
	if (fal_signed_message(rid, uid, ts, req->body, req->body_len, msg, sizeof(msg)) != 0) {
		snprintf(why, whylen, "signature headers too long");
		return -1;
	}
	int ok = verify_cached(&ctx->db, sig, msg);
	if (ok == 0 && refresh_keys(ctx) > 0)
		ok = verify_cached(&ctx->db, sig, msg);
	if (ok != 1) {
		snprintf(why, whylen, ok < 0 ? "key cache unavailable" : "signature does not verify");
		return -1;
	}
	return 0;
}
