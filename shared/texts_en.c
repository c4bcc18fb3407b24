/* English texts.  HTML parse mode: only b, i, code, a tags; user text is
 * escaped by the caller before it fills a %s. */
#include "texts.h"

const char *const texts_en[T__COUNT] = {
	[T_WELCOME] = "Hi, <b>%s</b>! I'm Aisha: I'll train your personal AI avatar "
	    "from your photos, then draw you in any style.",
	[T_MENU] = "Main menu — what would you like to do?",
	[T_BTN_MY_AVATARS] = "🧑‍🎨 My avatars",
	[T_BTN_CREATE] = "➕ Create avatar",
	[T_BTN_GENERATE] = "✨ Generate",
	[T_BTN_GALLERY] = "🖼 Gallery",
	[T_BTN_HELP] = "❓ Help",
	[T_BTN_BACK] = "⬅️ Back",
	[T_HELP] = "<b>How it works</b>\n"
	    "1. “Create avatar”: a name, gender, training type and 10–20 of your photos.\n"
	    "2. Training takes about 5–15 minutes — I'll message you when it's done.\n"
	    "3. “Generate”: pick a style or describe an idea, and get your pictures.\n\n"
	    "Commands: /start — menu, /cancel — cancel the current step, "
	    "/language — language, /help — this help.",
	[T_USE_MENU] = "I didn't quite get that. Pick an action from the menu 👇",
	[T_PRIVATE_ONLY] = "I only work in private chats — message me directly.",
	[T_STALE_BUTTON] = "That button is out of date — here is the current menu.",
	[T_SOON] = "This section is coming soon.",
	[T_LANG_CHOOSE] = "Выбери язык / Choose your language:",
	[T_LANG_SET] = "Done, I'll speak English now.",
	[T_NOTHING_TO_CANCEL] = "Nothing to cancel — here is the menu.",
	[T_CMD_START] = "Main menu",
	[T_CMD_HELP] = "How to use the bot",
	[T_CMD_CANCEL] = "Cancel the current step",
	[T_CMD_LANGUAGE] = "Change language",
};
