/*
 * photo_quality — what a headshot service checks before it trains on a
 * photo, measured on the decoded picture (not on what its name or MIME type
 * claims): a JPEG (libjpeg-turbo), PNG (libpng) or WebP (libwebp) that
 * decodes cleanly, then, on its luma scaled to 512 px on the long side,
 * the exposure (mean and the share of crushed or blown pixels), the
 * sharpness (the variance of the Laplacian) and a 64-bit perceptual hash
 * (the signs of the 8×8 lowest frequencies of the DCT of a 32×32
 * thumbnail, against their median), which two shots of the same moment
 * share even when resized or recompressed.
 *
 * Decoding is bounded: 16,384 px a side, 50 megapixels, and a JPEG is
 * decoded at 1/2, 1/4 or 1/8 of its size (libjpeg's scaling) so a phone's
 * 12 MP photo costs a few MB, not 50.
 */
#ifndef AISHA_PHOTO_QUALITY_H
#define AISHA_PHOTO_QUALITY_H

#include <stddef.h>
#include <stdint.h>

struct photo_quality {
	unsigned width, height; /* as the file says */
	double brightness;      /* mean luma, 0–255 */
	double dark_share;      /* share of pixels darker than 24 */
	double bright_share;    /* share of pixels brighter than 240 */
	double sharpness;       /* variance of the Laplacian at 512 px */
	uint64_t phash;
	int faces;              /* faces seen (photo_quality_count_faces), -1 not counted */
};

/* What is wrong with a photo, worst first (a dark photo also looks soft). */
enum photo_flaw {
	FLAW_NONE,
	FLAW_NOT_PHOTO, /* not a JPEG, PNG or WebP that decodes */
	FLAW_DARK,
	FLAW_BRIGHT,
	FLAW_BLURRY,
};

/* Two photos whose hashes differ in at most this many bits are the same
 * shot. */
#define PHOTO_SAME_SHOT_BITS 10

/* Counts faces too, with fn, on the luma plane the measures are taken on
 * (faces.h); NULL: faces are not counted. */
void photo_quality_count_faces(int (*fn)(const unsigned char *gray, unsigned w, unsigned h));
/* Decodes data and measures it: 0, or -1 when it is not a picture this
 * module can read (*q is then zeroed). */
int photo_quality_measure(const unsigned char *data, size_t len, struct photo_quality *q);
/* The photo's worst flaw, FLAW_NONE when it will do. */
enum photo_flaw photo_quality_judge(const struct photo_quality *q);
/* How many bits two perceptual hashes differ in (0–64). */
int photo_hash_distance(uint64_t a, uint64_t b);

#endif
