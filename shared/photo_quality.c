/*
 * photo_quality — see photo_quality.h.  Each decoder gives an 8-bit luma
 * plane (struct gray); everything after that is plain arithmetic on it.
 */
#include "photo_quality.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>

#define MAX_SIDE 16384u
#define MAX_PIXELS (50u * 1000 * 1000)
#define DECODE_SIDE 1024u /* a JPEG or WebP is decoded scaled to about this */
#define WORK_SIDE 512u    /* the measures are taken at this long side */
#define HASH_SIDE 32u
#define JPEG_MEMORY (200L << 20) /* libjpeg's working memory: a 48 MP progressive photo */

/* Thresholds, set on the photos in tests/fixtures/photos and phone shots. */
#define DARK_MEAN 45.0
#define DARK_SHARE 0.55
#define BRIGHT_MEAN 215.0
#define BRIGHT_SHARE 0.45
#define BLUR_VARIANCE 60.0

struct gray {
	unsigned w, h;
	unsigned char *px;
};

/* --- decoding ------------------------------------------------------------------ */

struct jpeg_err {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
	int corrupt; /* libjpeg warned of bad data (a truncated file says so) */
};

static void
jpeg_fail(j_common_ptr cinfo)
{
	struct jpeg_err *e = (struct jpeg_err *)cinfo->err;

	longjmp(e->jump, 1);
}

static void
jpeg_note(j_common_ptr cinfo, int level)
{
	if (level < 0)
		((struct jpeg_err *)cinfo->err)->corrupt = 1;
}

/* The scale that brings the long side near DECODE_SIDE (1/1 … 1/8). */
static unsigned
jpeg_denominator(unsigned w, unsigned h)
{
	unsigned side = w > h ? w : h, d = 1;

	while (d < 8 && side / (d * 2) >= DECODE_SIDE)
		d *= 2;
	return d;
}

static int
decode_jpeg(const unsigned char *data, size_t len, struct photo_quality *q, struct gray *g)
{
	struct jpeg_decompress_struct ci;
	struct jpeg_err err;
	unsigned char *volatile px = NULL;

	memset(&err, 0, sizeof(err));
	ci.err = jpeg_std_error(&err.mgr);
	err.mgr.error_exit = jpeg_fail;
	err.mgr.emit_message = jpeg_note;
	if (setjmp(err.jump)) {
		jpeg_destroy_decompress(&ci);
		free(px);
		return -1;
	}
	jpeg_create_decompress(&ci);
	/* a progressive JPEG keeps every coefficient of the image: a giant one
	 * fails here rather than take the server's memory */
	ci.mem->max_memory_to_use = JPEG_MEMORY;
	jpeg_mem_src(&ci, data, (unsigned long)len);
	if (jpeg_read_header(&ci, TRUE) != JPEG_HEADER_OK ||
	    ci.image_width > MAX_SIDE || ci.image_height > MAX_SIDE) {
		jpeg_destroy_decompress(&ci);
		return -1;
	}
	q->width = ci.image_width;
	q->height = ci.image_height;
	ci.out_color_space = JCS_GRAYSCALE;
	ci.scale_num = 1;
	ci.scale_denom = jpeg_denominator(ci.image_width, ci.image_height);
	jpeg_start_decompress(&ci);
	g->w = ci.output_width;
	g->h = ci.output_height;
	px = malloc((size_t)g->w * g->h);
	if (px == NULL)
		longjmp(err.jump, 1);
	while (ci.output_scanline < ci.output_height) {
		JSAMPROW row = px + (size_t)ci.output_scanline * g->w;
		jpeg_read_scanlines(&ci, &row, 1);
	}
	jpeg_finish_decompress(&ci);
	jpeg_destroy_decompress(&ci);
	if (err.corrupt) {
		free(px);
		return -1;
	}
	g->px = px;
	return 0;
}

