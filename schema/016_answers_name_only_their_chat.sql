-- 016_answers_name_only_their_chat — a button press queues one outbox row,
-- its callback query's answer.  Its user_id made PostgreSQL check the
-- foreign key: a FOR KEY SHARE lock on the person's users row, that is a
-- WAL record and a dirtied page of users (after each checkpoint a whole
-- page image) for every press — half the WAL a press wrote.  An answer
-- needs only its chat and is deleted once delivered, so it names no user;
-- a message (ordered) still must.
ALTER TABLE notifications ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE notifications ADD CONSTRAINT notifications_message_has_user
  CHECK (user_id IS NOT NULL OR NOT ordered);
