-- 003_generation_checks — when the poller last asked FAL about a generation,
-- so several pollers never ask twice at once (the same rule as avatars).
ALTER TABLE generations ADD COLUMN last_status_check timestamptz;
CREATE INDEX ix_generations_running ON generations (last_status_check)
    WHERE status = 'running';
