-- Causality (docs/ARCHITECTURE.md §5): every execution knows the root of its chain, its parent (the
-- execution whose KV write triggered it, or whose dead letter it handles), its trigger depth and the
-- trigger that started it. A NULL root means the execution is its own root: rows from before this
-- migration are roots, so nothing has to be rewritten.
ALTER TABLE executions
  ADD COLUMN root_execution_id uuid,
  ADD COLUMN parent_execution_id uuid,
  ADD COLUMN trigger_depth integer NOT NULL DEFAULT 0,
  ADD COLUMN trigger_id uuid,
  ADD COLUMN kv_reads integer NOT NULL DEFAULT 0,
  ADD COLUMN kv_writes integer NOT NULL DEFAULT 0;

-- The causal tree walks down by parent.
CREATE INDEX executions_by_parent ON executions (parent_execution_id) WHERE parent_execution_id IS NOT NULL;

-- Queued work carries the lineage its execution will have, and the script that handles its dead
-- letter (if any). Rows written before this migration are HTTP requests: roots, without a handler.
ALTER TABLE outbox
  ADD COLUMN root_execution_id uuid,
  ADD COLUMN parent_execution_id uuid,
  ADD COLUMN trigger_depth integer NOT NULL DEFAULT 0,
  ADD COLUMN trigger_id uuid,
  ADD COLUMN dead_letter_script_id uuid;

-- The causal tree shows queued children of the executions in it.
CREATE INDEX outbox_by_parent ON outbox (parent_execution_id) WHERE parent_execution_id IS NOT NULL;

-- A dead letter keeps its lineage and handler (a replay keeps them too). `resolution`: NULL without
-- a handler, then 'pending' while the handler waits, 'handled' or 'handler_failed' (with
-- `resolution_error`). A replay is shown by `replayed_as`; it no longer overwrites the resolution.
ALTER TABLE dead_letters
  ADD COLUMN root_execution_id uuid,
  ADD COLUMN parent_execution_id uuid,
  ADD COLUMN trigger_depth integer NOT NULL DEFAULT 0,
  ADD COLUMN trigger_id uuid,
  ADD COLUMN dead_letter_script_id uuid,
  ADD COLUMN resolution_error jsonb;

UPDATE dead_letters SET resolution = NULL WHERE resolution = 'replayed';

-- An async route may name a script of its app to run when one of its executions is dead-lettered.
-- Deleting that script leaves the route without a handler.
ALTER TABLE routes
  ADD COLUMN dead_letter_script_id uuid REFERENCES scripts (id) ON DELETE SET NULL;
