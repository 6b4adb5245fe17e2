-- Routes: (app, method, path pattern) -> script. `shape` is the pattern with parameter names erased,
-- so /a/:x and /a/:y conflict.
CREATE TABLE routes (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  method text NOT NULL,
  path text NOT NULL,
  shape text NOT NULL,
  script_id uuid NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
  dispatch_mode text NOT NULL CHECK (dispatch_mode IN ('sync', 'async')),
  auth text NOT NULL CHECK (auth IN ('none', 'token')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, method, shape)
);
