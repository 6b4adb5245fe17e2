-- Requests accepted before the platform kept its own credentials from scripts were stored with the
-- caller's `Authorization: Bearer` header in plain text. Remove it from what is still queued and
-- from dead letters: a token is kept only as its digest.
UPDATE outbox SET payload = payload #- '{request,headers,authorization}'
  WHERE payload #>> '{request,headers,authorization}' ~* '^bearer\s';
UPDATE dead_letters SET payload = payload #- '{request,headers,authorization}'
  WHERE payload #>> '{request,headers,authorization}' ~* '^bearer\s';
