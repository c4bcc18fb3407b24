/* fal_api and fal_verify: trainer inputs with only documented fields,
 * submit answers with and without URLs, result and webhook classification
 * (COMPLETED is not success), progress from logs, the signed message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth.h"
#include "fal_api.h"
#include "fal_models.h"
#include "fal_verify.h"
#include "utf8.h"

static struct config cfg;

static void
trainer_inputs(void **state)
{
	(void)state;
	struct fal_train_params p;
	cJSON *in;

	fal_train_params_init(&p, &cfg, false, 7, 42);
	p.zip_url = "https://x/z.zip";
	in = fal_train_input(&p);
	assert_non_null(cJSON_GetObjectItem(in, "images_data_url"));
	assert_non_null(cJSON_GetObjectItem(in, "trigger_phrase"));
	assert_null(cJSON_GetObjectItem(in, "create_masks"));
	assert_null(cJSON_GetObjectItem(in, "data_url"));
	cJSON_Delete(in);

	cfg.fal_style_trainer = "fal-ai/flux-pro-trainer";
	fal_train_params_init(&p, &cfg, true, 7, 42);
	p.zip_url = "https://x/z.zip";
	in = fal_train_input(&p);
	assert_string_equal(cJSON_GetObjectItem(in, "data_url")->valuestring, "https://x/z.zip");
	assert_string_equal(cJSON_GetObjectItem(in, "finetune_comment")->valuestring, "user_7_avatar_42");
	assert_non_null(cJSON_GetObjectItem(in, "iterations"));
	assert_null(cJSON_GetObjectItem(in, "images_data_url"));
	cJSON_Delete(in);

	cfg.fal_style_trainer = "fal-ai/flux-lora-fast-training";
	fal_train_params_init(&p, &cfg, true, 7, 42);
	p.zip_url = "https://x/z.zip";
	in = fal_train_input(&p);
	/* a Style avatar is still a person: masks on, not a style LoRA */
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(in, "is_style")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(in, "create_masks")));
	assert_non_null(cJSON_GetObjectItem(in, "trigger_word"));
	assert_int_equal(cJSON_GetObjectItem(in, "steps")->valueint, 300);
	cJSON_Delete(in);

	/* FAL_STYLE_STEPS unset (0): each trainer's own default */
	cfg.fal_style_steps = 0;
	fal_train_params_init(&p, &cfg, true, 7, 42);
	assert_int_equal(p.steps, 1000);
	cfg.fal_style_trainer = "fal-ai/flux-pro-trainer";
	fal_train_params_init(&p, &cfg, true, 7, 42);
	assert_int_equal(p.steps, 300);
	cfg.fal_style_steps = 300;
}

static void
error_texts_are_cut_on_a_character(void **state)
{
	(void)state;
	struct fal_result r;
	char detail[2000] = "{\"detail\":\"";
	size_t n = strlen(detail);

	/* 400 × "é" (800 bytes): more than the 600-byte error field holds */
	for (int i = 0; i < 400; i++) {
		detail[n++] = (char)0xC3;
		detail[n++] = (char)0xA9;
	}
	memcpy(detail + n, "\"}", 3);
	cJSON *body = cJSON_Parse(detail);
	assert_non_null(body);
	fal_classify_result(422, body, &r);
	assert_false(r.ok);
	assert_true(strlen(r.error) > 500);
	assert_true(utf8_valid(r.error, strlen(r.error)));
	cJSON_Delete(body);
	fal_classify_webhook("ERROR", NULL, "\xC3", NULL, &r);
	assert_true(utf8_valid(r.error, strlen(r.error)));
}

static void
generator_inputs_follow_their_row(void **state)
{
	(void)state;
	struct config c = cfg;
	c.gen_lora_scale = 1.0;
	c.gen_steps = 28;
	c.gen_guidance = 3.5;
	c.gen_finetune_strength = 1.1;
	struct fal_gen_args a = {.prompt = "TOK woman", .num_images = 2, .seed = 7,
	    .lora_url = "https://x/l.safetensors", .finetune_id = "", .ratio = "3:4",
	    .image_size = "portrait_4_3", .cfg = &c};

	const struct fal_generator_model *lora = fal_generator_for(FAL_WEIGHTS_LORA);
	assert_string_equal(lora->endpoint, "fal-ai/flux-lora");
	cJSON *in = fal_generation_input(lora->endpoint, &a);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(in, "enable_safety_checker")));
	assert_string_equal(cJSON_GetObjectItem(in, "image_size")->valuestring, "portrait_4_3");
	assert_non_null(cJSON_GetObjectItem(in, "loras"));
	assert_null(cJSON_GetObjectItem(in, "safety_tolerance"));
	assert_null(cJSON_GetObjectItem(in, "aspect_ratio"));
	cJSON_Delete(in);

	a.lora_url = "";
	a.finetune_id = "ft-1";
	const struct fal_generator_model *ft = fal_generator_for(FAL_WEIGHTS_FINETUNE);
	in = fal_generation_input(ft->endpoint, &a);
	assert_string_equal(cJSON_GetObjectItem(in, "safety_tolerance")->valuestring, "2");
	assert_string_equal(cJSON_GetObjectItem(in, "aspect_ratio")->valuestring, "3:4");
	assert_null(cJSON_GetObjectItem(in, "enable_safety_checker"));
	assert_null(cJSON_GetObjectItem(in, "loras"));
	cJSON_Delete(in);
	/* an endpoint no row names: what the avatar holds decides */
	in = fal_generation_input("fal-ai/unknown", &a);
	assert_non_null(cJSON_GetObjectItem(in, "finetune_id"));
	cJSON_Delete(in);
	/* a trainer is found by its model name, whatever follows it */
	assert_int_equal(fal_trainer_kind("fal-ai/flux-pro-trainer/v2"), FAL_PRO_TRAINER);
	assert_int_equal(fal_trainer_kind("fal-ai/flux-lora-fast-training"), FAL_LORA_FAST_TRAINER);
	assert_int_equal(fal_trainer_model("fal-ai/flux-pro-trainer")->output, FAL_WEIGHTS_FINETUNE);
}

