-- 007_hostile_internet — what keeps an anonymous client from using the FAL
-- webhook: a random token per FAL job (only its hash kept), a count of the
-- refused calls per source and minute (over the limit, nothing is stored),
-- and the signatures already seen (a replay within the signature window is
-- refused).  Every table here is pruned by the startup checker.
CREATE TABLE fal_webhook_tokens (
    kind        text NOT NULL CHECK (kind IN ('avatar', 'generation')),
    job_id      bigint NOT NULL,
    token_hash  text NOT NULL CHECK (char_length(token_hash) = 64),
    issued_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, job_id)
);
CREATE INDEX ix_fal_webhook_tokens_issued ON fal_webhook_tokens (issued_at);

CREATE TABLE refused_calls (
    route   text NOT NULL CHECK (char_length(route) <= 32),
    source  text NOT NULL CHECK (char_length(source) <= 64),
    minute  timestamptz NOT NULL,
    n       integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (route, source, minute)
);
CREATE INDEX ix_refused_calls_minute ON refused_calls (minute);

CREATE TABLE fal_signatures_seen (
    request_id  text NOT NULL CHECK (char_length(request_id) <= 200),
    ts          bigint NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, ts)
);
CREATE INDEX ix_fal_signatures_seen_at ON fal_signatures_seen (seen_at);

ALTER TABLE fal_events ADD COLUMN source text CHECK (char_length(source) <= 64);
CREATE INDEX ix_fal_events_received ON fal_events (received_at);

-- The old per-avatar HMAC tokens stop working: the URLs kept lose them (a
-- training in flight is finished by the poller instead).
UPDATE avatars SET webhook_url = regexp_replace(webhook_url, '[?&]token=[^&]*', '')
 WHERE webhook_url LIKE '%token=%';

-- When FAL was first seen running a training: its zip of face photos is
-- removed a minute later (the runner has downloaded it by then).
ALTER TABLE avatars ADD COLUMN in_progress_since timestamptz;
