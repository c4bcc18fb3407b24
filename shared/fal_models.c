#include "fal_models.h"

#include <stdio.h>
#include <string.h>

/* --- trainers ------------------------------------------------------------------ */

static void
portrait_defaults(struct fal_train_params *p, const struct config *c)
{
	p->learning_rate = 0.00009;
	p->steps = c->fal_portrait_steps;
	p->multiresolution = true;
	p->subject_crop = true;
}

static void
portrait_input(const struct fal_train_params *p, cJSON *in)
{
	cJSON_AddStringToObject(in, "images_data_url", p->zip_url);
	cJSON_AddStringToObject(in, "trigger_phrase", p->trigger);
	cJSON_AddNumberToObject(in, "learning_rate", p->learning_rate);
	cJSON_AddNumberToObject(in, "steps", p->steps);
	cJSON_AddBoolToObject(in, "multiresolution_training", p->multiresolution);
	cJSON_AddBoolToObject(in, "subject_crop", p->subject_crop);
}

/*
 * A Style avatar still holds photos of one person, trained so the person can
 * be drawn in artistic looks.  FAL describes is_style as training a *style*
 * (no segmentation, no captions: the trigger word stands for a look, not a
 * subject) and create_masks as weighting the loss by a segmentation of the
 * subject, "a good default for people".  So: is_style false, create_masks
 * true — the LoRA learns the person; the artistic look comes from the
 * prompt templates.
 */
static void
fast_defaults(struct fal_train_params *p, const struct config *c)
{
	p->steps = c->fal_style_steps;
	p->create_masks = true;
	p->is_style = false;
}

static void
fast_input(const struct fal_train_params *p, cJSON *in)
{
	cJSON_AddStringToObject(in, "images_data_url", p->zip_url);
	cJSON_AddStringToObject(in, "trigger_word", p->trigger);
	cJSON_AddNumberToObject(in, "steps", p->steps);
	cJSON_AddBoolToObject(in, "create_masks", p->create_masks);
	cJSON_AddBoolToObject(in, "is_style", p->is_style);
}

/* FAL marks this endpoint deprecated; it stays selectable (FAL_STYLE_TRAINER). */
static void
pro_defaults(struct fal_train_params *p, const struct config *c)
{
	p->learning_rate = 0.00001;
	p->steps = c->fal_style_steps;
	p->finetune_type = "full";
	p->priority = "quality";
}

static void
pro_input(const struct fal_train_params *p, cJSON *in)
{
	cJSON_AddStringToObject(in, "data_url", p->zip_url);
	cJSON_AddStringToObject(in, "mode", "character");
	cJSON_AddStringToObject(in, "finetune_comment", p->finetune_comment);
	cJSON_AddNumberToObject(in, "iterations", p->steps);
	cJSON_AddNumberToObject(in, "learning_rate", p->learning_rate);
	cJSON_AddStringToObject(in, "priority", p->priority);
	cJSON_AddBoolToObject(in, "captioning", p->captioning);
	cJSON_AddStringToObject(in, "trigger_word", p->trigger);
	cJSON_AddStringToObject(in, "finetune_type", p->finetune_type);
}

static const struct fal_trainer_model trainers[] = {
	{"fal-ai/flux-lora-portrait-trainer", FAL_PORTRAIT_TRAINER, FAL_WEIGHTS_LORA, 1000,
	    portrait_defaults, portrait_input},
	{"fal-ai/flux-lora-fast-training", FAL_LORA_FAST_TRAINER, FAL_WEIGHTS_LORA, 1000,
	    fast_defaults, fast_input},
	{"fal-ai/flux-pro-trainer", FAL_PRO_TRAINER, FAL_WEIGHTS_FINETUNE, 300,
	    pro_defaults, pro_input},
};

/* The model name: the endpoint's second path segment ("flux-pro-trainer"). */
static const char *
model_name(const char *endpoint, size_t *len)
{
	const char *s = strchr(endpoint, '/');
	const char *name = s ? s + 1 : endpoint;
	const char *end = strchr(name, '/');

	*len = end ? (size_t)(end - name) : strlen(name);
	return name;
}

const struct fal_trainer_model *
fal_trainer_model(const char *endpoint)
{
	size_t len, rl;
	const char *name = model_name(endpoint, &len);

	for (size_t i = 0; i < sizeof(trainers) / sizeof(trainers[0]); i++) {
		const char *rn = model_name(trainers[i].endpoint, &rl);
		if (rl == len && strncmp(rn, name, len) == 0)
			return &trainers[i];
	}
	return &trainers[0];
}

enum fal_trainer
fal_trainer_kind(const char *endpoint)
{
	return fal_trainer_model(endpoint)->kind;
}

void
fal_train_params_init(struct fal_train_params *p, const struct config *c, bool style,
    int64_t user_id, int64_t avatar_id)
{
	memset(p, 0, sizeof(*p));
	p->endpoint = style ? c->fal_style_trainer : c->fal_portrait_trainer;
	const struct fal_trainer_model *m = fal_trainer_model(p->endpoint);
	p->kind = m->kind;
	p->trigger = "TOK";
	p->captioning = true;
	if (m->output == FAL_WEIGHTS_FINETUNE) /* a label BFL's fine-tuning requires */
		snprintf(p->finetune_comment, sizeof(p->finetune_comment),
		    "user_%lld_avatar_%lld", (long long)user_id, (long long)avatar_id);
	m->defaults(p, c);
	if (p->steps == 0) /* FAL_STYLE_STEPS unset: the trainer's own default */
		p->steps = m->default_steps;
}

