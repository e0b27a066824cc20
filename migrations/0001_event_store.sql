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

-- Wake projectors when events commit (delivered at commit, once per transaction).
CREATE FUNCTION notify_events_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('events_appended', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_appended AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION notify_events_appended();

-- Where each build of a projector has read up to, moved in the same transaction as its rows.
-- Each build creates its tables in its own schema (`<name>_b<build>`); the `live` schema holds
-- views onto the build being served, swapped in one transaction when a rebuild catches up.
CREATE TABLE projection_checkpoints
(
    build      bigserial PRIMARY KEY,
    name       text        NOT NULL,
    version    integer     NOT NULL,
    tx         xid8        NOT NULL DEFAULT '0',
    position   bigint      NOT NULL DEFAULT 0,
    events     bigint      NOT NULL DEFAULT 0,
    -- 'building' (catching up, not served) or 'live' (served)
    status     text        NOT NULL DEFAULT 'building',
    -- set when the build failed on an event: it stops there (never skips) until fixed
    parked_at  bigint,
    last_error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX projection_one_live ON projection_checkpoints (name) WHERE status = 'live';

CREATE SCHEMA live;

-- One row per SSE nudge (kind: standings | matches | live), written by the live projector in
-- the same transaction as the rows it announces. Ids are the SSE `id:`; writers serialise on an
-- advisory lock so ids become visible in order, and API replicas read `id > last seen` after
-- every NOTIFY (and after a reconnect) without ever skipping one.
CREATE TABLE nudge_log
(
    id             bigserial PRIMARY KEY,
    kind           text        NOT NULL,
    -- NULL: concerns every tournament
    tournament_ids bigint[],
    position       bigint      NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Surrogate ids the contract exposes (`id`, `tournament_player_id`, team `id`) are allocated
-- before a command runs and carried by its events, so a rebuild reproduces them exactly.
CREATE SEQUENCE tournament_ids;
CREATE SEQUENCE tournament_player_ids;
CREATE SEQUENCE team_ids;
