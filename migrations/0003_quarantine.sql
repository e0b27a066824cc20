-- A poison event stops only what it touches (docs/architecture.md, "Poison events and
-- quarantine"). The event log itself is never changed.

-- Events a projector build did not apply: the one it could not apply (`error` says why) and
-- every later event of the same aggregate, held back behind it so that aggregate's events are
-- never applied out of order. Other aggregates keep moving. Dropped with the build.
CREATE TABLE projection_quarantine
(
    build           bigint      NOT NULL REFERENCES projection_checkpoints (build) ON DELETE CASCADE,
    global_position bigint      NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    sequence        bigint      NOT NULL,
    event_type      text        NOT NULL,
    -- why the event could not be applied; NULL for an event held back behind an earlier one
    error           text,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (build, global_position)
);
CREATE INDEX projection_quarantine_aggregate
    ON projection_quarantine (build, aggregate_type, aggregate_id, sequence);

-- An operator's replacement payload for one stored event (`standings events repair`): log
-- readers read it instead of the stored payload, which stays as it was. Registered only when
-- it decodes as the event's type and version.
CREATE TABLE event_repairs
(
    global_position bigint      PRIMARY KEY REFERENCES events (global_position),
    payload         json        NOT NULL,
    reason          text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
