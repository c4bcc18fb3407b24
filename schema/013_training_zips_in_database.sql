-- 013_training_zips_in_database — a training's zip is a large object in
-- the database instead of a file on the server that built it: any node
-- streams it to FAL (GET /media/<name>.zip, check-status), and a shared
-- host needs no public folder.  avatars.zip_path now holds the zip's
-- public name (22 random characters + ".zip"); zip_oid its data.  The
-- data goes when the row lets go of it — zip_path cleared, another zip
-- attached, the row deleted — in the same transaction, whatever the
-- statement that did it.
ALTER TABLE avatars ADD COLUMN zip_oid oid;

CREATE FUNCTION avatar_zip_release() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_oid oid := OLD.zip_oid;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.zip_path IS NULL THEN
            NEW.zip_oid := NULL;
        END IF;
        IF NEW.zip_oid IS NOT DISTINCT FROM old_oid THEN
            RETURN NEW;
        END IF;
    END IF;
    IF old_oid IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_largeobject_metadata WHERE oid = old_oid) THEN
        PERFORM lo_unlink(old_oid);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER avatars_zip_release
    BEFORE UPDATE OF zip_path, zip_oid OR DELETE ON avatars
    FOR EACH ROW EXECUTE FUNCTION avatar_zip_release();

CREATE INDEX ix_avatars_zip_path ON avatars (zip_path) WHERE zip_path IS NOT NULL;
