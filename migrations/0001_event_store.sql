-- The event store: postgres-es's `events` table plus what it lacks for a global, gap-safe log.
--
-- postgres-es orders events only within one aggregate (`sequence`). Projections need one order
-- over all events, and positions handed out before commit can commit out of order, so each row
-- also records the id of the transaction that appended it (`tx`). A reader only reads events of
-- transactions older than every transaction still running (see crates/store/src/log.rs).
CREATE TABLE events
(
    aggregate_type  text                         NOT NULL,
    aggregate_id    text                         NOT NULL,
    sequence        bigint CHECK (sequence >= 0) NOT NULL,
    event_type      text                         NOT NULL,
    event_version   text                         NOT NULL,
    payload         json                         NOT NULL,
    metadata        json                         NOT NULL,
    global_position bigserial                    NOT NULL UNIQUE,
    tx              xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at     timestamptz                  NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

-- The global log reader's order and resume key.
CREATE INDEX events_log_order ON events (tx, global_position);

-- Where each projector has read up to, moved in the same transaction as its read-model rows.
CREATE TABLE projection_checkpoints
(
    name       text        NOT NULL,
    version    integer     NOT NULL,
    tx         xid8        NOT NULL DEFAULT '0',
    position   bigint      NOT NULL DEFAULT 0,
    status     text        NOT NULL DEFAULT 'running',
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

-- Surrogate ids the contract exposes (`id`, `tournament_player_id`, team `id`) are allocated
-- before a command runs and carried by its events, so a rebuild reproduces them exactly.
CREATE SEQUENCE tournament_ids;
CREATE SEQUENCE tournament_player_ids;
CREATE SEQUENCE team_ids;
