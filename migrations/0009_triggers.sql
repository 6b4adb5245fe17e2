-- KV triggers: a write (`ops`: a jsonb array of "set"/"delete") to a key of the app matching
-- `key_pattern` runs `script_id` as its registrant. Both scripts must be the app's: the foreign keys
-- are on (app_id, script id), which needs scripts to be unique on (app_id, id) as well as on id.
-- A trigger goes with the script it runs (as a route does). A deleted dead-letter handler is cleared
-- from its triggers by the application first (a composite key cannot SET NULL one column before
-- PostgreSQL 15); the key only stops a handler from being deleted while a trigger still names it.
-- `registrant_user_id` is deliberately not a foreign key: a trigger outlives its registrant, and
-- its executions are refused at run time (`principal_revoked`) instead of the trigger vanishing.
ALTER TABLE scripts ADD CONSTRAINT scripts_app_id_id_key UNIQUE (app_id, id);

CREATE TABLE triggers (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  script_id uuid NOT NULL,
  key_pattern text NOT NULL,
  ops jsonb NOT NULL CHECK (
    jsonb_typeof(ops) = 'array' AND jsonb_array_length(ops) BETWEEN 1 AND 2 AND ops <@ '["set", "delete"]'
  ),
  retry jsonb NOT NULL,
  dead_letter_script_id uuid,
  enabled boolean NOT NULL,
  registrant_user_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (app_id, script_id) REFERENCES scripts (app_id, id) ON DELETE CASCADE,
  FOREIGN KEY (app_id, dead_letter_script_id) REFERENCES scripts (app_id, id)
);

CREATE INDEX triggers_by_app ON triggers (app_id, created_at, id);
-- What deleting a script looks up (the foreign keys' checks included).
CREATE INDEX triggers_by_script ON triggers (script_id);
CREATE INDEX triggers_by_dead_letter_script ON triggers (dead_letter_script_id) WHERE dead_letter_script_id IS NOT NULL;
