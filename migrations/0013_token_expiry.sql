-- A token may expire: the dashboard's sessions do (PICLOUD_SESSION_LIFETIME). NULL: never.
-- An expired token is as good as revoked: never found, never listed.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
