#include "templates.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

#define QUALITY "highly detailed, sharp focus, natural skin texture, professional photography"

const struct gen_template gen_templates[] = {
	{"business", {"💼 Деловой портрет", "💼 Business portrait"},
	    "professional headshot of {subject} in a tailored suit, modern office background, "
	    "soft studio lighting, confident expression, " QUALITY},
	{"studio", {"📸 Студийное фото", "📸 Studio photo"},
	    "studio portrait of {subject}, seamless grey backdrop, three-point lighting, "
	    "85mm lens, " QUALITY},
	{"cinematic", {"🎬 Кинокадр", "🎬 Cinematic"},
	    "cinematic film still of {subject}, dramatic rim light, anamorphic lens flare, "
	    "teal and orange grading, shallow depth of field, " QUALITY},
	{"fantasy", {"🧝 Фэнтези", "🧝 Fantasy"},
	    "{subject} as a hero of a fantasy epic, ornate armor, enchanted forest, "
	    "volumetric light, epic composition, " QUALITY},
	{"cyberpunk", {"🌃 Киберпанк", "🌃 Cyberpunk"},
	    "{subject} in a neon-lit cyberpunk city at night, rain reflections, "
	    "holographic signs, futuristic jacket, " QUALITY},
	{"anime", {"🎌 Аниме", "🎌 Anime"},
	    "anime style illustration of {subject}, clean line art, vibrant colors, "
	    "expressive eyes, detailed background, studio quality"},
	{"oil", {"🖼 Масляная живопись", "🖼 Oil painting"},
	    "oil painting portrait of {subject}, visible brush strokes, rich colors, "
	    "classical composition, museum quality, canvas texture"},
	{"vintage", {"📼 Винтажная плёнка", "📼 Vintage film"},
	    "vintage 1970s film photo of {subject}, Kodak Portra 400, warm tones, film grain, "
	    "soft focus, nostalgic mood"},
	{"fashion", {"👗 Фэшн-съёмка", "👗 Fashion editorial"},
	    "high fashion editorial photo of {subject}, designer outfit, bold pose, "
	    "magazine cover lighting, " QUALITY},
	{"travel", {"✈️ Путешествие", "✈️ Travel"},
	    "travel photo of {subject} on a sunny street in Lisbon, candid smile, "
	    "golden hour, vivid colors, " QUALITY},
	{"superhero", {"🦸 Супергерой", "🦸 Superhero"},
	    "{subject} as a superhero, dynamic pose on a skyscraper rooftop, cape in the wind, "
	    "comic book energy, dramatic sky, " QUALITY},
	{"watercolor", {"🎨 Акварель", "🎨 Watercolor"},
	    "delicate watercolor painting of {subject}, soft washes, paper texture, "
	    "pastel palette, artistic portrait"},
};

const size_t gen_templates_count = sizeof(gen_templates) / sizeof(gen_templates[0]);

const struct gen_template *
template_at(size_t i)
{
	return i >= 1 && i <= gen_templates_count ? &gen_templates[i - 1] : NULL;
}

const struct gen_template *
template_by_key(const char *key)
{
	for (size_t i = 0; key != NULL && i < gen_templates_count; i++)
		if (strcmp(gen_templates[i].key, key) == 0)
			return &gen_templates[i];
	return NULL;
}

static void
subject(const char *trigger, int gender, struct sbuf *out)
{
	sbuf_addf(out, "%s %s", trigger, gender == 1 ? "woman" : gender == 0 ? "man" : "person");
}

void
template_render(const struct gen_template *t, const char *trigger, int gender, struct sbuf *out)
{
	const char *p = t->body, *m;

	while ((m = strstr(p, "{subject}")) != NULL) {
		sbuf_addn(out, p, (size_t)(m - p));
		subject(trigger, gender, out);
		p = m + strlen("{subject}");
	}
	sbuf_add(out, p);
}

enum prompt_check
prompt_clean(const char *user, struct sbuf *clean)
{
	bool space = false;

	sbuf_reset(clean);
	for (const unsigned char *s = (const unsigned char *)(user ? user : ""); *s; s++) {
		if (*s < 0x20 || *s == 0x7f || *s == ' ') {
			space = clean->len > 0;
			continue;
		}
		if (space)
			sbuf_addc(clean, ' ');
		space = false;
		sbuf_addc(clean, (char)*s);
	}
	if (clean->len == 0)
		return PROMPT_EMPTY;
	if (!utf8_valid(clean->p, clean->len) || utf8_count(clean->p) > PROMPT_MAX)
		return PROMPT_TOO_LONG;
	return PROMPT_OK;
}

enum prompt_check
prompt_wrap(const char *user, const char *trigger, int gender, struct sbuf *out)
{
	struct sbuf clean = SBUF_INIT;
	enum prompt_check rc = prompt_clean(user, &clean);

	if (rc == PROMPT_OK) {
		if (strstr(clean.p, trigger) == NULL) {
			subject(trigger, gender, out);
			sbuf_add(out, ", ");
		}
		sbuf_add(out, clean.p);
		sbuf_add(out, ", " QUALITY);
	}
	sbuf_free(&clean);
	return rc;
}

void
template_label(enum lang l, const char *key, const char *user_prompt, char *out, size_t outlen)
{
	const struct gen_template *tp = template_by_key(key);
	char cut[4 * TEMPLATE_LABEL_CHARS + 1];

	if (tp != NULL) {
		snprintf(out, outlen, "%s", tp->name[l]);
		return;
	}
	if (user_prompt == NULL || user_prompt[0] == '\0') {
		snprintf(out, outlen, "%s", text_get(l, T_GEN_OWN));
		return;
	}
	utf8_copy(cut, sizeof(cut), user_prompt, TEMPLATE_LABEL_CHARS);
	snprintf(out, outlen, "«%s%s»", cut,
	    utf8_count(user_prompt) > TEMPLATE_LABEL_CHARS ? "…" : "");
}
