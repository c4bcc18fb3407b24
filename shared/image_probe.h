/*
 * image_probe — what a file really is, from its first bytes: JPEG, PNG or
 * WebP by magic number, and its width and height from the header (JPEG's
 * SOF segment, PNG's IHDR, WebP's VP8/VP8L/VP8X chunk).  Nothing is decoded:
 * the probe reads at most a few hundred KB of headers however large the
 * file, so a 20 MB photo costs no memory — and a file named x.exe that
 * claims to be image/jpeg is found out.
 */
#ifndef AISHA_IMAGE_PROBE_H
#define AISHA_IMAGE_PROBE_H

#include <stdio.h>

enum image_kind { IMAGE_UNKNOWN, IMAGE_JPEG, IMAGE_PNG, IMAGE_WEBP };

struct image_info {
	enum image_kind kind;
	unsigned width, height;
};

/* Probes f from its start; IMAGE_UNKNOWN (and 0x0) when it is not a
 * picture of one of the three kinds with a readable size. */
enum image_kind image_probe(FILE *f, struct image_info *out);
/* The file name extension of a kind ("jpg", "png", "webp"). */
const char *image_ext(enum image_kind k);

#endif
