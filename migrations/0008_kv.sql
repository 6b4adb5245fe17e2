-- Each app's key-value store. Keys sort by UTF-8 bytes (COLLATE "C"): listings page by key in
-- the same order on every server and in the memory store, and a prefix is a range of the index.
-- A deleted key's row is removed: its next creation starts again at version 1.
CREATE TABLE kv (
  app_id uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  key text COLLATE "C" NOT NULL,
  value jsonb NOT NULL,
  version bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, key)
);
