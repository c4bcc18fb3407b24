/*
 * setup — one-off Bot API calls an operator (or `make up`) makes: register
 * the webhook, publish the command list, check the token.
 */
#ifndef AISHA_SETUP_H
#define AISHA_SETUP_H

#include "app.h"

int setup_webhook(struct app_ctx *ctx);
int setup_commands(struct app_ctx *ctx);
int setup_get_me(struct app_ctx *ctx);

#endif
