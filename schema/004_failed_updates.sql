-- 004_failed_updates — updates the bot could not handle for a permanent
-- reason (a field it rejects, a constraint the turn broke): recorded and
-- answered 200, so Telegram does not deliver them again and again while
-- backing off the whole webhook.  Transient failures (the database down,
-- a serialization failure, a lock timeout) are answered 5xx instead.
CREATE TABLE failed_updates (
    id          bigserial PRIMARY KEY,
    update_id   bigint NOT NULL UNIQUE CHECK (update_id >= 0),
    kind        text NOT NULL DEFAULT '' CHECK (char_length(kind) <= 32),
    telegram_id bigint,
    error       text NOT NULL CHECK (char_length(error) <= 1000),
    body        text NOT NULL CHECK (octet_length(body) <= 65536),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_failed_updates_created ON failed_updates (created_at);
