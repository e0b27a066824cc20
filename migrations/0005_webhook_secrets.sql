-- Webhook signing secrets (issue 15). Not in the event log: the log is forever and its audit
-- view is public, so events record only a fingerprint (first 8 hex digits of the secret's
-- SHA-256). Written by the api and the operator CLI when a subscription is registered or its
-- secret rotated; read by the deliverer. A row whose subscription was deleted is harmless.
CREATE TABLE webhook_secrets
(
    subscription_id text        PRIMARY KEY,
    secret          text        NOT NULL,
    rotated_at      timestamptz NOT NULL
);
