/* config: defaults, environment over file, validation naming the variable,
 * secrets never echoed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char err[300];

static int
load(struct config *c, char **env)
{
	err[0] = '\0';
	return config_load(c, env, err, sizeof(err));
}

static void
defaults_apply(void **state)
{
	(void)state;
	char *env[] = {"DATABASE_URL=host=/tmp dbname=x", NULL};
	struct config c;

	assert_int_equal(load(&c, env), 0);
	assert_string_equal(c.tg_api_base, "https://api.telegram.org");
	assert_string_equal(c.fal_queue_base, "https://queue.fal.run");
	assert_string_equal(c.fal_portrait_trainer, "fal-ai/flux-lora-portrait-trainer");
	assert_string_equal(c.fal_style_trainer, "fal-ai/flux-lora-fast-training");
	assert_int_equal(c.photos_min, 10);
	assert_int_equal(c.photos_max, 20);
	assert_int_equal(c.port, 8080);
	assert_string_equal(c.public_base_url, "http://127.0.0.1:8080");
	assert_true(c.fal_test_mode); /* no FAL key: test mode */
	config_free(&c);
}

static void
near_miss_keys_are_reported(void **state)
{
	(void)state;
	char path[] = "/tmp/aisha-test-envXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *body = "PHOTOS_MIN=3\nTOTALLY_UNKNOWN=1\n";
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	char envf[64];
	snprintf(envf, sizeof(envf), "AISHA_ENV_FILE=%s", path);
	char *env[] = {"PHOTO_MAX=5", "LOGLEVEL=debug", "HOST=x", "PGPORT=5432", "HOME=/root",
	    "log_level=debug", envf, NULL};
	struct config c;

	assert_int_equal(load(&c, env), 0);
	assert_int_equal(c.photos_min, 3);
	assert_non_null(strstr(c.warnings, "PHOTO_MAX is not a setting; did you mean PHOTOS_MAX?"));
	assert_non_null(strstr(c.warnings, "LOGLEVEL is not a setting; did you mean LOG_LEVEL?"));
	assert_non_null(strstr(c.warnings, "log_level is not a setting; did you mean LOG_LEVEL?"));
	assert_non_null(strstr(c.warnings, "TOTALLY_UNKNOWN is not a setting (ignored)"));
	assert_null(strstr(c.warnings, "HOST"));   /* not close enough to PORT */
	assert_null(strstr(c.warnings, "PGPORT"));
	assert_null(strstr(c.warnings, "HOME"));
	config_free(&c);
	unlink(path);
}

static void
bad_integer_names_the_variable(void **state)
{
	(void)state;
	char *env[] = {"DATABASE_URL=x", "PHOTOS_MIN=ten", NULL};
	struct config c;

	assert_int_equal(load(&c, env), -1);
	assert_non_null(strstr(err, "PHOTOS_MIN"));
	config_free(&c);
}

static void
range_checks(void **state)
{
	(void)state;
	char *env1[] = {"PORT=70000", NULL};
	char *env2[] = {"PHOTOS_MIN=15", "PHOTOS_MAX=12", NULL};
	char *env3[] = {"TELEGRAM_API_BASE=ftp://x", NULL};
	char *env4[] = {"TELEGRAM_WEBHOOK_SECRET=has space", NULL};
	char *env5[] = {"LOG_LEVEL=loud", NULL};
	char *env6[] = {"ADMIN_TOKEN=short", NULL};
	struct config c;

	assert_int_equal(load(&c, env1), -1);
	assert_non_null(strstr(err, "PORT"));
	config_free(&c);
	assert_int_equal(load(&c, env2), -1);
	assert_non_null(strstr(err, "PHOTOS_MAX"));
	config_free(&c);
	assert_int_equal(load(&c, env3), -1);
	assert_non_null(strstr(err, "TELEGRAM_API_BASE"));
	config_free(&c);
	assert_int_equal(load(&c, env4), -1);
	assert_non_null(strstr(err, "TELEGRAM_WEBHOOK_SECRET"));
	assert_null(strstr(err, "has space"));
	config_free(&c);
	assert_int_equal(load(&c, env5), -1);
	assert_non_null(strstr(err, "LOG_LEVEL"));
	config_free(&c);
	assert_int_equal(load(&c, env6), -1);
	assert_non_null(strstr(err, "ADMIN_TOKEN"));
	config_free(&c);
}

