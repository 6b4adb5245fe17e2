-- Async dispatch (ARCHITECTURE §5). An outbox row is an accepted execution not yet finished; its id
-- is the execution id. `attempt_count` counts claims, so an execution that was running on a node
-- that died has used an attempt (a script that kills its node ends in dead letters, not a loop).
CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL,
  script_id uuid NOT NULL,
  kind text NOT NULL,
  payload jsonb NOT NULL,
  retry jsonb NOT NULL,
  attempt_count integer NOT NULL DEFAULT 0,
  lease_seconds integer NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  claimed_by text,
  claimed_until timestamptz,
  last_error jsonb,
  accepted_at timestamptz NOT NULL
);

-- The claim query's order; claimed rows stay in it (their lease is checked on the row).
CREATE INDEX outbox_due ON outbox (next_attempt_at);

-- Executions that used up their attempts: the payload and policy are kept, so nothing accepted is
-- lost and a dead letter can be replayed (`replayed_as`: the newest replay's execution id).
CREATE TABLE dead_letters (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL,
  script_id uuid NOT NULL,
  kind text NOT NULL,
  payload jsonb NOT NULL,
  retry jsonb NOT NULL,
  lease_seconds integer NOT NULL,
  attempts integer NOT NULL,
  error jsonb NOT NULL,
  resolution text,
  replayed_as uuid,
  accepted_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX dead_letters_by_app ON dead_letters (app_id, created_at DESC);

-- A caller that waited for a result and went away before it came.
CREATE TABLE abandoned_executions (
  execution_id uuid PRIMARY KEY,
  abandoned_at timestamptz NOT NULL DEFAULT now()
);

-- Idempotency-Key: a repeat within 24 h returns the first execution; `fingerprint` tells a repeat
-- from a different request sent under the same key.
CREATE TABLE idempotency_keys (
  app_id uuid NOT NULL,
  key text NOT NULL,
  execution_id uuid NOT NULL,
  fingerprint text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, key)
);

-- Async executions keep their result (the script's response), when they were accepted, and how
-- many attempts they took.
ALTER TABLE executions
  ADD COLUMN accepted_at timestamptz,
  ADD COLUMN attempts integer NOT NULL DEFAULT 1,
  ADD COLUMN result jsonb;

ALTER TABLE routes
  ADD COLUMN retry jsonb NOT NULL DEFAULT '{"backoff":"exponential","initial_delay_ms":1000,"max_delay_ms":300000,"max_attempts":5,"jitter":true}';
