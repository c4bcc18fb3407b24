-- The benchmark's data: realistic volumes so indexes and table growth count.
--   100,000 users (telegram ids 1000000001 .. 1000100000), each with a conversation
--   200,000 avatars (two per user, trained; the first is the user's main one)
--   1,000,000 tg_updates rows (the last week's deliveries, update ids 1 .. 1000000)
--   100,000 generations with one picture each (the gallery)
--   400,000 credit entries (each user's start credits, trainings, generation)
-- The last 10,000 users (1000090001 ..) are in the photo upload step of an
-- eleventh avatar, for the photo benchmark.  Run once on an empty database.
\set ON_ERROR_STOP 1
BEGIN;
INSERT INTO users (id, telegram_id, username, first_name, language_code, lang, lang_chosen,
                   created_at)
SELECT g, 1000000000 + g, 'u' || (1000000000 + g),
       (ARRAY['Алия','Marat','Даша','Ильдар','Sophie','Тимур'])[(1000000000 + g) % 6 + 1],
       CASE WHEN g % 2 = 0 THEN 'ru' ELSE 'en' END, CASE WHEN g % 2 = 0 THEN 'ru' ELSE 'en' END,
       true, now() - (g % 400) * interval '1 day'
FROM generate_series(1, 100000) g;
SELECT setval('users_id_seq', 100000);

INSERT INTO avatars (id, user_id, name, gender, status, training_type, fal_request_id,
                     diffusers_lora_file_url, config_file_url, steps, trigger_phrase,
                     fal_endpoint, training_progress, training_started_at,
                     training_completed_at, created_at)
SELECT a, (a + 1) / 2, 'Avatar ' || a, CASE WHEN a % 3 = 0 THEN 'female' ELSE 'male' END::gender,
       'completed', 'portrait', 'seed-' || a,
       'https://v3.fal.media/files/seed/' || a || '/pytorch_lora_weights.safetensors',
       'https://v3.fal.media/files/seed/' || a || '/config.json', 1000, 'TOK',
       'fal-ai/flux-lora-portrait-trainer', 100, now() - interval '2 days',
       now() - interval '2 days' + interval '9 minutes', now() - interval '2 days'
FROM generate_series(1, 200000) a;
SELECT setval('avatars_id_seq', 200000);
UPDATE users SET main_avatar_id = id * 2 - 1, balance = 90;

INSERT INTO conversations (user_id, state) SELECT g, 'idle' FROM generate_series(1, 100000) g;

INSERT INTO tg_updates (update_id, kind, telegram_id, received_at)
SELECT u, CASE WHEN u % 3 = 0 THEN 'callback_query' ELSE 'message' END,
       1000000000 + (u % 100000) + 1, now() - (u % 600000) * interval '1 second'
FROM generate_series(1, 1000000) u;

INSERT INTO generations (id, user_id, avatar_id, chat_id, status, template_key, prompt,
                         aspect_ratio, num_images, endpoint, fal_request_id, created_at,
                         completed_at)
SELECT g, g, g * 2 - 1, 1000000000 + g, 'completed', 'business',
       'TOK, a portrait in a business suit', '3:4', 1, 'fal-ai/flux-lora', 'seed-gen-' || g,
       now() - interval '1 day', now() - interval '1 day'
FROM generate_series(1, 100000) g;
SELECT setval('generations_id_seq', 100000);
INSERT INTO generated_images (generation_id, user_id, avatar_id, idx, url, width, height,
                              content_type, seed)
SELECT g, g, g * 2 - 1, 0, 'https://v3.fal.media/files/seed/img' || g || '.jpg', 768, 1024,
       'image/jpeg', g
FROM generate_series(1, 100000) g;

-- the credit ledger those users have written: the start credits, the two
-- trainings and the generation (balance 300 - 2 * 100 - 10 = 90)
INSERT INTO credit_entries (user_id, delta, reason, reference, units, balance_after,
                            created_at)
SELECT u, d.delta, d.reason::credit_reason, d.ref || CASE d.reason WHEN 'start' THEN u
       WHEN 'generation' THEN u ELSE u * 2 - d.k END || d.tail, d.units, d.after,
       now() - interval '2 days'
FROM generate_series(1, 100000) u,
     (VALUES (300, 'start', 'user:', '', 0, 300, 0),
             (-100, 'training', 'avatar:', ':0', 1, 200, 1),
             (-100, 'training', 'avatar:', ':0', 1, 100, 0),
             (-10, 'generation', 'generation:', '', 1, 90, 0))
     AS d(delta, reason, ref, tail, units, after, k);

-- the upload step: a fresh avatar and the conversation pointing at it
INSERT INTO avatars (id, user_id, name, gender, status, training_type, progress_chat_id,
                     progress_message_id, created_at)
SELECT 200000 + (g - 90000), g, 'New ' || g, 'female', 'photos', 'portrait', 1000000000 + g,
       5, now()
FROM generate_series(90001, 100000) g;
SELECT setval('avatars_id_seq', 210000);
UPDATE conversations SET state = 'create_photos', avatar_id = 200000 + (user_id - 90000)
WHERE user_id > 90000;
COMMIT;
-- vacuumed here, not by autovacuum halfway through the first figures (its pass
-- over a million fresh rows took half of the machine for tens of seconds)
VACUUM (ANALYZE);
