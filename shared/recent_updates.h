/*
 * recent_updates — the update ids this node answered without writing
 * anything to the database (/help, a menu, a page of the gallery).
 *
 * A turn that changes something claims its update_id in tg_updates, in the
 * transaction of the change.  A turn that only answers writes nothing: its
 * reply rides in the webhook answer.  This table stops a delivery that
 * arrives again although it was answered (a proxy's retry, a test, two at
 * the same instant): its id is found here and it is ignored.  A repeat
 * Telegram makes because the turn failed (a 5xx) is answered: the failed
 * turn took its note back.  One it makes because an answer we gave was
 * lost on the way is ignored too while the node remembers the id (the
 * person asks again) — rare, and not told apart from a proxy's retry.
 *
 * The workers of a node are separate processes: the table is a small file
 * they all map ($AISHA_VAR_DIR/run/recent-updates-v1.shm), one id per slot
 * by hash, written and read with atomic instructions.  It forgets: a newer
 * id that hashes to the same slot replaces an older one, so it holds the
 * last few thousand.  Without AISHA_VAR_DIR it is the process's own.
 */
#ifndef AISHA_RECENT_UPDATES_H
#define AISHA_RECENT_UPDATES_H

#include <stdbool.h>
#include <stdint.h>

/* Maps the node's table (once per process; NULL dir: process-local). */
void recent_updates_open(const char *var_dir);
/* update_id was answered here lately. */
bool recent_updates_seen(int64_t update_id);
/* Notes update_id as answered (before the answer leaves). */
void recent_updates_note(int64_t update_id);
/* Notes update_id unless it is noted already, in one atomic step: true
 * when this call noted it (two deliveries at the same instant: one wins). */
bool recent_updates_claim(int64_t update_id);
/* Takes a note back: the turn failed after all, its repeat must be served. */
void recent_updates_forget(int64_t update_id);

#endif
