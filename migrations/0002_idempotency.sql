-- Idempotency-Key replays (seed contract §1.0.6), scoped to the calling user and kept 24 hours.
-- A row is reserved (status NULL) before the handler runs, so two concurrent requests with one
-- key cannot both execute; 5xx answers are not kept (the client may retry).
CREATE TABLE idempotency_keys
(
    user_id      text        NOT NULL,
    key          uuid        NOT NULL,
    -- SHA-256 of "METHOD path body"
    fingerprint  text        NOT NULL,
    status       smallint,
    body         bytea,
    content_type text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
