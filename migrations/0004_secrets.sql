-- Per-app secrets, encrypted at rest (AES-256-GCM under PICLOUD_SECRET_KEY); never stored in plain text.
CREATE TABLE secrets (
  app_id uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  name text NOT NULL,
  ciphertext text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, name)
);
