/*
 * auth — both sides of a comparison are hashed to fixed-size digests first,
 * so neither the length nor the contents of the secret leak through timing.
 */
#include "auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

int
auth_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

bool
auth_equal(const char *given, const char *expected)
{
	unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];

	if (given == NULL || expected == NULL || *expected == '\0')
		return false;
	crypto_generichash(a, sizeof(a), (const unsigned char *)given, strlen(given), NULL, 0);
	crypto_generichash(b, sizeof(b), (const unsigned char *)expected, strlen(expected), NULL, 0);
	return sodium_memcmp(a, b, sizeof(a)) == 0;
}

bool
auth_bearer(const char *h, const char *token)
{
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	return auth_equal(h, token);
}

void
auth_token_hash(const char *secret, const char *token, char out[65])
{
	unsigned char key[crypto_generichash_KEYBYTES], h[32];

	crypto_generichash(key, sizeof(key), (const unsigned char *)secret, strlen(secret),
	    NULL, 0);
	crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), key,
	    sizeof(key));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

void
auth_random_b64(char *out, size_t outlen, size_t nbytes)
{
	unsigned char buf[64];

	if (nbytes > sizeof(buf))
		nbytes = sizeof(buf);
	randombytes_buf(buf, nbytes);
	sodium_bin2base64(out, outlen, buf, nbytes,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
