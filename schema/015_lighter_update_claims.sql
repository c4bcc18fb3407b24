-- 015_lighter_update_claims — every update's dedupe claim inserts a row
-- into tg_updates; its received_at index only serves the weekly prune.  A
-- BRIN index serves that range scan (rows come in time order) and costs an
-- insert almost nothing, where the B-tree added a write to its last page
-- for every update.
DROP INDEX ix_tg_updates_received;
CREATE INDEX ix_tg_updates_received ON tg_updates USING brin (received_at);