static void
submit_answers(void **state)
{
	(void)state;
	struct fal_submitted s;

	assert_int_equal(fal_parse_submit("https://queue.fal.run", "fal-ai/flux-pro/v1.1-ultra-finetuned",
	    "{\"request_id\":\"abc-123\"}", &s), 0);
	assert_string_equal(s.status_url,
	    "https://queue.fal.run/fal-ai/flux-pro/requests/abc-123/status");
	assert_string_equal(s.response_url, "https://queue.fal.run/fal-ai/flux-pro/requests/abc-123");
	assert_string_equal(s.cancel_url,
	    "https://queue.fal.run/fal-ai/flux-pro/requests/abc-123/cancel");
	assert_int_equal(fal_parse_submit("https://q", "a/b", "{\"request_id\":\"r1\","
	    "\"status_url\":\"https://q/a/b/requests/r1/status\",\"response_url\":\"https://q/r\","
	    "\"cancel_url\":\"https://q/c\",\"gateway_request_id\":\"g1\"}", &s), 0);
	assert_string_equal(s.status_url, "https://q/a/b/requests/r1/status");
	assert_string_equal(s.response_url, "https://q/r");
	assert_string_equal(s.gateway_request_id, "g1");
	/* another host, a look-alike, userinfo, another scheme or port: the key
	 * would go there — replaced by the URL built from the queue base */
	assert_int_equal(fal_parse_submit("https://q", "a/b", "{\"request_id\":\"r1\","
	    "\"status_url\":\"https://other/s\",\"response_url\":\"https://q.evil/r\","
	    "\"cancel_url\":\"https://q@evil/c\"}", &s), 0);
	assert_string_equal(s.status_url, "https://q/a/b/requests/r1/status");
	assert_string_equal(s.response_url, "https://q/a/b/requests/r1");
	assert_string_equal(s.cancel_url, "https://q/a/b/requests/r1/cancel");
	assert_int_equal(fal_parse_submit("https://q", "a/b", "{\"request_id\":\"r1\","
	    "\"status_url\":\"http://q/s\",\"response_url\":\"https://q:8443/r\"}", &s), 0);
	assert_string_equal(s.status_url, "https://q/a/b/requests/r1/status");
	assert_string_equal(s.response_url, "https://q/a/b/requests/r1");
	assert_int_equal(fal_parse_submit("https://q", "a/b", "{}", &s), -1);
	assert_int_equal(fal_parse_submit("https://q", "a/b", "{\"request_id\":\"../x\"}", &s), -1);
	assert_int_equal(fal_parse_submit("https://q", "a/b", "not json", &s), -1);
}

static void
results(void **state)
{
	(void)state;
	struct fal_result r;
	cJSON *j;

	j = cJSON_Parse("{\"diffusers_lora_file\":{\"url\":\"https://v3.fal.media/l\"},"
	    "\"config_file\":{\"url\":\"https://v3.fal.media/c\"}}");
	fal_classify_result(200, j, &r);
	assert_true(r.ok);
	assert_string_equal(r.lora_url, "https://v3.fal.media/l");
	cJSON_Delete(j);
	j = cJSON_Parse("{\"finetune_id\":\"ft-1\"}");
	fal_classify_result(200, j, &r);
	assert_true(r.ok);
	assert_string_equal(r.finetune_id, "ft-1");
	cJSON_Delete(j);
	j = cJSON_Parse("{\"detail\":[{\"loc\":[\"body\",\"steps\"],\"msg\":\"too big\",\"type\":\"v\"}]}");
	fal_classify_result(422, j, &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "steps: too big");
	fal_classify_result(200, j, &r); /* a 200 with a detail body is a failure too */
	assert_false(r.ok);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"images\":[]}");
	fal_classify_result(200, j, &r);
	assert_false(r.ok);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"diffusers_lora_file\":{\"url\":\"javascript:x\"}}");
	fal_classify_result(200, j, &r);
	assert_false(r.ok);
	cJSON_Delete(j);
	fal_classify_result(500, NULL, &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.error, "500"));
}

