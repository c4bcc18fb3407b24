/*
 * config — table-driven.  Each row says where a setting lands in struct
 * config, how to parse it, its default and bounds, and whether it is secret.
 * Adding a setting is adding a row (and a field).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "sbuf.h"

enum cfg_type { CFG_STR, CFG_URL, CFG_INT, CFG_BOOL, CFG_TOKEN, CFG_DOUBLE };

struct cfg_def {
	const char *name;
	enum cfg_type type;
	size_t off;
	const char *def;
	long min, max; /* CFG_INT bounds; CFG_TOKEN/STR length bounds when set */
	bool secret;
};

#define F(field) offsetof(struct config, field)

static const struct cfg_def cfg_defs[] = {
	{"DATABASE_URL", CFG_STR, F(database_url), "", 0, 0, true},
	{"TELEGRAM_BOT_TOKEN", CFG_STR, F(tg_token), "", 0, 200, true},
	{"TELEGRAM_WEBHOOK_SECRET", CFG_TOKEN, F(tg_webhook_secret), "", 0, 256, true},
	{"TELEGRAM_API_BASE", CFG_URL, F(tg_api_base), "https://api.telegram.org", 0, 0, false},
	{"TELEGRAM_BOT_USERNAME", CFG_STR, F(tg_bot_username), "", 0, 64, false},
	{"FAL_API_KEY", CFG_STR, F(fal_api_key), "", 0, 400, true},
	{"FAL_QUEUE_BASE", CFG_URL, F(fal_queue_base), "https://queue.fal.run", 0, 0, false},
	{"FAL_JWKS_URL", CFG_URL, F(fal_jwks_url), "https://rest.alpha.fal.ai/.well-known/jwks.json", 0, 0, false},
	{"FAL_WEBHOOK_SECRET", CFG_STR, F(fal_webhook_secret), "", 0, 400, true},
	{"FAL_WEBHOOK_VERIFY", CFG_BOOL, F(fal_webhook_verify), "", 0, 0, false},
	{"FAL_TRAINING_TEST_MODE", CFG_BOOL, F(fal_test_mode), "", 0, 0, false},
	{"FAL_TEST_DURATION", CFG_INT, F(fal_test_duration), "30", 0, 86400, false},
	{"FAL_TRAINING_TIMEOUT", CFG_INT, F(fal_training_timeout), "21600", 60, 7 * 86400, false},
	{"START_TRAINING_MAX_PARALLEL", CFG_INT, F(start_training_max_parallel), "2", 1, 100, false},
	{"TRAINING_CLAIM_TIMEOUT", CFG_INT, F(claim_timeout), "600", 1, 86400, false},
	{"FAL_PORTRAIT_STEPS", CFG_INT, F(fal_portrait_steps), "1000", 1, 10000, false},
	{"FAL_STYLE_STEPS", CFG_INT, F(fal_style_steps), "0", 0, 10000, false},
	{"GEN_MAX_ACTIVE", CFG_INT, F(gen_max_active), "2", 1, 20, false},
	{"GEN_TIMEOUT", CFG_INT, F(gen_timeout), "900", 60, 86400, false},
	{"GEN_NUM_IMAGES", CFG_INT, F(gen_num_images), "1", 1, 4, false},
	{"GEN_STEPS", CFG_INT, F(gen_steps), "28", 1, 50, false},
	{"GEN_GUIDANCE", CFG_DOUBLE, F(gen_guidance), "3.5", 0, 20, false},
	{"GEN_LORA_SCALE", CFG_DOUBLE, F(gen_lora_scale), "1.0", 0, 4, false},
	{"GEN_FINETUNE_STRENGTH", CFG_DOUBLE, F(gen_finetune_strength), "1.1", 0, 2, false},
	{"FAL_PORTRAIT_TRAINER", CFG_STR, F(fal_portrait_trainer), "fal-ai/flux-lora-portrait-trainer", 1, 200, false},
	{"FAL_STYLE_TRAINER", CFG_STR, F(fal_style_trainer), "fal-ai/flux-lora-fast-training", 1, 200, false},
	{"PUBLIC_BASE_URL", CFG_URL, F(public_base_url), "", 0, 0, false},
	{"ADMIN_TOKEN", CFG_STR, F(admin_token), "", 0, 400, true},
	{"MEDIA_DIR", CFG_STR, F(media_dir), "var/media", 1, 1000, false},
	{"PHOTOS_MIN", CFG_INT, F(photos_min), "10", 1, 100, false},
	{"PHOTOS_MAX", CFG_INT, F(photos_max), "20", 1, 100, false},
	{"PHOTO_MIN_SIDE", CFG_INT, F(photo_min_side), "512", 1, 10000, false},
	{"FACE_MODEL", CFG_STR, F(face_model),
	    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml", 0, 1000, false},
	{"CREDITS_START", CFG_INT, F(credits_start), "300", 0, 1000000, false},
	{"PRICE_TRAINING", CFG_INT, F(price_training), "100", 0, 1000000, false},
	{"PRICE_GENERATION", CFG_INT, F(price_generation), "10", 0, 1000000, false},
	{"CREDIT_PACKS", CFG_STR, F(credit_packs), "100:50,300:120,1000:350", 0, 200, false},
	{"TRAININGS_PER_DAY", CFG_INT, F(trainings_per_day), "5", 0, 10000, false},
	{"GENERATIONS_PER_DAY", CFG_INT, F(generations_per_day), "100", 0, 100000, false},
	{"FAL_COST_TRAINING_USD", CFG_DOUBLE, F(fal_cost_training_usd), "2.0", 0, 1000, false},
	{"FAL_COST_IMAGE_USD", CFG_DOUBLE, F(fal_cost_image_usd), "0.04", 0, 100, false},
	{"FAL_DAILY_BUDGET_USD", CFG_DOUBLE, F(fal_daily_budget_usd), "50", 0, 1000000, false},
	{"PAYSUPPORT_CONTACT", CFG_STR, F(paysupport_contact), "", 0, 200, false},
	{"REFUSED_PER_MINUTE", CFG_INT, F(refused_per_minute), "20", 1, 100000, false},
	{"PORT", CFG_INT, F(port), "8080", 1, 65535, false},
	{"BIND", CFG_STR, F(bind), "127.0.0.1", 1, 64, false},
	{"LOG_LEVEL", CFG_STR, F(log_level), "info", 1, 10, false},
	{"LOG_FORMAT", CFG_STR, F(log_format), "text", 1, 10, false},
	{"CHECKER_INTERVAL", CFG_INT, F(checker_interval), "60", 5, 86400, false},
};

#define NDEFS (sizeof(cfg_defs) / sizeof(cfg_defs[0]))

static bool
cfg_is_str(enum cfg_type t)
{
	return t == CFG_STR || t == CFG_URL || t == CFG_TOKEN;
}

int
config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* The env file, parsed into "K=V" strings, looked up after the environment. */
struct env_file {
	char **kv;
	size_t n;
};

static void
env_file_free(struct env_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->kv[i]);
	free(f->kv);
	f->kv = NULL;
	f->n = 0;
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* KEY=VALUE lines; "export " prefix, # comments and one level of quotes. */
static int
env_file_read(struct env_file *f, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	int lineno = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "config: cannot read env file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (strncmp(s, "export ", 7) == 0)
			s = trim(s + 7);
		char *eq = strchr(s, '=');
		if (eq == NULL || eq == s) {
			snprintf(err, errlen, "config: %s line %d: expected KEY=VALUE",
			    path, lineno);
			fclose(fp);
			return -1;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
			val[vl - 1] = '\0';
			val++;
		}
		struct sbuf kv = SBUF_INIT;
		sbuf_addf(&kv, "%s=%s", key, val);
		f->kv = xrealloc(f->kv, (f->n + 1) * sizeof(*f->kv));
		f->kv[f->n++] = sbuf_take(&kv);
	}
	fclose(fp);
	return 0;
}

