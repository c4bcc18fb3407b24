/*
 * fal_models — every FAL model Aisha uses, one row each: the trainers
 * (which schema their input follows, our defaults, what their result holds)
 * and the generators (what an avatar must hold to use one, and their
 * input).  Adding a model is adding a row in fal_models.c; nothing else
 * names an endpoint.  Each input carries only the fields the model's
 * documented schema has (FAL answers 422 to anything else).
 */
#ifndef AISHA_FAL_MODELS_H
#define AISHA_FAL_MODELS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "fal_api.h"

/* What a trained avatar holds, and so what a generator needs. */
enum fal_weights { FAL_WEIGHTS_LORA, FAL_WEIGHTS_FINETUNE };

struct fal_trainer_model {
	const char *endpoint;
	enum fal_trainer kind;
	enum fal_weights output;
	int default_steps;   /* when the configured steps are 0 */
	void (*defaults)(struct fal_train_params *p, const struct config *c);
	void (*input)(const struct fal_train_params *p, cJSON *in);
};

/* The picture shapes a person can choose, in both spellings the
 * generators use ("3:4" for the finetuned endpoint, "portrait_4_3" for
 * flux-lora). */
#define FAL_ASPECTS 5
struct fal_aspect {
	const char *ratio, *image_size;
};
extern const struct fal_aspect fal_aspects[FAL_ASPECTS];
/* The index of ratio in fal_aspects (0 when unknown). */
int fal_aspect_index(const char *ratio);

/* What a generation asks for, whatever the model. */
struct fal_gen_args {
	const char *prompt;
	int num_images;
	int64_t seed;
	const char *lora_url, *finetune_id; /* what the avatar holds */
	const char *ratio, *image_size;     /* the aspect, both spellings */
	const struct config *cfg;
};

struct fal_generator_model {
	const char *endpoint;
	enum fal_weights needs;
	void (*input)(const struct fal_gen_args *a, cJSON *in);
};

/* The trainer an endpoint names (matched by its model name, so a
 * configured endpoint with a version suffix still finds its row); the
 * portrait trainer's schema for an unknown one. */
const struct fal_trainer_model *fal_trainer_model(const char *endpoint);
/* The generator for an avatar holding w; by endpoint (NULL when unknown). */
const struct fal_generator_model *fal_generator_for(enum fal_weights w);
const struct fal_generator_model *fal_generator_model(const char *endpoint);
/* The generation input for endpoint (or, when unknown, for what a holds). */
cJSON *fal_generation_input(const char *endpoint, const struct fal_gen_args *a);

/* Test mode: the result a trainer (a recognizable placeholder LoRA URL or
 * finetune id) or a generator (n of make up's placeholder JPEGs) would have
 * given, in the model's own shape. */
cJSON *fal_test_training_output(const char *endpoint, const char *request_id);
cJSON *fal_test_generation_output(const char *base_url, int n, int64_t seed);

#endif