cJSON *
fal_train_input(const struct fal_train_params *p)
{
	cJSON *in = cJSON_CreateObject();

	fal_trainer_model(p->endpoint)->input(p, in);
	return in;
}

/* --- generators ---------------------------------------------------------------- */

static void
common_gen(const struct fal_gen_args *a, cJSON *in)
{
	cJSON_AddStringToObject(in, "prompt", a->prompt);
	cJSON_AddNumberToObject(in, "num_images", a->num_images);
	cJSON_AddNumberToObject(in, "seed", (double)a->seed);
	cJSON_AddStringToObject(in, "output_format", "jpeg");
}

static void
lora_input(const struct fal_gen_args *a, cJSON *in)
{
	common_gen(a, in);
	cJSON_AddTrueToObject(in, "enable_safety_checker");
	cJSON *loras = cJSON_AddArrayToObject(in, "loras"), *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "path", a->lora_url);
	cJSON_AddNumberToObject(l, "scale", a->cfg->gen_lora_scale);
	cJSON_AddItemToArray(loras, l);
	cJSON_AddStringToObject(in, "image_size", a->image_size);
	cJSON_AddNumberToObject(in, "num_inference_steps", a->cfg->gen_steps);
	cJSON_AddNumberToObject(in, "guidance_scale", a->cfg->gen_guidance);
}

/* The ultra-finetuned schema has safety_tolerance ("1"–"6"), not
 * enable_safety_checker. */
static void
finetune_input(const struct fal_gen_args *a, cJSON *in)
{
	common_gen(a, in);
	cJSON_AddStringToObject(in, "finetune_id", a->finetune_id);
	cJSON_AddNumberToObject(in, "finetune_strength", a->cfg->gen_finetune_strength);
	cJSON_AddStringToObject(in, "aspect_ratio", a->ratio);
	cJSON_AddStringToObject(in, "safety_tolerance", "2");
}

static const struct fal_generator_model generators[] = {
	{"fal-ai/flux-lora", FAL_WEIGHTS_LORA, lora_input},
	{"fal-ai/flux-pro/v1.1-ultra-finetuned", FAL_WEIGHTS_FINETUNE, finetune_input},
};

const struct fal_generator_model *
fal_generator_for(enum fal_weights w)
{
	for (size_t i = 0; i < sizeof(generators) / sizeof(generators[0]); i++)
		if (generators[i].needs == w)
			return &generators[i];
	return &generators[0];
}

const struct fal_generator_model *
fal_generator_model(const char *endpoint)
{
	for (size_t i = 0; endpoint && i < sizeof(generators) / sizeof(generators[0]); i++)
		if (strcmp(generators[i].endpoint, endpoint) == 0)
			return &generators[i];
	return NULL;
}

cJSON *
fal_generation_input(const char *endpoint, const struct fal_gen_args *a)
{
	const struct fal_generator_model *m = fal_generator_model(endpoint);
	cJSON *in = cJSON_CreateObject();

	if (m == NULL)
		m = fal_generator_for(a->lora_url && a->lora_url[0] ? FAL_WEIGHTS_LORA :
		    FAL_WEIGHTS_FINETUNE);
	m->input(a, in);
	return in;
}

/* --- aspects ------------------------------------------------------------------------ */

const struct fal_aspect fal_aspects[FAL_ASPECTS] = {
	{"1:1", "square_hd"},
	{"3:4", "portrait_4_3"},
	{"9:16", "portrait_16_9"},
	{"4:3", "landscape_4_3"},
	{"16:9", "landscape_16_9"},
};

int
fal_aspect_index(const char *ratio)
{
	for (int i = 0; i < FAL_ASPECTS; i++)
		if (strcmp(fal_aspects[i].ratio, ratio) == 0)
			return i;
	return 0;
}

/* --- test mode: what a model would have returned ---------------------------------- */

cJSON *
fal_test_training_output(const char *endpoint, const char *request_id)
{
	cJSON *out = cJSON_CreateObject();
	char s[400];

	if (fal_trainer_model(endpoint)->output == FAL_WEIGHTS_FINETUNE) {
		snprintf(s, sizeof(s), "test-finetune-%s",
		    request_id + (strncmp(request_id, "test-", 5) == 0 ? 5 : 0));
		cJSON_AddStringToObject(out, "finetune_id", s);
	} else {
		snprintf(s, sizeof(s), "https://fal.test/test-mode/%s/pytorch_lora_weights.safetensors",
		    request_id);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(out, "diffusers_lora_file"), "url", s);
	}
	cJSON_AddStringToObject(out, "mode", "test");
	cJSON_AddStringToObject(out, "request_id", request_id);
	return out;
}

cJSON *
fal_test_generation_output(const char *base_url, int n, int64_t seed)
{
	cJSON *out = cJSON_CreateObject(), *imgs = cJSON_AddArrayToObject(out, "images");
	cJSON *nsfw = cJSON_AddArrayToObject(out, "has_nsfw_concepts");
	char url[1200];

	for (int i = 0; i < n; i++) {
		cJSON *img = cJSON_CreateObject();
		snprintf(url, sizeof(url), "%s/media/placeholder/placeholder-%d.jpg", base_url,
		    (int)((seed + i) % 3) + 1);
		cJSON_AddStringToObject(img, "url", url);
		cJSON_AddNumberToObject(img, "width", 512);
		cJSON_AddNumberToObject(img, "height", 512);
		cJSON_AddStringToObject(img, "content_type", "image/jpeg");
		cJSON_AddItemToArray(imgs, img);
		cJSON_AddItemToArray(nsfw, cJSON_CreateFalse());
	}
	cJSON_AddNumberToObject(out, "seed", (double)seed);
	cJSON_AddStringToObject(out, "mode", "test");
	return out;
}