static void
test_mode_rules(void **state)
{
	(void)state;
	char *off_no_key[] = {"FAL_TRAINING_TEST_MODE=false", NULL};
	char *key[] = {"FAL_API_KEY=abc:def", NULL};
	char *key_forced[] = {"FAL_API_KEY=abc:def", "FAL_TRAINING_TEST_MODE=true", NULL};
	struct config c;

	assert_int_equal(load(&c, off_no_key), -1);
	assert_non_null(strstr(err, "FAL_TRAINING_TEST_MODE"));
	config_free(&c);
	assert_int_equal(load(&c, key), 0);
	assert_false(c.fal_test_mode);
	config_free(&c);
	assert_int_equal(load(&c, key_forced), 0);
	assert_true(c.fal_test_mode);
	config_free(&c);
}

static void
env_file_is_read_and_environment_wins(void **state)
{
	(void)state;
	char path[] = "/tmp/aisha-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "# comment\nexport PHOTOS_MIN=12\nPHOTOS_MAX='18'\nTELEGRAM_API_BASE=\"http://127.0.0.1:1/\"\n");
	fclose(f);
	char envfile[64];
	snprintf(envfile, sizeof(envfile), "AISHA_ENV_FILE=%s", path);
	char *env[] = {envfile, "PHOTOS_MAX=19", NULL};
	struct config c;

	assert_int_equal(load(&c, env), 0);
	assert_int_equal(c.photos_min, 12);
	assert_int_equal(c.photos_max, 19);
	assert_string_equal(c.tg_api_base, "http://127.0.0.1:1"); /* trailing / trimmed */
	config_free(&c);
	unlink(path);
}

static char dumped[4096];

static void
collect(const char *line)
{
	strncat(dumped, line, sizeof(dumped) - strlen(dumped) - 2);
	strcat(dumped, "\n");
}

static void
dump_hides_secrets(void **state)
{
	(void)state;
	char *env[] = {"DATABASE_URL=postgres://u:pw@h/db", "TELEGRAM_BOT_TOKEN=1:SECRETTOKEN",
	    "ADMIN_TOKEN=0123456789abcdefXYZ", NULL};
	struct config c;

	assert_int_equal(load(&c, env), 0);
	dumped[0] = '\0';
	config_dump(&c, collect);
	assert_null(strstr(dumped, "SECRETTOKEN"));
	assert_null(strstr(dumped, "pw@h"));
	assert_null(strstr(dumped, "XYZ"));
	assert_non_null(strstr(dumped, "TELEGRAM_BOT_TOKEN=(set)"));
	assert_non_null(strstr(dumped, "FAL_API_KEY=(unset)"));
	config_free(&c);
}

static void
numbers(void **state)
{
	(void)state;
	char *ok[] = {"GEN_GUIDANCE=4.5", "GEN_STEPS=30", NULL};
	char *bad[] = {"GEN_GUIDANCE=lots", NULL};
	char *nan[] = {"GEN_LORA_SCALE=nan", NULL};
	struct config c;

	assert_int_equal(load(&c, ok), 0);
	assert_true(c.gen_guidance > 4.49 && c.gen_guidance < 4.51);
	assert_int_equal(c.gen_steps, 30);
	assert_true(c.gen_finetune_strength > 1.09 && c.gen_finetune_strength < 1.11);
	config_free(&c);
	assert_int_equal(load(&c, bad), -1);
	assert_non_null(strstr(err, "GEN_GUIDANCE"));
	config_free(&c);
	assert_int_equal(load(&c, nan), -1);
	config_free(&c);
}

static void
require_reports_missing(void **state)
{
	(void)state;
	char *env[] = {NULL};
	struct config c;

	assert_int_equal(load(&c, env), 0);
	assert_int_equal(config_require(&c, "TELEGRAM_WEBHOOK_SECRET", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TELEGRAM_WEBHOOK_SECRET"));
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_apply),
		cmocka_unit_test(bad_integer_names_the_variable),
		cmocka_unit_test(near_miss_keys_are_reported),
		cmocka_unit_test(range_checks),
		cmocka_unit_test(test_mode_rules),
		cmocka_unit_test(env_file_is_read_and_environment_wins),
		cmocka_unit_test(dump_hides_secrets),
		cmocka_unit_test(require_reports_missing),
		cmocka_unit_test(numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
