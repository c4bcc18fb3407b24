-- 017_callback_answers_unlogged — a button press's answer (the spinner's
-- answerCallbackQuery) lives a fraction of a second: inserted by the turn,
-- claimed by the sender, deleted once Telegram took it.  In notifications
-- each cost five index entries and their WAL (~350 µs of PostgreSQL over
-- its life, most of a press).  It gets its own UNLOGGED table with one
-- index: no WAL.  What that gives up: a crash of PostgreSQL (not a clean
-- restart) empties the table — the answers then pending are lost, which
-- costs a spinner that stops by itself (Telegram gives up on an unanswered
-- query within seconds anyway).  The turn's own claim of the update stays
-- durable.  Answers the previous release queues in notifications (it runs
-- on this schema after a rollback, or until its workers finish) are still
-- sent from there.
CREATE UNLOGGED TABLE callback_answers (
    id               bigserial PRIMARY KEY,
    chat_id          bigint NOT NULL,
    payload          text NOT NULL CHECK (octet_length(payload) <= 16384),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claimed_until    timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
