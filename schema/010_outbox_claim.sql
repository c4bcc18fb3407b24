-- 010_outbox_claim — the sender's claim reads only pending rows: a year of
-- sent notifications stays out of every claim (found at 2,000 completions a
-- second, where the claim scanned the whole table).
CREATE INDEX ix_notifications_pending_unordered ON notifications (id)
    WHERE status = 'pending' AND NOT ordered;
CREATE INDEX ix_notifications_pending_ordered ON notifications (id)
    WHERE status = 'pending' AND ordered;
-- Superseded by the two above; left in place it lured the planner (whose
-- statistics lag a fast-growing queue) into sorting the whole queue.
DROP INDEX ix_notifications_due;
-- A queue: rows come and go hundreds of times a second; vacuum it as
-- soon as a few thousand are dead, not when a fifth of it is.
ALTER TABLE notifications SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000);
