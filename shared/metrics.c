/*
 * metrics — a table of named counters and a histogram per program in one
 * mapped file, added to with atomic instructions (no lock on the hot path).
 * A name is placed once: the first process to need a slot claims it
 * (0 → 1 with compare-and-swap), writes the name, and marks it ready (2).
 * The file's name carries the layout's version, so an upgraded build never
 * shares a file with an older layout.
 */
#include "metrics.h"

#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node_file.h"

#define M_SLOTS 1024
#define M_KEY 120
#define M_MAGIC 0x6169736861763101ULL /* "aishav1" */

static const char *const m_programs[] = {"tg-update", "fal-webhook", "start-training",
    "check-status", "other"};
#define M_PROGS (sizeof(m_programs) / sizeof(m_programs[0]))
/* request duration buckets, seconds */
static const double m_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
    2.5, 10};
#define M_NLE (sizeof(m_le) / sizeof(m_le[0]))

struct m_slot {
	uint32_t state; /* 0 free, 1 being named, 2 ready */
	uint32_t pad;
	uint64_t v;
	char key[M_KEY];
};

struct m_hist {
	uint64_t b[M_NLE + 1]; /* per bucket (not cumulative); the last: over all */
	uint64_t sum_us;
	uint64_t count;
};

struct m_file {
	uint64_t magic;
	struct m_hist hist[M_PROGS];
	struct m_slot slots[M_SLOTS];
};

static struct m_file *m;

void
metrics_open(const char *var_dir)
{
	if (m != NULL)
		return;
	m = node_file_map(var_dir, "metrics-v1.shm", sizeof(*m), M_MAGIC);
	if (m == NULL && var_dir != NULL && *var_dir != '\0')
		log_warn("metrics: cannot map %s/run/metrics-v1.shm; counting for this process only",
		    var_dir);
	if (m == NULL)
		m = calloc(1, sizeof(*m));
}

