-- 001_initial — the whole data model of SPEC "Data".
-- Applied by bin/migrate inside one transaction and recorded in
-- schema_migrations.  Constraints make the bad states impossible rather than
-- merely unlikely: a completed avatar has a result, a training one has a FAL
-- request id, a user cannot hold two photos with one file_unique_id per avatar.

-- The seed's three enums, kept as they were.
CREATE TYPE training_type AS ENUM ('portrait', 'style');
CREATE TYPE finetune_type AS ENUM ('full', 'lora');
CREATE TYPE fal_priority AS ENUM ('speed', 'quality', 'high_res_only');
-- Ours.
CREATE TYPE avatar_status AS ENUM ('draft', 'photos', 'ready', 'queued',
    'submitting', 'training', 'completed', 'error', 'cancelled');
CREATE TYPE gender AS ENUM ('male', 'female');
CREATE TYPE generation_status AS ENUM ('queued', 'submitting', 'running',
    'completed', 'error');
CREATE TYPE notification_status AS ENUM ('pending', 'sent', 'dropped');

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    telegram_id     bigint NOT NULL UNIQUE CHECK (telegram_id > 0),
    username        text CHECK (char_length(username) <= 64),
    first_name      text NOT NULL DEFAULT '' CHECK (char_length(first_name) <= 256),
    last_name       text CHECK (char_length(last_name) <= 256),
    language_code   text CHECK (char_length(language_code) <= 35),
    lang            text NOT NULL DEFAULT 'ru' CHECK (lang IN ('ru', 'en')),
    lang_chosen     boolean NOT NULL DEFAULT false,
    is_blocked      boolean NOT NULL DEFAULT false,
    blocked_at      timestamptz,
    main_avatar_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (is_blocked = (blocked_at IS NOT NULL))
);

