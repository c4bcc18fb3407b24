-- 014_photo_checks — each photo is checked before a training is paid for
-- (photo_checks.h): decoded, its exposure, sharpness, perceptual hash and,
-- for a portrait, faces measured, and a verdict kept.  NULL: not checked yet.  Only the measures
-- are kept, never the bytes.  Photos stored before this migration were
-- taken as they were: 'ok'.
ALTER TABLE avatar_photos
    ADD COLUMN verdict text DEFAULT 'ok'
        CHECK (verdict IN ('ok', 'not_photo', 'small', 'dark', 'bright', 'blurry',
                           'no_face', 'faces', 'duplicate', 'unreadable')),
    ADD COLUMN check_tries smallint NOT NULL DEFAULT 0 CHECK (check_tries >= 0),
    ADD COLUMN check_claimed_until timestamptz,
    ADD COLUMN phash bigint,
    ADD COLUMN brightness real,
    ADD COLUMN sharpness real,
    ADD COLUMN faces smallint,
    ADD COLUMN same_as bigint REFERENCES avatar_photos(id) ON DELETE SET NULL;
ALTER TABLE avatar_photos ALTER COLUMN verdict DROP DEFAULT;

CREATE INDEX avatar_photos_unchecked ON avatar_photos (id) WHERE verdict IS NULL;
