-- 011_generation_status_message — the message that says «🎨 Генерирую…»
-- (the pressed confirmation, edited in place) is known, so the delivery can
-- end it instead of leaving it in the chat after the pictures came.
ALTER TABLE generations ADD COLUMN status_message_id bigint
    CHECK (status_message_id > 0);
