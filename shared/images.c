/*
 * images — see images.h.
 */
#include "images.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"

struct image_owner {
	int64_t generation_id, user_id, avatar_id;
};

static struct db_stmt st_image = DB_STMT("gen_image",
    "INSERT INTO generated_images (generation_id, user_id, avatar_id, idx, url, width, height,"
    " content_type, seed, nsfw, share_code) VALUES ($1, $2, $3, $4, $5, nullif($6::int, 0),"
    " nullif($7::int, 0), $8, $9, $10, $11) ON CONFLICT (generation_id, idx) DO NOTHING"
    " RETURNING id");
static int
url_ok(const char *s)
{
	return s != NULL && (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) &&
	    strlen(s) < 2000;
}

static int64_t
dimension(const cJSON *img, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(img, name);

	return cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 100000 ?
	    (int64_t)v->valuedouble : 0;
}

/* One picture's row: its id, or 0 when it was stored before, -1. */
static int64_t
store_image(struct db *db, const struct image_owner *o, int idx, const cJSON *img, bool nsfw,
    int64_t seed)
{
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(img, "content_type");
	struct db_params p;
	char code[32];

	auth_random_b64(code, sizeof(code), 16);
	db_params_init(&p);
	db_p_i64(&p, o->generation_id);
	db_p_i64(&p, o->user_id);
	db_p_i64(&p, o->avatar_id);
	db_p_i64(&p, idx);
	db_p_str(&p, cJSON_GetObjectItemCaseSensitive(img, "url")->valuestring);
	db_p_i64(&p, dimension(img, "width"));
	db_p_i64(&p, dimension(img, "height"));
	db_p_str(&p, cJSON_IsString(ct) ? ct->valuestring : "image/jpeg");
	db_p_i64(&p, seed);
	db_p_bool(&p, nsfw);
	db_p_str(&p, code);
	PGresult *r = db_run(db, &st_image, &p);
	if (r == NULL)
		return -1;
	int64_t id = PQntuples(r) ? db_i64(r, 0, 0) : 0;
	PQclear(r);
	return id;
}

int
image_store_result(struct db *db, int64_t generation_id, int64_t user_id, int64_t avatar_id,
    int64_t seed_asked, const cJSON *output, struct image_batch *b)
{
	const struct image_owner o = {generation_id, user_id, avatar_id};

	const cJSON *images = cJSON_GetObjectItemCaseSensitive(output, "images");
	const cJSON *nsfw = cJSON_GetObjectItemCaseSensitive(output, "has_nsfw_concepts");
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(output, "seed");
	int64_t s = cJSON_IsNumber(seed) ? (int64_t)seed->valuedouble : seed_asked;
	int idx = 0;

	for (const cJSON *img = cJSON_IsArray(images) ? images->child : NULL;
	    img != NULL && idx < IMAGES_PER_JOB; img = img->next, idx++) {
		const cJSON *url = cJSON_GetObjectItemCaseSensitive(img, "url");
		bool bad = cJSON_IsTrue(cJSON_GetArrayItem(nsfw, idx));
		if (!cJSON_IsString(url) || !url_ok(url->valuestring))
			continue;
		int64_t id = store_image(db, &o, idx, img, bad, s);
		if (id < 0)
			return -1;
		if (id && bad) {
			b->hidden++;
		} else if (id) {
			b->ids[b->shown] = id;
			b->urls[b->shown++] = url->valuestring;
		}
	}
	return 0;
}

/* --- reading them -------------------------------------------------------------- */

#define IMAGE_COLS \
    "i.id, i.generation_id, coalesce(i.avatar_id, 0), i.url, coalesce(i.tg_file_id, ''),"  \
    " coalesce(i.share_code, ''), coalesce(g.template_key, ''), g.aspect_ratio,"         \
    " to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),"                  \
    " coalesce(i.tg_doc_file_id, ''),"                                                    \
    " coalesce((SELECT a.name FROM avatars a WHERE a.id = i.avatar_id"                     \
    "  AND a.deleted_at IS NULL), ''), left(coalesce(g.user_prompt, ''), 200),"          \
    " (SELECT count(*) FROM generated_images o WHERE o.user_id = i.user_id"              \
    "  AND o.deleted_at IS NULL AND NOT o.nsfw AND o.id > i.id), i.user_id"

static struct db_stmt st_img_get = DB_STMT("image_get",
    "SELECT " IMAGE_COLS " FROM generated_images i JOIN generations g ON g.id = i.generation_id"
    " WHERE i.id = $1 AND i.user_id = $2 AND i.deleted_at IS NULL AND NOT i.nsfw");
