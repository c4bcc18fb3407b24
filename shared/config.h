/*
 * config — every setting of SPEC "Configuration", read once at start from the
 * environment and, for what the environment does not set, from an env file
 * named by AISHA_ENV_FILE (make up writes var/aisha.env).  The environment
 * always wins.  Settings are declared in one table (config.c) with a type, default,
 * range and whether they are secret; validation names the bad variable and
 * never echoes a secret's value.
 */
#ifndef AISHA_CONFIG_H
#define AISHA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CREDIT_PACKS_MAX 6

struct config {
	char *database_url;
	char *tg_token;
	char *tg_webhook_secret;
	char *tg_api_base;
	char *tg_bot_username;
	char *fal_api_key;
	char *fal_queue_base;
	char *fal_jwks_url;
	char *fal_webhook_secret;
	bool fal_webhook_verify;     /* default: on in live mode */
	int refused_per_minute;
	int start_training_max_parallel; /* trainings being prepared at once */      /* refused webhook calls kept per source */
	bool fal_test_mode;      /* explicit, or implied by an empty FAL_API_KEY */
	int fal_test_duration;   /* seconds */
	int fal_training_timeout; /* seconds */
	int claim_timeout;        /* seconds before a claim counts as crashed */
	int fal_portrait_steps;
	int fal_style_steps;      /* steps (iterations for flux-pro-trainer); 0: the
	                           * trainer's default (1000, or 300 iterations) */
	int gen_max_active;       /* generations in flight per user */
	int gen_timeout;          /* seconds before a generation in flight is failed */
	int gen_num_images;       /* images per generation */
	int gen_steps;            /* num_inference_steps (flux-lora) */
	double gen_guidance;      /* guidance_scale (flux-lora) */
	double gen_lora_scale;    /* the LoRA's weight */
	double gen_finetune_strength; /* finetune_strength (finetuned endpoint) */
	char *fal_portrait_trainer;
	char *fal_style_trainer;
	char *public_base_url;
	char *admin_token;
	char *media_dir;
	int photos_min;
	int photos_max;
	int photo_min_side;
	char *face_model;         /* OpenCV cascade for the portrait check; "": none */
	int credits_start;        /* credits a new user gets */
	int price_training;       /* credits; 0: free */
	int price_generation;
	char *credit_packs;       /* "credits:stars,…" as set */
	struct credit_pack {
		int credits, stars;
	} packs[CREDIT_PACKS_MAX]; /* parsed */
	int n_packs;
	int trainings_per_day;    /* per person; 0: no limit */
	int generations_per_day;
	double fal_cost_training_usd; /* estimated FAL cost of one training */
	double fal_cost_image_usd;    /* … of one picture */
	double fal_daily_budget_usd;  /* estimated spend per UTC day; 0: no limit */
	char *paysupport_contact; /* who /paysupport sends people to ("" : the bot's profile) */
	int port;
	char *bind;       /* lighttpd's listen address (BIND) */
	char *log_level;
	char *log_format; /* "text" or "json" */
	int checker_interval; /* seconds between the status checker's runs (cron: 60) */
	char *env_file; /* the file that was read, or NULL */
	/* Keys that look like a mistyped setting (PHOTO_MAX, LOGLEVEL) in the
	 * environment, and any unknown key in the env file: one line each,
	 * '\n'-separated, "" when none.  Reported at start, never fatal. */
	char *warnings;
};

/*
 * Loads from envp (a NULL-terminated "K=V" array, e.g. environ).  Returns 0, or
 * -1 with a one-line reason naming the variable in err.  On failure the struct
 * is still safe to pass to config_free().
 */
int config_load(struct config *c, char *const *envp, char *err, size_t errlen);
void config_free(struct config *c);

/* Calls out once per line of c->warnings. */
void config_each_warning(const struct config *c, void (*out)(const char *line));

/* Returns 0 when name is non-empty in c, else -1 with a reason in err. */
int config_require(const struct config *c, const char *name, char *err,
    size_t errlen);
/* Prints each setting; secrets show only "set" or "unset". */
void config_dump(const struct config *c, void (*out)(const char *line));

/* Parses "true/false/1/0/yes/no/on/off"; -1 when it is none of them. */
int config_parse_bool(const char *s, bool *out);

#endif
