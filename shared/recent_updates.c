#include "recent_updates.h"

#include <stdlib.h>

#include "log.h"
#include "node_file.h"

#define R_BITS 13
#define R_SLOTS (1 << R_BITS)
#define R_MAGIC 0x6169736872753101ULL

struct r_file {
	uint64_t magic;
	int64_t ids[R_SLOTS]; /* 0: empty */
};

static struct r_file *rf;

void
recent_updates_open(const char *var_dir)
{
	if (rf != NULL)
		return;
	rf = node_file_map(var_dir, "recent-updates-v1.shm", sizeof(*rf), R_MAGIC);
	if (rf == NULL && var_dir != NULL && *var_dir != '\0')
		log_warn("cannot map %s/run/recent-updates-v1.shm; repeated deliveries are"
		    " recognised by this process only", var_dir);
	if (rf == NULL)
		rf = calloc(1, sizeof(*rf));
}

static int64_t *
slot(int64_t update_id)
{
	if (rf == NULL)
		recent_updates_open(NULL);
	if (rf == NULL || update_id <= 0)
		return NULL;
	uint64_t h = (uint64_t)update_id * 0x9E3779B97F4A7C15ULL;
	return &rf->ids[h >> (64 - R_BITS)];
}

bool
recent_updates_seen(int64_t update_id)
{
	int64_t *s = slot(update_id);

	return s != NULL && __atomic_load_n(s, __ATOMIC_ACQUIRE) == update_id;
}

void
recent_updates_note(int64_t update_id)
{
	int64_t *s = slot(update_id);

	if (s != NULL)
		__atomic_store_n(s, update_id, __ATOMIC_RELEASE);
}

bool
recent_updates_claim(int64_t update_id)
{
	int64_t *s = slot(update_id);

	if (s == NULL)
		return true;
	int64_t cur = __atomic_load_n(s, __ATOMIC_ACQUIRE);
	do {
		if (cur == update_id)
			return false;
	} while (!__atomic_compare_exchange_n(s, &cur, update_id, false, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE));
	return true;
}

void
recent_updates_forget(int64_t update_id)
{
	int64_t *s = slot(update_id), want = update_id;

	if (s != NULL)
		(void)__atomic_compare_exchange_n(s, &want, 0, false, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE);
}
