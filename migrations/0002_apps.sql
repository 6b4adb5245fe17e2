-- Apps: every script belongs to one. Existing scripts move to the default app; names become unique
-- per app instead of globally.
CREATE TABLE apps (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO apps (id, name) VALUES ('00000000-0000-4000-8000-000000000000', 'default');

ALTER TABLE scripts
  ADD COLUMN app_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000000' REFERENCES apps (id) ON DELETE CASCADE;
ALTER TABLE scripts ALTER COLUMN app_id DROP DEFAULT;
ALTER TABLE scripts DROP CONSTRAINT scripts_name_key;
ALTER TABLE scripts ADD CONSTRAINT scripts_app_name_key UNIQUE (app_id, name);