static uint32_t
fnv(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot named key, claimed when new; NULL when the table is full. */
static struct m_slot *
slot(const char *key)
{
	uint32_t h = fnv(key);

	for (uint32_t i = 0; i < M_SLOTS; i++) {
		struct m_slot *s = &m->slots[(h + i) % M_SLOTS];
		uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (st == 0) {
			uint32_t want = 0;
			if (__atomic_compare_exchange_n(&s->state, &want, 1, false,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				snprintf(s->key, sizeof(s->key), "%s", key);
				__atomic_store_n(&s->state, 2, __ATOMIC_RELEASE);
				return s;
			}
			st = want;
		}
		for (int spin = 0; st == 1 && spin < 1000; spin++) {
			sched_yield();
			st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		}
		if (st == 2 && strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

/* A label value as a plain token: anything else becomes '_'. */
static void
add_value(char *out, size_t cap, size_t *n, const char *v)
{
	for (; *v && *n + 1 < cap; v++)
		out[(*n)++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_.:/-+", *v) ? *v : '_';
	out[*n] = '\0';
}

void
metrics_inc(const char *family, ...)
{
	char key[M_KEY];
	size_t n;
	va_list ap;
	const char *name;

	if (m == NULL)
		metrics_open(NULL);
	n = (size_t)snprintf(key, sizeof(key), "%s", family);
	va_start(ap, family);
	for (int i = 0; (name = va_arg(ap, const char *)) != NULL; i++) {
		const char *val = va_arg(ap, const char *);
		n += (size_t)snprintf(key + n, sizeof(key) - n, "%s%s=\"", i ? "," : "{", name);
		if (n >= sizeof(key))
			break;
		add_value(key, sizeof(key), &n, val ? val : "");
		n += (size_t)snprintf(key + n, sizeof(key) - n, "\"");
	}
	va_end(ap);
	if (n < sizeof(key) && strchr(key, '{'))
		n += (size_t)snprintf(key + n, sizeof(key) - n, "}");
	struct m_slot *s = n < sizeof(key) ? slot(key) : NULL;
	if (s == NULL)
		s = slot("aisha_metrics_dropped_total");
	if (s != NULL)
		__atomic_fetch_add(&s->v, 1, __ATOMIC_RELAXED);
}

void
metrics_request(const char *program, int code, double ms)
{
	size_t p = 0;
	char c[8];

	if (m == NULL)
		metrics_open(NULL);
	while (p + 1 < M_PROGS && strcmp(m_programs[p], program) != 0)
		p++;
	struct m_hist *h = &m->hist[p];
	size_t b = 0;
	while (b < M_NLE && ms / 1000.0 > m_le[b])
		b++;
	__atomic_fetch_add(&h->b[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_us, (uint64_t)(ms * 1000.0), __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
	snprintf(c, sizeof(c), "%d", code);
	metrics_inc("aisha_requests_total", "program", m_programs[p], "code", c, NULL);
}

void
metrics_bot_api(const char *method, long http, bool ok)
{
	char res[16];

	if (ok)
		snprintf(res, sizeof(res), "ok");
	else if (http == 429 || http == 403)
		snprintf(res, sizeof(res), "%ld", http);
	else if (http >= 400 && http < 500)
		snprintf(res, sizeof(res), "4xx");
	else if (http >= 500)
		snprintf(res, sizeof(res), "5xx");
	else
		snprintf(res, sizeof(res), "network");
	metrics_inc("aisha_bot_api_calls_total", "method", method, "result", res, NULL);
}

static int
cmp_slot(const void *a, const void *b)
{
	return strcmp((*(struct m_slot *const *)a)->key, (*(struct m_slot *const *)b)->key);
}

static const char *const m_help[][2] = {
	{"aisha_updates_total", "Telegram updates by kind and outcome"},
	{"aisha_requests_total", "HTTP requests answered, by program and status code"},
	{"aisha_bot_api_calls_total", "Bot API calls made, by method and result"},
	{"aisha_fal_submits_total", "FAL queue submissions by job kind and result"},
	{"aisha_fal_webhooks_total", "FAL webhook deliveries by outcome"},
	{"aisha_metrics_dropped_total", "counts lost because the counter table was full"},
};

static void
render_counters(struct sbuf *out)
{
	struct m_slot *all[M_SLOTS];
	size_t n = 0;
	char fam[M_KEY] = "";

	for (size_t i = 0; i < M_SLOTS; i++)
		if (__atomic_load_n(&m->slots[i].state, __ATOMIC_ACQUIRE) == 2)
			all[n++] = &m->slots[i];
	qsort(all, n, sizeof(all[0]), cmp_slot);
	for (size_t i = 0; i < n; i++) {
		size_t fl = strcspn(all[i]->key, "{");
		if (strlen(fam) != fl || strncmp(fam, all[i]->key, fl) != 0) {
			snprintf(fam, sizeof(fam), "%.*s", (int)fl, all[i]->key);
			for (size_t h = 0; h < sizeof(m_help) / sizeof(m_help[0]); h++)
				if (strcmp(m_help[h][0], fam) == 0)
					sbuf_addf(out, "# HELP %s %s\n", fam, m_help[h][1]);
			sbuf_addf(out, "# TYPE %s counter\n", fam);
		}
		sbuf_addf(out, "%s %llu\n", all[i]->key,
		    (unsigned long long)__atomic_load_n(&all[i]->v, __ATOMIC_RELAXED));
	}
}

static void
render_histograms(struct sbuf *out)
{
	sbuf_addf(out, "# HELP aisha_request_duration_seconds time from a request's arrival"
	    " to its answer, by program\n# TYPE aisha_request_duration_seconds histogram\n");
	for (size_t p = 0; p < M_PROGS; p++) {
		struct m_hist *h = &m->hist[p];
		uint64_t cum = 0;
		for (size_t b = 0; b <= M_NLE; b++) {
			cum += __atomic_load_n(&h->b[b], __ATOMIC_RELAXED);
			if (b < M_NLE)
				sbuf_addf(out, "aisha_request_duration_seconds_bucket{program=\"%s\","
				    "le=\"%g\"} %llu\n", m_programs[p], m_le[b], (unsigned long long)cum);
			else
				sbuf_addf(out, "aisha_request_duration_seconds_bucket{program=\"%s\","
				    "le=\"+Inf\"} %llu\n", m_programs[p], (unsigned long long)cum);
		}
		sbuf_addf(out, "aisha_request_duration_seconds_sum{program=\"%s\"} %.6f\n",
		    m_programs[p], (double)__atomic_load_n(&h->sum_us, __ATOMIC_RELAXED) / 1e6);
		sbuf_addf(out, "aisha_request_duration_seconds_count{program=\"%s\"} %llu\n",
		    m_programs[p], (unsigned long long)__atomic_load_n(&h->count, __ATOMIC_RELAXED));
	}
}

void
metrics_render(struct sbuf *out)
{
	if (m == NULL)
		metrics_open(NULL);
	render_counters(out);
	render_histograms(out);
}