static struct db_stmt st_img_page = DB_STMT("image_page",
    "SELECT " IMAGE_COLS ", count(*) OVER () FROM generated_images i"
    " JOIN generations g ON g.id = i.generation_id"
    " WHERE i.user_id = $1 AND i.deleted_at IS NULL AND NOT i.nsfw"
    " ORDER BY i.id DESC OFFSET $2 LIMIT 1");
static struct db_stmt st_img_count = DB_STMT("image_count",
    "SELECT count(*) FROM generated_images WHERE user_id = $1 AND deleted_at IS NULL"
    " AND NOT nsfw");
static struct db_stmt st_img_code = DB_STMT("image_by_code",
    "SELECT " IMAGE_COLS " FROM generated_images i JOIN generations g ON g.id = i.generation_id"
    " WHERE i.share_code = $1 AND i.deleted_at IS NULL AND NOT i.nsfw");
static struct db_stmt st_img_delete = DB_STMT("image_delete",
    "UPDATE generated_images SET deleted_at = now(), share_code = NULL"
    " WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL RETURNING id");

static struct db_stmt st_img_doc = DB_STMT("image_doc_file_id",
    "UPDATE generated_images SET tg_doc_file_id = $2 WHERE id = $1");

static void
read_image(const PGresult *r, int i, struct gen_image *m)
{
	memset(m, 0, sizeof(*m));
	m->id = db_i64(r, i, 0);
	m->generation_id = db_i64(r, i, 1);
	m->avatar_id = db_i64(r, i, 2);
	snprintf(m->url, sizeof(m->url), "%s", db_str(r, i, 3));
	snprintf(m->file_id, sizeof(m->file_id), "%s", db_str(r, i, 4));
	snprintf(m->code, sizeof(m->code), "%s", db_str(r, i, 5));
	snprintf(m->template_key, sizeof(m->template_key), "%s", db_str(r, i, 6));
	snprintf(m->aspect, sizeof(m->aspect), "%s", db_str(r, i, 7));
	snprintf(m->created, sizeof(m->created), "%s", db_str(r, i, 8));
	snprintf(m->doc_file_id, sizeof(m->doc_file_id), "%s", db_str(r, i, 9));
	snprintf(m->avatar_name, sizeof(m->avatar_name), "%s", db_str(r, i, 10));
	snprintf(m->user_prompt, sizeof(m->user_prompt), "%s", db_str(r, i, 11));
	m->page = (int)db_i64(r, i, 12);
	m->user_id = db_i64(r, i, 13);
}

static int
one_image(PGresult *r, struct gen_image *out)
{
	if (r == NULL)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		read_image(r, 0, out);
	PQclear(r);
	return found;
}

int
image_get(struct db *db, int64_t id, int64_t user_id, struct gen_image *out)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_i64(&p, user_id);
	return one_image(db_run(db, &st_img_get, &p), out);
}

int
image_page(struct db *db, int64_t user_id, int page, struct gen_image *out, int *total)
{
	struct db_params p;

	*total = 0;
	db_params_init(&p);
	db_p_i64(&p, user_id);
	db_p_i64(&p, page < 0 ? 0 : page);
	PGresult *r = db_run(db, &st_img_page, &p);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		read_image(r, 0, out);
		*total = (int)db_i64(r, 0, 14);
		PQclear(r);
		return 1;
	}
	PQclear(r);
	db_params_init(&p);
	db_p_i64(&p, user_id);
	r = db_run(db, &st_img_count, &p);
	if (r == NULL)
		return -1;
	*total = (int)db_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

int
image_by_code(struct db *db, const char *code, struct gen_image *out)
{
	struct db_params p;

	db_params_init(&p);
	db_p_str(&p, code);
	return one_image(db_run(db, &st_img_code, &p), out);
}

int
image_set_doc_file_id(struct db *db, int64_t id, const char *file_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_str(&p, file_id);
	return db_exec(db, &st_img_doc, &p);
}

int
image_delete(struct db *db, int64_t id, int64_t user_id)
{
	struct db_params p;

	db_params_init(&p);
	db_p_i64(&p, id);
	db_p_i64(&p, user_id);
	PGresult *r = db_run(db, &st_img_delete, &p);
	if (r == NULL)
		return -1;
	int n = PQntuples(r) > 0;
	PQclear(r);
	return n;
}
