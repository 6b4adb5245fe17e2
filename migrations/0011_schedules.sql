-- Cron schedules (docs/ARCHITECTURE.md §5): at each tick of `cron` in `timezone`, `script_id` runs
-- as its registrant. `next_run_at` is the next tick (NULL while disabled); the scheduler moves it on
-- in the transaction that writes the tick's outbox row, guarded by its old value, so each tick fires
-- once however many processes share the database. The newest run's execution (`last_execution_id`)
-- tells whether it is still queued or running (the outbox row of that id), for `overlap = 'skip'`.
-- As with triggers: both scripts are the app's (keys on (app_id, script id)); a schedule goes with
-- the script it runs and with its app; a deleted dead-letter handler is cleared by the application
-- first; the registrant is not a foreign key (a schedule outlives its registrant, whose runs are
-- refused at run time with `principal_revoked`).
CREATE TABLE schedules (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  name text NOT NULL,
  cron text NOT NULL,
  timezone text NOT NULL,
  script_id uuid NOT NULL,
  retry jsonb NOT NULL,
  dead_letter_script_id uuid,
  missed text NOT NULL CHECK (missed IN ('skip', 'once', 'all')),
  overlap text NOT NULL CHECK (overlap IN ('allow', 'skip')),
  enabled boolean NOT NULL,
  registrant_user_id uuid NOT NULL,
  next_run_at timestamptz,
  skipped_ticks bigint NOT NULL DEFAULT 0,
  last_execution_id uuid,
  last_scheduled_at timestamptz,
  last_fired_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, name),
  CHECK (enabled OR next_run_at IS NULL),
  FOREIGN KEY (app_id, script_id) REFERENCES scripts (app_id, id) ON DELETE CASCADE,
  FOREIGN KEY (app_id, dead_letter_script_id) REFERENCES scripts (app_id, id)
);

-- The scheduler's one read: the due schedules and the earliest one to come.
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE next_run_at IS NOT NULL;
-- What deleting a script looks up (the foreign keys' checks included).
CREATE INDEX schedules_by_script ON schedules (script_id);
CREATE INDEX schedules_by_dead_letter_script ON schedules (dead_letter_script_id) WHERE dead_letter_script_id IS NOT NULL;
