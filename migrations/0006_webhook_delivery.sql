-- Webhook delivery state (crates/webhooks, docs/notifications.md "Delivery"). Not projector
-- tables: what was sent to whom is a fact about the outside world, kept across rebuilds (a
-- rebuild reproduces the same notification ids, so a cursor stays valid).

-- Per subscription: the last notification (position, ordinal) handled (delivered, skipped
-- or dead-lettered), and the retry state of the one being tried (`retry_id`).
CREATE TABLE webhook_cursors
(
    subscription_id text        PRIMARY KEY,
    position        bigint      NOT NULL DEFAULT 0,
    ordinal         int         NOT NULL DEFAULT -1,
    -- failed attempts at `retry_id` so far (0 when none is being retried)
    attempts        int         NOT NULL DEFAULT 0,
    retry_id        text,
    next_attempt_at timestamptz,
    delivered       bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_cursors_next_attempt ON webhook_cursors (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;

-- The last attempts per subscription (pruned to a bounded number by the worker).
CREATE TABLE webhook_attempts
(
    id              bigserial   PRIMARY KEY,
    subscription_id text        NOT NULL,
    notification_id text        NOT NULL,
    attempt         int         NOT NULL,
    -- delivered | failed | dead_lettered
    outcome         text        NOT NULL,
    status          int,
    error           text,
    latency_ms      int         NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_subscription ON webhook_attempts (subscription_id, id DESC);

-- Notifications a subscription gave up on after the bounded attempts. `requeued`: the owner
-- asked for a replay; the worker tries them again (before newer notifications).
CREATE TABLE webhook_dead_letters
(
    subscription_id text        NOT NULL,
    notification_id text        NOT NULL,
    tournament_id   bigint      NOT NULL,
    position        bigint      NOT NULL,
    ordinal         int         NOT NULL,
    attempts        int         NOT NULL,
    last_error      text        NOT NULL,
    dead_at         timestamptz NOT NULL DEFAULT now(),
    requeued        boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (subscription_id, notification_id)
);
CREATE INDEX webhook_dead_letters_requeued ON webhook_dead_letters (subscription_id, position, ordinal)
    WHERE requeued;
