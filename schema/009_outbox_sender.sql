-- 009_outbox_sender — the outbox becomes the path of every Bot API call no
-- request waits for.  An unordered row (a callback query's answer) has no
-- place in its chat's order; the indexes serve the sender's claim: the
-- chat's oldest pending message, and how many it got in the last seconds.
ALTER TABLE notifications ADD COLUMN ordered boolean NOT NULL DEFAULT true;
CREATE INDEX ix_notifications_pending ON notifications (chat_id, id)
    WHERE status = 'pending';
CREATE INDEX ix_notifications_recent ON notifications (chat_id, sent_at)
    WHERE sent_at IS NOT NULL;
