/*
 * image_probe — see image_probe.h.
 */
#include "image_probe.h"

#include <string.h>

#define JPEG_MAX_SEGMENTS 512 /* a real JPEG reaches its SOF in a handful */

static unsigned
be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned
be32(const unsigned char *p)
{
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

static unsigned
le16(const unsigned char *p)
{
	return (unsigned)p[1] << 8 | p[0];
}

static unsigned
le24(const unsigned char *p)
{
	return (unsigned)p[2] << 16 | (unsigned)p[1] << 8 | p[0];
}

/* SOF0..SOF15 carry the size; C4 (DHT), C8 (JPG) and CC (DAC) do not. */
static int
is_sof(int m)
{
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

static int
jpeg_size(FILE *f, struct image_info *out)
{
	unsigned char h[7];

	for (int seg = 0; seg < JPEG_MAX_SEGMENTS; seg++) {
		int c = fgetc(f);
		if (c != 0xFF)
			return -1;
		while ((c = fgetc(f)) == 0xFF) /* fill bytes */
			;
		if (c == EOF || c == 0xD9 || c == 0xDA) /* end, or the scan before a size */
			return -1;
		if (c == 0x01 || (c >= 0xD0 && c <= 0xD7)) /* markers without a length */
			continue;
		if (fread(h, 1, 2, f) != 2 || be16(h) < 2)
			return -1;
		if (is_sof(c)) {
			if (be16(h) < 7 || fread(h + 2, 1, 5, f) != 5)
				return -1;
			out->height = be16(h + 3);
			out->width = be16(h + 5);
			return 0;
		}
		if (fseek(f, (long)be16(h) - 2, SEEK_CUR) != 0)
			return -1;
	}
	return -1;
}

static int
webp_size(const unsigned char *h, size_t n, struct image_info *out)
{
	if (n < 30)
		return -1;
	if (memcmp(h + 12, "VP8X", 4) == 0) {
		out->width = le24(h + 24) + 1;
		out->height = le24(h + 27) + 1;
	} else if (memcmp(h + 12, "VP8 ", 4) == 0 && memcmp(h + 23, "\x9d\x01\x2a", 3) == 0) {
		out->width = le16(h + 26) & 0x3FFF;
		out->height = le16(h + 28) & 0x3FFF;
	} else if (memcmp(h + 12, "VP8L", 4) == 0 && h[20] == 0x2F) {
		unsigned bits = (unsigned)h[21] | (unsigned)h[22] << 8 | (unsigned)h[23] << 16 |
		    (unsigned)h[24] << 24;
		out->width = (bits & 0x3FFF) + 1;
		out->height = ((bits >> 14) & 0x3FFF) + 1;
	} else {
		return -1;
	}
	return 0;
}

enum image_kind
image_probe(FILE *f, struct image_info *out)
{
	unsigned char h[32];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (f == NULL || fseek(f, 0, SEEK_SET) != 0)
		return IMAGE_UNKNOWN;
	size_t n = fread(h, 1, sizeof(h), f);
	if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) {
		out->kind = IMAGE_JPEG;
		rc = fseek(f, 2, SEEK_SET) == 0 ? jpeg_size(f, out) : -1;
	} else if (n >= 24 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0 &&
	    memcmp(h + 12, "IHDR", 4) == 0) {
		out->kind = IMAGE_PNG;
		out->width = be32(h + 16);
		out->height = be32(h + 20);
		rc = 0;
	} else if (n >= 16 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0) {
		out->kind = IMAGE_WEBP;
		rc = webp_size(h, n, out);
	}
	if (rc != 0 || out->width == 0 || out->height == 0) {
		memset(out, 0, sizeof(*out));
		return IMAGE_UNKNOWN;
	}
	return out->kind;
}

const char *
image_ext(enum image_kind k)
{
	return k == IMAGE_PNG ? "png" : k == IMAGE_WEBP ? "webp" : "jpg";
}
