-- The notifications read model: one row per notification derived from the log (see
-- docs/notifications.md, "Kinds and payloads"), plus the projector's own state. Written only by
-- the `notifications` projector (crates/projections/src/notifications/); rebuilt from position 0
-- into a fresh schema, where it reproduces the same rows, ids and bodies.
-- Only `notifications` is exposed (as `live.notifications`); the `notify_*` tables are state.

CREATE TABLE notifications
(
    id            text PRIMARY KEY,
    tournament_id bigint      NOT NULL,
    kind          text        NOT NULL,
    position      bigint      NOT NULL,
    ordinal       int         NOT NULL,
    occurred_at   timestamptz NOT NULL,
    body          jsonb       NOT NULL,
    UNIQUE (tournament_id, position, ordinal)
);

-- Per tournament: config, roster with ratings, in-window peaks, games and live lobbies, the
-- leader and the window state (serde JSON of `model::Tournament`). `next_boundary` is the window
-- boundary still to be announced (start, then end), so a batch loads only the tournaments whose
-- boundary it may cross.
CREATE TABLE notify_tournaments
(
    tournament_id bigint PRIMARY KEY,
    state         jsonb NOT NULL,
    next_boundary timestamptz
);
CREATE INDEX notify_tournaments_next_boundary ON notify_tournaments (next_boundary)
    WHERE next_boundary IS NOT NULL;

-- Which tournaments a profile is rostered in (derived from the states above).
CREATE TABLE notify_roster
(
    profile_id    bigint NOT NULL,
    tournament_id bigint NOT NULL,
    PRIMARY KEY (profile_id, tournament_id)
);

-- The latest rating of every observed profile per ladder: a player linked later starts from it.
CREATE TABLE notify_ratings
(
    profile_id     bigint NOT NULL,
    leaderboard_id bigint NOT NULL,
    current_rating bigint NOT NULL,
    max_rating     bigint NOT NULL,
    PRIMARY KEY (profile_id, leaderboard_id)
);

-- Members of each open lobby (`LiveMatchEnded` names only the lobby).
CREATE TABLE notify_lobbies
(
    lobby_id bigint PRIMARY KEY,
    members  bigint[] NOT NULL
);

-- Civilization names from the catalog, for `match_finished` bodies.
CREATE TABLE notify_civilizations
(
    civilization_id bigint PRIMARY KEY,
    name            text NOT NULL
);

-- Stream channels roster rows name (derived from the states above), and the channels live now.
CREATE TABLE notify_channels
(
    channel       text   NOT NULL,
    tournament_id bigint NOT NULL,
    PRIMARY KEY (channel, tournament_id)
);

CREATE TABLE notify_live_channels
(
    channel text PRIMARY KEY
);
