-- 002_photo_progress — the photo count the progress message last showed, so
-- concurrent album items edit it in order and only when it changes.
ALTER TABLE avatars ADD COLUMN photos_shown smallint NOT NULL DEFAULT 0
    CHECK (photos_shown >= 0);
