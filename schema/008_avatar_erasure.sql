-- 008_avatar_erasure — deleting an avatar erases what it knew about the
-- person: the photos' Telegram file ids, the trained weights' URLs and every
-- FAL field (request ids, URLs, logs, answers), the name, and its webhook
-- audit.  What stays is what accounting needs: the row id, its owner, its
-- kind and status, when it was trained (the daily limits and the FAL budget
-- count those) and its charge reference (the ledger's entries point at it).
-- The checks that a trained avatar has weights and a request now hold for
-- avatars that are not deleted.
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = 'avatars'::regclass AND contype = 'c'
              AND (pg_get_constraintdef(oid) LIKE '%diffusers_lora_file_url%'
                   OR pg_get_constraintdef(oid) LIKE '%fal_request_id IS NOT NULL%')
  LOOP
    EXECUTE format('ALTER TABLE avatars DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE avatars ADD CONSTRAINT avatars_completed_has_weights CHECK (
    deleted_at IS NOT NULL OR status <> 'completed'
    OR diffusers_lora_file_url IS NOT NULL OR finetune_id IS NOT NULL);
ALTER TABLE avatars ADD CONSTRAINT avatars_started_has_request CHECK (
    deleted_at IS NOT NULL OR status NOT IN ('training', 'completed')
    OR fal_request_id IS NOT NULL);