CREATE TABLE avatars (
    id                       bigserial PRIMARY KEY,
    user_id                  bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name                     text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 40),
    gender                   gender,
    status                   avatar_status NOT NULL DEFAULT 'draft',
    -- the seed's 18 FAL fields
    training_type            training_type NOT NULL DEFAULT 'portrait',
    fal_request_id           text CHECK (char_length(fal_request_id) BETWEEN 1 AND 200),
    learning_rate            double precision CHECK (learning_rate > 0 AND learning_rate < 1),
    trigger_phrase           text CHECK (char_length(trigger_phrase) <= 100),
    steps                    integer CHECK (steps BETWEEN 1 AND 100000),
    multiresolution_training boolean,
    subject_crop             boolean,
    create_masks             boolean,
    captioning               boolean,
    finetune_type            finetune_type,
    finetune_comment         text CHECK (char_length(finetune_comment) <= 200),
    diffusers_lora_file_url  text,
    config_file_url          text,
    training_logs            text,
    training_error           text,
    webhook_url              text,
    last_status_check        timestamptz,
    fal_response_data        jsonb,
    fal_priority             fal_priority,
    -- what our lifecycle needs
    fal_endpoint             text,
    gateway_request_id       text,
    status_url               text,
    response_url             text,
    cancel_url               text,
    finetune_id              text,
    training_progress        smallint NOT NULL DEFAULT 0
                             CHECK (training_progress BETWEEN 0 AND 100),
    training_started_at      timestamptz,
    training_completed_at    timestamptz,
    queued_at                timestamptz,
    claimed_at               timestamptz,
    attempts                 integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at          timestamptz,
    zip_path                 text,
    progress_chat_id         bigint,
    progress_message_id      bigint,
    progress_edited_at       timestamptz,
    deleted_at               timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'completed'
           OR diffusers_lora_file_url IS NOT NULL OR finetune_id IS NOT NULL),
    CHECK (status NOT IN ('training', 'completed') OR fal_request_id IS NOT NULL),
    CHECK (status NOT IN ('queued', 'submitting', 'training', 'completed')
           OR gender IS NOT NULL),
    CHECK (status <> 'submitting' OR claimed_at IS NOT NULL)
);
CREATE UNIQUE INDEX ix_avatars_fal_request_id ON avatars (fal_request_id);
CREATE INDEX ix_avatars_training_type ON avatars (training_type);
CREATE INDEX ix_avatars_user ON avatars (user_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX ix_avatars_in_flight ON avatars (status, next_attempt_at)
    WHERE status IN ('queued', 'submitting', 'training');

ALTER TABLE users ADD CONSTRAINT users_main_avatar_fk
    FOREIGN KEY (main_avatar_id) REFERENCES avatars(id) ON DELETE SET NULL
    DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE avatar_photos (
    id              bigserial PRIMARY KEY,
    avatar_id       bigint NOT NULL REFERENCES avatars(id) ON DELETE CASCADE,
    file_id         text NOT NULL CHECK (char_length(file_id) BETWEEN 1 AND 256),
    file_unique_id  text NOT NULL CHECK (char_length(file_unique_id) BETWEEN 1 AND 128),
    source          text NOT NULL CHECK (source IN ('photo', 'document')),
    mime_type       text NOT NULL DEFAULT 'image/jpeg'
                    CHECK (mime_type IN ('image/jpeg', 'image/png', 'image/webp')),
    width           integer CHECK (width > 0),
    height          integer CHECK (height > 0),
    file_size       bigint CHECK (file_size BETWEEN 0 AND 20971520),
    media_group_id  text,
    message_id      bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (avatar_id, file_unique_id)
);

CREATE TABLE conversations (
    user_id      bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    state        text NOT NULL DEFAULT 'idle' CHECK (char_length(state) <= 40),
    avatar_id    bigint REFERENCES avatars(id) ON DELETE SET NULL,
    data         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(data) = 'object'),
    version      integer NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Dedupe of Telegram deliveries: one row per update_id, pruned by cron.
CREATE TABLE tg_updates (
    update_id    bigint PRIMARY KEY CHECK (update_id >= 0),
    kind         text NOT NULL DEFAULT '' CHECK (char_length(kind) <= 32),
    telegram_id  bigint,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_tg_updates_received ON tg_updates (received_at);

-- Audit of every call to the FAL webhook, authentic or not.
CREATE TABLE fal_events (
    id             bigserial PRIMARY KEY,
    received_at    timestamptz NOT NULL DEFAULT now(),
    request_id     text CHECK (char_length(request_id) <= 200),
    gateway_request_id text CHECK (char_length(gateway_request_id) <= 200),
    status         text CHECK (char_length(status) <= 32),
    avatar_id      bigint REFERENCES avatars(id) ON DELETE SET NULL,
    generation_id  bigint,
    authentic      boolean NOT NULL,
    outcome        text NOT NULL DEFAULT 'stored' CHECK (char_length(outcome) <= 64),
    payload        jsonb
);
CREATE INDEX ix_fal_events_request ON fal_events (request_id);

CREATE TABLE generations (
    id               bigserial PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    avatar_id        bigint NOT NULL REFERENCES avatars(id) ON DELETE CASCADE,
    chat_id          bigint NOT NULL,
    status           generation_status NOT NULL DEFAULT 'queued',
    template_key     text CHECK (char_length(template_key) <= 40),
    user_prompt      text CHECK (char_length(user_prompt) <= 2000),
    prompt           text NOT NULL CHECK (char_length(prompt) BETWEEN 1 AND 4000),
    aspect_ratio     text NOT NULL DEFAULT '1:1'
                     CHECK (aspect_ratio IN ('1:1', '3:4', '9:16', '4:3', '16:9')),
    num_images       smallint NOT NULL DEFAULT 1 CHECK (num_images BETWEEN 1 AND 4),
    seed             bigint,
    endpoint         text,
    params           jsonb,
    fal_request_id   text UNIQUE,
    status_url       text,
    response_url     text,
    cancel_url       text,
    fal_response_data jsonb,
    error            text,
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz,
    claimed_at       timestamptz,
    message_id       bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    CHECK (status NOT IN ('running', 'completed') OR fal_request_id IS NOT NULL)
);
CREATE INDEX ix_generations_user_active ON generations (user_id)
    WHERE status IN ('queued', 'submitting', 'running');

ALTER TABLE fal_events ADD CONSTRAINT fal_events_generation_fk
    FOREIGN KEY (generation_id) REFERENCES generations(id) ON DELETE SET NULL;

CREATE TABLE generated_images (
    id              bigserial PRIMARY KEY,
    generation_id   bigint NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    avatar_id       bigint REFERENCES avatars(id) ON DELETE SET NULL,
    idx             smallint NOT NULL CHECK (idx BETWEEN 0 AND 3),
    url             text NOT NULL CHECK (url ~ '^https?://'),
    width           integer CHECK (width > 0),
    height          integer CHECK (height > 0),
    content_type    text,
    seed            bigint,
    nsfw            boolean NOT NULL DEFAULT false,
    tg_file_id      text,
    tg_doc_file_id  text,
    share_code      text UNIQUE CHECK (share_code ~ '^[A-Za-z0-9_-]{16,64}$'),
    deleted_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (generation_id, idx)
);
CREATE INDEX ix_generated_images_gallery ON generated_images (user_id, id)
    WHERE deleted_at IS NULL AND NOT nsfw;

-- Outbox: messages to users, written in the transaction of the state change,
-- one row per dedupe_key (e.g. 'avatar:42:completed') so duplicates collapse.
CREATE TABLE notifications (
    id               bigserial PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    chat_id          bigint NOT NULL,
    kind             text NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 40),
    dedupe_key       text NOT NULL UNIQUE CHECK (char_length(dedupe_key) <= 120),
    avatar_id        bigint REFERENCES avatars(id) ON DELETE CASCADE,
    generation_id    bigint REFERENCES generations(id) ON DELETE CASCADE,
    payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
    status           notification_status NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claimed_until    timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    CHECK (status <> 'sent' OR sent_at IS NOT NULL)
);
CREATE INDEX ix_notifications_due ON notifications (next_attempt_at)
    WHERE status = 'pending';

-- FAL's webhook signing keys (JWKS), cached across processes.
CREATE TABLE fal_jwks (
    kid         text PRIMARY KEY,
    x           text NOT NULL CHECK (char_length(x) BETWEEN 40 AND 64),
    fetched_at  timestamptz NOT NULL DEFAULT now()
);

-- Chats where the bot has already said "I work in private chats".
CREATE TABLE group_notices (
    chat_id     bigint PRIMARY KEY,
    noticed_at  timestamptz NOT NULL DEFAULT now()
);
