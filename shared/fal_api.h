/*
 * fal_api — what we send to FAL's queue and how we read its answers.
 *
 * Pure helpers (unit-tested): the input document of each trainer endpoint
 * (only the fields that endpoint documents), the derived status/result/cancel
 * URLs when a submit answer lacks them, the classification of a result
 * (COMPLETED is not success: a failed request shows only in its result), and
 * the progress hidden in a status answer's logs.
 */
#ifndef AISHA_FAL_API_H
#define AISHA_FAL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "sbuf.h"

enum fal_trainer { FAL_PORTRAIT_TRAINER, FAL_PRO_TRAINER, FAL_LORA_FAST_TRAINER };

/* Which input schema an endpoint takes (by its model name; fal_models.c). */
enum fal_trainer fal_trainer_kind(const char *endpoint);

/* The parameters we choose for one avatar, kept on its row. */
struct fal_train_params {
	const char *endpoint;
	enum fal_trainer kind;
	const char *zip_url;
	const char *trigger;
	double learning_rate;
	int steps;
	bool multiresolution, subject_crop, create_masks, captioning, is_style;
	const char *finetune_type; /* "full" / "lora" (pro trainer) */
	const char *priority;      /* "speed" / "quality" / "high_res_only" */
	char finetune_comment[64];
};

/* Our parameters for the configured trainer, and its input JSON (caller
 * deletes): both follow the trainer's row in fal_models.c. */
void fal_train_params_init(struct fal_train_params *p, const struct config *c,
    bool style, int64_t user_id, int64_t avatar_id);
cJSON *fal_train_input(const struct fal_train_params *p);

/* The submit answer, with URLs derived from the endpoint when absent. */
struct fal_submitted {
	char request_id[201];
	char gateway_request_id[201];
	char status_url[512], response_url[512], cancel_url[512];
};
/* FAL's submit answer.  Status, response and cancel URLs are kept only on
 * base's origin (scheme, host and port of FAL_QUEUE_BASE); any other is
 * replaced by the one built from base, so the FAL key never goes elsewhere. */
int fal_parse_submit(const char *base, const char *endpoint, const char *body,
    struct fal_submitted *out);

/* A training result: ok with a LoRA file and/or a finetune id, or an error. */
struct fal_result {
	bool ok;
	bool timed_out; /* set by our timeout, not by FAL */
	char lora_url[1024];
	char config_url[1024];
	char finetune_id[201];
	char error[600];
};
/* From a result fetch (HTTP status + body) or a webhook (status string +
 * payload object + error strings). */
void fal_classify_result(long http_status, const cJSON *body, struct fal_result *r);
void fal_classify_webhook(const char *status, const cJSON *payload, const char *error,
    const char *payload_error, struct fal_result *r);

/* Status answer: "IN_QUEUE" / "IN_PROGRESS" / "COMPLETED" (or "" unknown);
 * progress 0..100 from a "step N/M"-like log line when there is one
 * (else -1); the log lines joined into logs. */
void fal_parse_status(const char *body, char *status, size_t slen, int *progress,
    struct sbuf *logs);

#endif
