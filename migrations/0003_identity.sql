-- Users, the apps they are granted, and their API tokens (stored as SHA-256 digests only).
CREATE TABLE users (
  id uuid PRIMARY KEY,
  username text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'developer', 'invoker')),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_grants (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  app_id uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, app_id)
);

CREATE TABLE api_tokens (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL,
  digest text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

-- Which app an execution belonged to, so a developer sees the executions of its apps only.
ALTER TABLE executions ADD COLUMN app_id uuid;
UPDATE executions SET app_id = s.app_id FROM scripts s WHERE s.id = executions.script_id;
UPDATE executions SET app_id = '00000000-0000-4000-8000-000000000000' WHERE app_id IS NULL;
ALTER TABLE executions ALTER COLUMN app_id SET NOT NULL;
CREATE INDEX executions_by_app ON executions (app_id, started_at DESC, id DESC);