static const char *
kv_lookup(char *const *kv, size_t n, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; kv != NULL && (n == (size_t)-1 ? kv[i] != NULL : i < n); i++)
		if (strncmp(kv[i], name, nl) == 0 && kv[i][nl] == '=')
			return kv[i] + nl + 1;
	return NULL;
}

static const struct cfg_def *
cfg_find(const char *key, size_t len)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strlen(cfg_defs[i].name) == len && strncmp(cfg_defs[i].name, key, len) == 0)
			return &cfg_defs[i];
	return NULL;
}

/* Levenshtein distance of two short strings (64 when either is longer). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 64 || lb >= 64)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * The setting a key most likely meant, or NULL: the same name in another
 * case, or one or two edits away (one for short names, so HOST is not
 * taken for PORT).
 */
static const char *
cfg_near(const char *key, size_t len)
{
	char up[64];
	const char *best = NULL;
	size_t bestd = 3;

	if (len >= sizeof(up))
		return NULL;
	for (size_t i = 0; i < len; i++)
		up[i] = (char)toupper((unsigned char)key[i]);
	up[len] = '\0';
	for (size_t i = 0; i < NDEFS; i++) {
		size_t d = edit_distance(up, cfg_defs[i].name);
		size_t limit = strlen(cfg_defs[i].name) < 6 ? 1 : 2;
		if (d <= limit && d < bestd) {
			best = cfg_defs[i].name;
			bestd = d;
		}
	}
	return best;
}