static int
decode_png(const unsigned char *data, size_t len, struct photo_quality *q, struct gray *g)
{
	png_image img;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, data, len))
		return -1;
	if (img.width > MAX_SIDE || img.height > MAX_SIDE ||
	    (unsigned long long)img.width * img.height > MAX_PIXELS) {
		png_image_free(&img);
		return -1;
	}
	img.format = PNG_FORMAT_GRAY;
	q->width = g->w = img.width;
	q->height = g->h = img.height;
	g->px = malloc(PNG_IMAGE_SIZE(img));
	if (g->px == NULL || !png_image_finish_read(&img, NULL, g->px, 0, NULL) ||
	    (img.warning_or_error & PNG_IMAGE_ERROR) != 0) {
		png_image_free(&img);
		free(g->px);
		g->px = NULL;
		return -1;
	}
	return 0;
}

static int
decode_webp(const unsigned char *data, size_t len, struct photo_quality *q, struct gray *g)
{
	WebPDecoderConfig cfg;
	int w, h;

	if (!WebPInitDecoderConfig(&cfg) || !WebPGetInfo(data, len, &w, &h) ||
	    (unsigned)w > MAX_SIDE || (unsigned)h > MAX_SIDE)
		return -1;
	q->width = (unsigned)w;
	q->height = (unsigned)h;
	unsigned d = jpeg_denominator((unsigned)w, (unsigned)h);
	cfg.options.use_scaling = d > 1;
	cfg.options.scaled_width = (w + (int)d - 1) / (int)d;
	cfg.options.scaled_height = (h + (int)d - 1) / (int)d;
	cfg.output.colorspace = MODE_YUV; /* its Y plane is the luma */
	if (WebPDecode(data, len, &cfg) != VP8_STATUS_OK)
		return -1;
	const WebPYUVABuffer *yuv = &cfg.output.u.YUVA;
	g->w = (unsigned)cfg.output.width;
	g->h = (unsigned)cfg.output.height;
	g->px = malloc((size_t)g->w * g->h);
	for (unsigned y = 0; g->px != NULL && y < g->h; y++)
		memcpy(g->px + (size_t)y * g->w, yuv->y + (size_t)y * (size_t)yuv->y_stride, g->w);
	WebPFreeDecBuffer(&cfg.output);
	return g->px != NULL ? 0 : -1;
}

