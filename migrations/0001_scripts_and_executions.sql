-- Scripts and their versions: the current version's source is the row in script_versions with
-- (script_id, scripts.version); older versions are kept.
CREATE TABLE scripts (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  version integer NOT NULL,
  timeout_seconds integer NOT NULL CHECK (timeout_seconds BETWEEN 1 AND 300),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE script_versions (
  script_id uuid NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
  version integer NOT NULL,
  source text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (script_id, version)
);

-- One row per execution. script_id is deliberately not a foreign key: records outlive their script.
CREATE TABLE executions (
  id uuid PRIMARY KEY,
  script_id uuid NOT NULL,
  script_name text NOT NULL,
  script_version integer NOT NULL,
  invocation text NOT NULL,
  status text NOT NULL,
  status_code integer,
  started_at timestamptz NOT NULL,
  duration_ms double precision NOT NULL,
  logs jsonb NOT NULL,
  logs_truncated boolean NOT NULL,
  error jsonb
);

CREATE INDEX executions_by_script ON executions (script_id, started_at DESC, id DESC);
CREATE INDEX executions_by_time ON executions (started_at DESC, id DESC);
