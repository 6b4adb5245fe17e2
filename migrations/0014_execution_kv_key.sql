-- The key whose write started a `kv` execution (docs/ARCHITECTURE.md §9), from its outbox row's
-- event: `GET /api/admin/executions?app=&key=` lists exactly the runs a key's writes triggered.
-- NULL for every other invocation, and for records written before this migration.
ALTER TABLE executions ADD COLUMN kv_key text;

CREATE INDEX executions_by_kv_key ON executions (app_id, kv_key, started_at DESC, id DESC) WHERE kv_key IS NOT NULL;