static int
decode(const unsigned char *data, size_t len, struct photo_quality *q, struct gray *g)
{
	if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
		return decode_jpeg(data, len, q, g);
	if (len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
		return decode_png(data, len, q, g);
	if (len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
		return decode_webp(data, len, q, g);
	return -1;
}

/* --- measures ------------------------------------------------------------------ */

static int (*face_counter)(const unsigned char *gray, unsigned w, unsigned h);

void
photo_quality_count_faces(int (*fn)(const unsigned char *gray, unsigned w, unsigned h))
{
	face_counter = fn;
}

/* Area average of src into a w×h plane (w, h no larger than src's). */
static int
shrink(const struct gray *src, unsigned w, unsigned h, struct gray *out)
{
	out->w = w;
	out->h = h;
	out->px = malloc((size_t)w * h);
	if (out->px == NULL)
		return -1;
	for (unsigned y = 0; y < h; y++) {
		unsigned y0 = y * src->h / h, y1 = (y + 1) * src->h / h;
		for (unsigned x = 0; x < w; x++) {
			unsigned x0 = x * src->w / w, x1 = (x + 1) * src->w / w;
			unsigned long sum = 0, n = 0;
			for (unsigned yy = y0; yy < (y1 > y0 ? y1 : y0 + 1); yy++)
				for (unsigned xx = x0; xx < (x1 > x0 ? x1 : x0 + 1); xx++, n++)
					sum += src->px[(size_t)yy * src->w + xx];
			out->px[(size_t)y * w + x] = (unsigned char)((sum + n / 2) / n);
		}
	}
	return 0;
}

static void
exposure(const struct gray *g, struct photo_quality *q)
{
	unsigned long long sum = 0, dark = 0, bright = 0;
	size_t n = (size_t)g->w * g->h;

	for (size_t i = 0; i < n; i++) {
		sum += g->px[i];
		dark += g->px[i] < 24;
		bright += g->px[i] > 240;
	}
	q->brightness = (double)sum / (double)n;
	q->dark_share = (double)dark / (double)n;
	q->bright_share = (double)bright / (double)n;
}

/* Variance of the 4-neighbour Laplacian over the inner pixels. */
static double
laplacian_variance(const struct gray *g)
{
	double sum = 0, sq = 0;
	size_t n = 0;

	for (unsigned y = 1; y + 1 < g->h; y++) {
		const unsigned char *r = g->px + (size_t)y * g->w, *up = r - g->w, *down = r + g->w;
		for (unsigned x = 1; x + 1 < g->w; x++, n++) {
			double l = 4.0 * r[x] - r[x - 1] - r[x + 1] - up[x] - down[x];
			sum += l;
			sq += l * l;
		}
	}
	if (n == 0)
		return 0;
	double mean = sum / (double)n;
	return sq / (double)n - mean * mean;
}

static int
compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The perceptual hash of a 32×32 thumbnail. */
static uint64_t
perceptual_hash(const struct gray *t)
{
	double cosine[8][HASH_SIDE], coef[64], sorted[63];
	uint64_t hash = 0;

	for (unsigned u = 0; u < 8; u++)
		for (unsigned x = 0; x < HASH_SIDE; x++)
			cosine[u][x] = cos((2.0 * x + 1.0) * u * M_PI / (2.0 * HASH_SIDE));
	for (unsigned u = 0; u < 8; u++)
		for (unsigned v = 0; v < 8; v++) {
			double s = 0;
			for (unsigned y = 0; y < HASH_SIDE; y++)
				for (unsigned x = 0; x < HASH_SIDE; x++)
					s += t->px[y * HASH_SIDE + x] * cosine[u][y] * cosine[v][x];
			coef[u * 8 + v] = s;
		}
	memcpy(sorted, coef + 1, sizeof(sorted)); /* the mean (DC) left out */
	qsort(sorted, 63, sizeof(double), compare_doubles);
	double median = sorted[31];
	for (unsigned i = 0; i < 64; i++)
		if (coef[i] > median)
			hash |= (uint64_t)1 << i;
	return hash;
}

static int
measure(const struct gray *g, struct photo_quality *q)
{
	struct gray work = {0}, thumb = {0};
	unsigned side = g->w > g->h ? g->w : g->h;
	unsigned w = g->w, h = g->h;

	if (g->w < 3 || g->h < 3)
		return -1;
	if (side > WORK_SIDE) {
		w = (unsigned)((unsigned long)g->w * WORK_SIDE / side);
		h = (unsigned)((unsigned long)g->h * WORK_SIDE / side);
	}
	if (shrink(g, w ? w : 1, h ? h : 1, &work) != 0)
		return -1;
	exposure(&work, q);
	q->sharpness = laplacian_variance(&work);
	q->faces = face_counter != NULL ? face_counter(work.px, work.w, work.h) : -1;
	int rc = -1;
	if (work.w >= HASH_SIDE && work.h >= HASH_SIDE &&
	    shrink(&work, HASH_SIDE, HASH_SIDE, &thumb) == 0) {
		q->phash = perceptual_hash(&thumb);
		rc = 0;
	}
	free(work.px);
	free(thumb.px);
	return rc;
}

int
photo_quality_measure(const unsigned char *data, size_t len, struct photo_quality *q)
{
	struct gray g = {0};

	memset(q, 0, sizeof(*q));
	if (data == NULL || decode(data, len, q, &g) != 0) {
		memset(q, 0, sizeof(*q));
		return -1;
	}
	int rc = measure(&g, q);
	free(g.px);
	if (rc != 0)
		memset(q, 0, sizeof(*q));
	return rc;
}

enum photo_flaw
photo_quality_judge(const struct photo_quality *q)
{
	if (q->width == 0)
		return FLAW_NOT_PHOTO;
	if (q->brightness < DARK_MEAN || q->dark_share > DARK_SHARE)
		return FLAW_DARK;
	if (q->brightness > BRIGHT_MEAN || q->bright_share > BRIGHT_SHARE)
		return FLAW_BRIGHT;
	if (q->sharpness < BLUR_VARIANCE)
		return FLAW_BLURRY;
	return FLAW_NONE;
}

int
photo_hash_distance(uint64_t a, uint64_t b)
{
	return __builtin_popcountll(a ^ b);
}
