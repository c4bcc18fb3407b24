-- 012_checker_runs — when each cron pass last ran and last succeeded, so
-- /healthz can fail when the status checker has stopped (cron gone, a
-- broken crontab) and /metrics can show it.
CREATE TABLE checker_runs (
    name        text PRIMARY KEY CHECK (name IN ('status', 'startup')),
    last_run_at timestamptz NOT NULL,
    last_ok_at  timestamptz,
    runs        bigint NOT NULL DEFAULT 1 CHECK (runs > 0),
    failures    bigint NOT NULL DEFAULT 0 CHECK (failures >= 0)
);
