-- Events appended by `standings events import` (crates/store/src/transfer.rs), by their identity
-- in the deployment they came from. A second import of the same file finds every event here and
-- appends nothing; an import of a later export of the same tournament appends only what is new.
CREATE TABLE event_imports
(
    source_aggregate_type text        NOT NULL,
    source_aggregate_id   text        NOT NULL,
    source_sequence       bigint      NOT NULL,
    -- With the aggregate and sequence, tells one deployment's event from another's.
    source_recorded_at    timestamptz NOT NULL,
    source_position       bigint      NOT NULL,
    global_position       bigint      NOT NULL UNIQUE REFERENCES events (global_position),
    imported_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_aggregate_type, source_aggregate_id, source_sequence, source_recorded_at)
);

-- The surrogate ids an import kept or replaced (kind: tournament | tournament_player | team),
-- per imported tournament (its slug here). Later imports of the same tournament reuse them.
CREATE TABLE event_import_ids
(
    tournament text   NOT NULL,
    kind       text   NOT NULL,
    source_id  bigint NOT NULL,
    target_id  bigint NOT NULL,
    PRIMARY KEY (tournament, kind, source_id)
);
