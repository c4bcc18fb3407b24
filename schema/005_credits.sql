-- 005_credits — the credit ledger.  Every grant, charge and refund is one
-- row of credit_entries, written together with the user's balance under the
-- user's row lock (credit_apply), at most once per (reason, reference):
--   start       'user:ID'                       the credits a new user gets
--   topup       the telegram_payment_charge_id  a pack paid in Telegram Stars
--   training    'avatar:ID:QUEUED_AT_US'        one training per queueing
--   generation  'generation:ID'                 one generation job
--   refund      'REASON:REFERENCE' of a charge  a failed (or NSFW-blocked) job
--   admin       the operator's idempotency key  a grant or a deduction
--   payment_refund  the charge id               Stars refunded by the operator
-- A balance never goes below zero (CHECK), so of two charges that race for
-- the last credits one is refused.  Rows are never changed or deleted.
ALTER TABLE users ADD COLUMN balance integer NOT NULL DEFAULT 0 CHECK (balance >= 0);

CREATE TYPE credit_reason AS ENUM
    ('start', 'topup', 'training', 'generation', 'refund', 'admin', 'payment_refund');

CREATE TABLE credit_entries (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    delta         integer NOT NULL,
    reason        credit_reason NOT NULL,
    reference     text NOT NULL CHECK (char_length(reference) BETWEEN 1 AND 200),
    units         integer NOT NULL DEFAULT 0 CHECK (units >= 0),
    cost_usd      numeric(12, 4) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    note          text CHECK (char_length(note) <= 500),
    balance_after integer NOT NULL CHECK (balance_after >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (reason, reference)
);
CREATE INDEX ix_credit_entries_user ON credit_entries (user_id, id DESC);
CREATE INDEX ix_credit_entries_charges ON credit_entries (created_at)
    WHERE reason IN ('training', 'generation');

-- Append-only: no UPDATE, no DELETE (but a user's own rows go with the user).
CREATE FUNCTION credit_entries_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'credit_entries is append-only';
END $$;
CREATE TRIGGER credit_entries_frozen BEFORE UPDATE OR DELETE ON credit_entries
    FOR EACH ROW EXECUTE FUNCTION credit_entries_frozen();

-- One entry and the balance, under the user's row lock.  outcome: applied,
-- duplicate (this reason and reference was applied before: nothing
-- changes), insufficient (the balance would go below zero: nothing
-- changes), no_user.  balance: the balance after.
CREATE FUNCTION credit_apply(p_user bigint, p_delta integer, p_reason credit_reason,
                             p_ref text, p_units integer, p_cost numeric, p_note text,
                             OUT outcome text, OUT balance integer)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT u.balance INTO balance FROM users u WHERE u.id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'no_user';
        balance := 0;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM credit_entries e WHERE e.reason = p_reason
               AND e.reference = p_ref) THEN
        outcome := 'duplicate';
        RETURN;
    END IF;
    IF credit_apply.balance + p_delta < 0 THEN
        outcome := 'insufficient';
        RETURN;
    END IF;
    balance := credit_apply.balance + p_delta;
    INSERT INTO credit_entries (user_id, delta, reason, reference, units, cost_usd, note,
                                balance_after)
        VALUES (p_user, p_delta, p_reason, p_ref, p_units, p_cost, p_note, credit_apply.balance);
    UPDATE users SET balance = credit_apply.balance, updated_at = now() WHERE id = p_user;
    outcome := 'applied';
END $$;
