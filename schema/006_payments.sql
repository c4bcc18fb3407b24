-- 006_payments — Stars payments: one row per successful_payment, keyed by
-- Telegram's charge id (Telegram may deliver the message again; the row and
-- its ledger entry are written once), and the operator's refund of it.
CREATE TABLE payments (
    charge_id     text PRIMARY KEY CHECK (char_length(charge_id) BETWEEN 1 AND 256),
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    telegram_id   bigint NOT NULL,
    credits       integer NOT NULL CHECK (credits > 0),
    stars         integer NOT NULL CHECK (stars > 0),
    payload       text NOT NULL CHECK (octet_length(payload) <= 128),
    created_at    timestamptz NOT NULL DEFAULT now(),
    refunded_at   timestamptz,
    credits_taken integer CHECK (credits_taken >= 0)
);
CREATE INDEX ix_payments_user ON payments (user_id, created_at DESC);