/*
 * Notes keys that are not settings: in the environment only those close to
 * one (it holds PATH, HOME and the like), in the env file every one (it is
 * meant for settings only).  AISHA_* and SANDBOX_* steer the scripts.
 */
static void
cfg_scan(struct sbuf *w, char *const *kv, size_t n, const char *where, bool every)
{
	for (size_t i = 0; kv != NULL && (n == (size_t)-1 ? kv[i] != NULL : i < n); i++) {
		const char *eq = strchr(kv[i], '=');
		size_t len = eq ? (size_t)(eq - kv[i]) : strlen(kv[i]);
		if (len == 0 || cfg_find(kv[i], len) != NULL ||
		    strncmp(kv[i], "AISHA_", 6) == 0 || strncmp(kv[i], "SANDBOX_", 8) == 0)
			continue;
		const char *near = cfg_near(kv[i], len);
		if (near != NULL)
			sbuf_addf(w, "%s: %.*s is not a setting; did you mean %s?\n", where,
			    (int)(len > 64 ? 64 : len), kv[i], near);
		else if (every)
			sbuf_addf(w, "%s: %.*s is not a setting (ignored)\n", where,
			    (int)(len > 64 ? 64 : len), kv[i]);
	}
}

static bool
token_chars_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

static bool
url_ok(const char *s)
{
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static int
cfg_set(struct config *c, const struct cfg_def *d, const char *v, char *err,
    size_t errlen)
{
	char *base = (char *)c;
	const char *shown = d->secret ? "(hidden)" : v;

	switch (d->type) {
	case CFG_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno || n < d->min || n > d->max) {
			snprintf(err, errlen, "config: %s must be an integer %ld..%ld (got '%s')",
			    d->name, d->min, d->max, shown);
			return -1;
		}
		*(int *)(base + d->off) = (int)n;
		return 0;
	}
	case CFG_DOUBLE: {
		char *end;
		errno = 0;
		double x = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno || !(x >= (double)d->min) ||
		    x > (double)d->max) {
			snprintf(err, errlen, "config: %s must be a number %ld..%ld (got '%s')",
			    d->name, d->min, d->max, shown);
			return -1;
		}
		*(double *)(base + d->off) = x;
		return 0;
	}
	case CFG_BOOL:
		if (*v == '\0')
			return 0;
		if (config_parse_bool(v, (bool *)(base + d->off)) != 0) {
			snprintf(err, errlen, "config: %s must be true or false (got '%s')",
			    d->name, shown);
			return -1;
		}
		return 0;
	case CFG_URL:
		if (*v != '\0' && !url_ok(v)) {
			snprintf(err, errlen, "config: %s must be an http:// or https:// URL (got '%s')",
			    d->name, shown);
			return -1;
		}
		break;
	case CFG_TOKEN:
		if (!token_chars_ok(v)) {
			snprintf(err, errlen, "config: %s may hold only A-Z a-z 0-9 _ -",
			    d->name);
			return -1;
		}
		break;
	case CFG_STR:
		break;
	}
	size_t len = strlen(v);
	if ((d->max && (long)len > d->max) || (len && (long)len < d->min)) {
		snprintf(err, errlen, "config: %s must be %ld..%ld characters long",
		    d->name, d->min, d->max);
		return -1;
	}
	char **slot = (char **)(base + d->off);
	free(*slot);
	*slot = xstrdup(v);
	if (d->type == CFG_URL) {
		size_t l = strlen(*slot);
		while (l > 0 && (*slot)[l - 1] == '/')
			(*slot)[--l] = '\0';
	}
	return 0;
}

