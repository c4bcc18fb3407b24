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
	[T_CREATE_ASK_NAME] = "What shall we call the avatar? Send a name — up to 40 characters (e.g. “Tom in the studio”).",
	[T_NAME_EMPTY] = "The name can't be empty — send at least one character.",
	[T_NAME_TOO_LONG] = "That name is too long: %d characters at most. Try a shorter one.",
	[T_NAME_BAD_CHARS] = "The name has control characters in it. Send it as plain text.",
	[T_ASK_GENDER] = "Avatar <b>%s</b>. Who is in the photos?",
	[T_BTN_MALE] = "👨 Man",
	[T_BTN_FEMALE] = "👩 Woman",
	[T_ASK_TYPE] = "Choose the training type:\n"
	    "📸 <b>Portrait</b> — faces and selfies, the most accurate likeness.\n"
	    "🎨 <b>Style</b> — artistic looks and full-body pictures.",
	[T_BTN_PORTRAIT] = "📸 Portrait",
	[T_BTN_STYLE] = "🎨 Style",
	[T_BTN_TYPE_INFO] = "ℹ️ More",
	[T_TYPE_INFO] = "<b>📸 Portrait</b> learns from close-ups of your face: best for profile "
	    "pictures, business and studio portraits. Send sharp face photos from different angles.\n\n"
	    "<b>🎨 Style</b> learns the whole look: figure, clothes, manner. Best for artistic "
	    "scenes and full-body pictures. Send varied photos.\n\n"
	    "Pick a type:",
	[T_PHOTOS_ASK] = "Send %d to %d photos where your face is clearly visible (an album or "
	    "files work too). Each at least %d px on the short side.\n\n📸 0 — waiting for photos",
	[T_PHOTOS_PROGRESS] = "📸 %d/%d — %d more",
	[T_PHOTOS_ENOUGH] = "📸 %d photos — that's enough! Send more (up to %d) or tap “Done”.",
	[T_BTN_PHOTOS_DONE] = "✅ Done",
	[T_BTN_CANCEL] = "✖️ Cancel",
	[T_PHOTO_TOO_SMALL] = "That photo is too small: it needs at least %d px on the short side.",
	[T_PHOTO_TOO_BIG] = "That file is over 20 MB — send a smaller photo.",
	[T_PHOTO_DUPLICATE] = "I already have that photo — skipping the repeat.",
	[T_PHOTO_NOT_IMAGE] = "That's not a photo. JPEG, PNG or WebP work.",
	[T_PHOTO_LIMIT] = "That makes %d photos, the maximum — the extra ones were not added.",
	[T_PHOTO_HINT] = "I'm waiting for photos right now (%d of %d so far). Send a photo or tap “Cancel”.",
	[T_PHOTO_NOT_EXPECTED] = "To make an avatar from photos, tap “➕ Create avatar” in the menu.",
	[T_PHOTOS_NEED_MORE] = "%d more photos needed.",
	[T_USE_BUTTONS] = "Pick an option with the buttons above 👆 or send /cancel.",
	[T_SUMMARY] = "<b>Let's check:</b>\n"
	    "Name: <b>%s</b>\nType: %s\nPhotos: %d\nTraining takes about %d min.",
	[T_TYPE_PORTRAIT] = "📸 Portrait",
	[T_TYPE_STYLE] = "🎨 Style",
	[T_GENDER_MALE] = "man",
	[T_GENDER_FEMALE] = "woman",
	[T_BTN_START_TRAINING] = "🚀 Start training",
	[T_BTN_ADD_PHOTOS] = "➕ Add photos",
	[T_QUEUED] = "🚀 Avatar <b>%s</b> is queued for training. It takes about %d min — "
	    "I'll message you when it's ready. You can close the chat meanwhile.",
	[T_ALREADY_QUEUED] = "Training has already started.",
	[T_CANCELLED_CREATE] = "Creating avatar <b>%s</b> was cancelled; its photos are deleted.",
	[T_CANCELLED_CREATE_NONAME] = "Creating the avatar was cancelled.",
	[T_AVATARS_EMPTY] = "You have no avatars yet. Shall we create the first one?",
	[T_AVATARS_LIST] = "<b>Your avatars</b> (%d). Pick one to open it:",
	[T_AVATAR_DETAILS] = "<b>%s</b>\nType: %s\nGender: %s\nStatus: %s\nPhotos: %d\nCreated: %s",
	[T_AVATAR_IS_MAIN] = "⭐ Main avatar",
	[T_AVATAR_ERROR] = "Error: %s",
	[T_BTN_SET_MAIN] = "⭐ Make main",
	[T_BTN_DELETE] = "🗑 Delete",
	[T_BTN_RETRY] = "🔁 Retry training",
	[T_BTN_TO_LIST] = "⬅️ Back to list",
	[T_MAIN_SET] = "⭐ “%s” is now your main avatar.",
	[T_MAIN_NEEDS_COMPLETED] = "Only a trained avatar can be the main one.",
	[T_DELETE_CONFIRM] = "Delete avatar <b>%s</b>? This can't be undone.",
	[T_BTN_DELETE_YES] = "🗑 Yes, delete",
	[T_DELETED] = "Avatar <b>%s</b> was deleted.",
	[T_CANT_DELETE_TRAINING] = "The avatar is training right now — you can delete it once it's done.",
	[T_RETRY_QUEUED] = "🔁 Avatar <b>%s</b> is queued for training again.",
	[T_ST_DRAFT] = "📝 draft",
	[T_ST_PHOTOS] = "📸 uploading photos",
	[T_ST_READY] = "✅ ready to train",
	[T_ST_QUEUED] = "⏳ queued",
	[T_ST_SUBMITTING] = "⏳ starting training",
	[T_ST_TRAINING] = "🧠 training, %d%%",
	[T_ST_COMPLETED] = "✨ ready",
	[T_ST_ERROR] = "⚠️ error",
	[T_ST_CANCELLED] = "✖️ cancelled",
	[T_TRAINING_STARTED] = "🧠 Training of avatar <b>%s</b> has started. It takes about %d min — I'll message you when it's done.",
	[T_TRAINING_PROGRESS] = "🧠 Avatar <b>%s</b> is training: %d%%",
	[T_TRAINING_DONE] = "✨ Avatar <b>%s</b> is ready! You can create pictures with it now.",
	[T_TRAINING_FAILED] = "⚠️ Avatar <b>%s</b> could not be trained: %s\nYou can try again.",
	[T_TRAINING_TIMEOUT] = "⚠️ Training avatar <b>%s</b> took too long and was stopped. You can try again.",
	[T_TRAINING_UNAVAILABLE] = "⚠️ The training service is unavailable right now; avatar <b>%s</b> was not started. Try again a bit later.",
};