static void
webhooks(void **state)
{
	(void)state;
	struct fal_result r;
	cJSON *ok = cJSON_Parse("{\"finetune_id\":\"ft-9\"}");
	cJSON *err = cJSON_Parse("{\"detail\":\"bad zip\"}");

	fal_classify_webhook("OK", ok, NULL, NULL, &r);
	assert_true(r.ok);
	fal_classify_webhook("ERROR", err, "Invalid status code: 422", NULL, &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "bad zip");
	fal_classify_webhook("ERROR", NULL, "Invalid status code: 500", NULL, &r);
	assert_string_equal(r.error, "Invalid status code: 500");
	fal_classify_webhook("OK", NULL, NULL, "not serializable", &r);
	assert_false(r.ok);
	assert_string_equal(r.error, "not serializable");
	cJSON_Delete(ok);
	cJSON_Delete(err);
}

static void
status_progress(void **state)
{
	(void)state;
	char st[32];
	int pr;
	struct sbuf logs = SBUF_INIT;

	fal_parse_status("{\"status\":\"IN_PROGRESS\",\"logs\":[{\"message\":\"loading\"},"
	    "{\"message\":\"Training step 250/1000\"}]}", st, sizeof(st), &pr, &logs);
	assert_string_equal(st, "IN_PROGRESS");
	assert_int_equal(pr, 25);
	assert_non_null(strstr(logs.p, "loading"));
	sbuf_reset(&logs);
	fal_parse_status("{\"status\":\"IN_QUEUE\",\"queue_position\":3}", st, sizeof(st), &pr, &logs);
	assert_string_equal(st, "IN_QUEUE");
	assert_int_equal(pr, -1);
	fal_parse_status("{\"status\":\"IN_PROGRESS\",\"logs\":[{\"message\":\"step 5 of 10\"}]}",
	    st, sizeof(st), &pr, &logs);
	assert_int_equal(pr, 50);
	fal_parse_status("garbage", st, sizeof(st), &pr, &logs);
	assert_string_equal(st, "");
	sbuf_free(&logs);
}

static void
signatures(void **state)
{
	(void)state;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	char msg[512], sighex[2 * crypto_sign_BYTES + 1], x[64];
	const char *body = "{\"request_id\":\"r1\"}";

	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(x, sizeof(x), pk, sizeof(pk), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	assert_int_equal(fal_signed_message("r1", "u1", "1700000000", body, strlen(body), msg,
	    sizeof(msg)), 0);
	assert_non_null(strstr(msg, "r1\nu1\n1700000000\n"));
	assert_int_equal(strlen(strrchr(msg, '\n') + 1), 64);
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, strlen(msg), sk);
	sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));
	assert_int_equal(fal_verify_with_key(x, sighex, msg), 0);
	msg[0] = 'R';
	assert_int_not_equal(fal_verify_with_key(x, sighex, msg), 0);
	msg[0] = 'r';
	assert_int_not_equal(fal_verify_with_key(x, "00", msg), 0);
	assert_int_not_equal(fal_verify_with_key("short", sighex, msg), 0);
}

/* The signature's timestamp: within 300 s of now, and hostile values
 * (the extremes of long long, signs, junk) refused without overflow. */
static void
timestamps(void **state)
{
	(void)state;
	time_t now = 1764400000;
	assert_true(fal_timestamp_fresh("1764400000", now));
	assert_true(fal_timestamp_fresh("1764400300", now));
	assert_true(fal_timestamp_fresh("1764399700", now));
	assert_false(fal_timestamp_fresh("1764400301", now));
	assert_false(fal_timestamp_fresh("1764399699", now));
	assert_false(fal_timestamp_fresh("-9223372036854775808", now));
	assert_false(fal_timestamp_fresh("9223372036854775807", now));
	assert_false(fal_timestamp_fresh("99999999999999999999", now));
	assert_false(fal_timestamp_fresh("+1764400000", now));
	assert_false(fal_timestamp_fresh(" 1764400000", now));
	assert_false(fal_timestamp_fresh("1764400000 ", now));
	assert_false(fal_timestamp_fresh("", now));
	assert_false(fal_timestamp_fresh(NULL, now));
}

int
main(void)
{
	assert_int_equal(auth_init(), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.fal_portrait_trainer = "fal-ai/flux-lora-portrait-trainer";
	cfg.fal_style_trainer = "fal-ai/flux-pro-trainer";
	cfg.fal_portrait_steps = 1000;
	cfg.fal_style_steps = 300;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(trainer_inputs),
		cmocka_unit_test(submit_answers),
		cmocka_unit_test(generator_inputs_follow_their_row),
		cmocka_unit_test(error_texts_are_cut_on_a_character),
		cmocka_unit_test(results),
		cmocka_unit_test(webhooks),
		cmocka_unit_test(status_progress),
		cmocka_unit_test(signatures),
		cmocka_unit_test(timestamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