/* "100:50,500:200": credits:stars, each 1..1000000 credits for 1..100000
 * Stars (Telegram's range), at most CREDIT_PACKS_MAX. */
static int
parse_packs(struct config *c, char *err, size_t errlen)
{
	const char *p = c->credit_packs;

	c->n_packs = 0;
	while (*p != '\0') {
		char *end;
		long credits = strtol(p, &end, 10), stars = 0;
		bool ok = end != p && *end == ':' && credits >= 1 && credits <= 1000000;
		if (ok) {
			p = end + 1;
			stars = strtol(p, &end, 10);
			ok = end != p && (*end == ',' || *end == '\0') && stars >= 1 && stars <= 100000;
		}
		if (!ok || c->n_packs == CREDIT_PACKS_MAX) {
			snprintf(err, errlen, "config: CREDIT_PACKS must be up to %d credits:stars pairs"
			    " like 100:50,500:200 (got '%s')", CREDIT_PACKS_MAX, c->credit_packs);
			return -1;
		}
		c->packs[c->n_packs++] = (struct credit_pack){(int)credits, (int)stars};
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int
config_check(struct config *c, bool test_mode_given, bool verify_given, char *err,
    size_t errlen)
{
	enum log_level lvl;

	if (log_level_parse(c->log_level, &lvl) != 0) {
		snprintf(err, errlen, "config: LOG_LEVEL must be debug, info, warn or error (got '%s')",
		    c->log_level);
		return -1;
	}
	if (strcmp(c->log_format, "text") != 0 && strcmp(c->log_format, "json") != 0) {
		snprintf(err, errlen, "config: LOG_FORMAT must be text or json (got '%s')",
		    c->log_format);
		return -1;
	}
	if (c->bind[strspn(c->bind, "0123456789abcdefABCDEF.:[]")] != '\0') {
		snprintf(err, errlen, "config: BIND must be an IPv4 or IPv6 address (got '%s')",
		    c->bind);
		return -1;
	}
	if (parse_packs(c, err, errlen) != 0)
		return -1;
	if (c->photos_max < c->photos_min) {
		snprintf(err, errlen, "config: PHOTOS_MAX (%d) must not be below PHOTOS_MIN (%d)",
		    c->photos_max, c->photos_min);
		return -1;
	}
	if (c->admin_token[0] != '\0' && strlen(c->admin_token) < 16) {
		snprintf(err, errlen, "config: ADMIN_TOKEN must be at least 16 characters");
		return -1;
	}
	if (c->fal_api_key[0] == '\0') {
		if (test_mode_given && !c->fal_test_mode) {
			snprintf(err, errlen, "config: FAL_TRAINING_TEST_MODE=false needs FAL_API_KEY");
			return -1;
		}
		c->fal_test_mode = true;
	}
	if (!verify_given) /* live: FAL's signature checked unless said otherwise */
		c->fal_webhook_verify = !c->fal_test_mode;
	if (c->public_base_url[0] == '\0') {
		struct sbuf u = SBUF_INIT;
		sbuf_addf(&u, "http://127.0.0.1:%d", c->port);
		free(c->public_base_url);
		c->public_base_url = sbuf_take(&u);
	}
	return 0;
}

int
config_load(struct config *c, char *const *envp, char *err, size_t errlen)
{
	struct env_file file = {NULL, 0};
	bool test_mode_given = false, verify_given = false;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NDEFS; i++)
		if (cfg_is_str(cfg_defs[i].type))
			*(char **)((char *)c + cfg_defs[i].off) = xstrdup("");

	const char *path = kv_lookup(envp, (size_t)-1, "AISHA_ENV_FILE");
	if (path != NULL && *path != '\0') {
		if (env_file_read(&file, path, err, errlen) != 0)
			goto out;
		c->env_file = xstrdup(path);
	}
	for (size_t i = 0; i < NDEFS; i++) {
		const struct cfg_def *d = &cfg_defs[i];
		const char *v = kv_lookup(envp, (size_t)-1, d->name);
		if (v == NULL)
			v = kv_lookup(file.kv, file.n, d->name);
		if (d->type == CFG_BOOL && d->off == F(fal_test_mode))
			test_mode_given = v != NULL && *v != '\0';
		if (d->type == CFG_BOOL && d->off == F(fal_webhook_verify))
			verify_given = v != NULL && *v != '\0';
		if (v == NULL || (*v == '\0' && d->type != CFG_STR))
			v = d->def;
		if (cfg_set(c, d, v, err, errlen) != 0)
			goto out;
	}
	rc = config_check(c, test_mode_given, verify_given, err, errlen);
	struct sbuf w = SBUF_INIT;
	cfg_scan(&w, envp, (size_t)-1, "environment", false);
	if (c->env_file != NULL)
		cfg_scan(&w, file.kv, file.n, c->env_file, true);
	c->warnings = sbuf_take(&w);
out:
	env_file_free(&file);
	return rc;
}

int
config_require(const struct config *c, const char *name, char *err, size_t errlen)
{
	for (size_t i = 0; i < NDEFS; i++) {
		if (strcmp(cfg_defs[i].name, name) != 0)
			continue;
		const char *v = *(char *const *)((const char *)c + cfg_defs[i].off);
		if (v != NULL && *v != '\0')
			return 0;
		snprintf(err, errlen, "config: %s is required and is not set", name);
		return -1;
	}
	snprintf(err, errlen, "config: unknown setting %s", name);
	return -1;
}

void
config_dump(const struct config *c, void (*out)(const char *line))
{
	const char *base = (const char *)c;
	char line[600];

	for (size_t i = 0; i < NDEFS; i++) {
		const struct cfg_def *d = &cfg_defs[i];
		if (d->type == CFG_INT)
			snprintf(line, sizeof(line), "%s=%d", d->name, *(const int *)(base + d->off));
		else if (d->type == CFG_BOOL)
			snprintf(line, sizeof(line), "%s=%s", d->name,
			    *(const bool *)(base + d->off) ? "true" : "false");
		else if (d->type == CFG_DOUBLE)
			snprintf(line, sizeof(line), "%s=%g", d->name, *(const double *)(base + d->off));
		else {
			const char *v = *(char *const *)(base + d->off);
			snprintf(line, sizeof(line), "%s=%s", d->name,
			    d->secret ? (*v ? "(set)" : "(unset)") : v);
		}
		out(line);
	}
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < NDEFS; i++)
		if (cfg_is_str(cfg_defs[i].type)) {
			char **slot = (char **)((char *)c + cfg_defs[i].off);
			free(*slot);
			*slot = NULL;
		}
	free(c->env_file);
	c->env_file = NULL;
	free(c->warnings);
	c->warnings = NULL;
}

void
config_each_warning(const struct config *c, void (*out)(const char *line))
{
	char line[300];

	for (const char *s = c->warnings; s != NULL && *s != '\0';) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		snprintf(line, sizeof(line), "%.*s", (int)len, s);
		out(line);
		s += len + (nl != NULL);
	}
}
