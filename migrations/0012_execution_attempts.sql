-- Attempt history (docs/ARCHITECTURE.md §5): each failed attempt of an async execution that is
-- retried, kept with its status, error, duration and logs. It is written in the statement that puts
-- the outbox row back (`retryLater`); the execution's last attempt is its record in `executions`.
-- Not a foreign key: attempts are written before their execution has a record, and are pruned with
-- the records (ExecutionLogSql), or by age when the record never came.
CREATE TABLE execution_attempts (
  execution_id uuid NOT NULL,
  attempt integer NOT NULL,
  status text NOT NULL,
  status_code integer,
  error jsonb,
  started_at timestamptz NOT NULL,
  duration_ms double precision NOT NULL,
  logs jsonb NOT NULL,
  logs_truncated boolean NOT NULL,
  PRIMARY KEY (execution_id, attempt)
);

CREATE INDEX execution_attempts_by_time ON execution_attempts (started_at);
