-- The core read model: tournaments, owners, creators, rosters, teams, polled profiles and
-- ratings, matches, live lobbies, the catalog, and stream channels (which
-- channels the tournaments name, which are live). Written only by the `core` projector
-- (crates/projections/src/core.rs) from events; rebuilt from position 0 into a fresh schema.
-- Unqualified names: the runner creates these in the projector version's own schema.

CREATE TABLE tournaments
(
    id               bigint PRIMARY KEY,
    slug             text        NOT NULL UNIQUE,
    name             text        NOT NULL,
    leaderboard_id   bigint      NOT NULL,
    rank_by          text        NOT NULL,
    start_date       timestamptz,
    end_date         timestamptz,
    prize_pool_cents bigint,
    host_stream_urls jsonb       NOT NULL,
    presentation     jsonb       NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX tournaments_created_at ON tournaments (created_at DESC);

CREATE TABLE tournament_owners
(
    tournament_id bigint      NOT NULL REFERENCES tournaments ON DELETE CASCADE,
    user_id       text        NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tournament_id, user_id)
);
CREATE INDEX tournament_owners_user ON tournament_owners (user_id);

CREATE TABLE tournament_creators
(
    user_id    text PRIMARY KEY,
    created_at timestamptz NOT NULL
);

-- The roster ("placeholder" players are rows with no profile_id).
CREATE TABLE tournament_players
(
    id            bigint PRIMARY KEY,
    tournament_id bigint NOT NULL REFERENCES tournaments ON DELETE CASCADE,
    profile_id    bigint,
    name          text   NOT NULL,
    presentation  jsonb  NOT NULL,
    UNIQUE (tournament_id, profile_id),
    UNIQUE (tournament_id, name)
);
CREATE INDEX tournament_players_profile ON tournament_players (profile_id);

CREATE TABLE teams
(
    id            bigint PRIMARY KEY,
    tournament_id bigint NOT NULL REFERENCES tournaments ON DELETE CASCADE,
    name          text   NOT NULL,
    initials      text   NOT NULL
);
CREATE INDEX teams_tournament ON teams (tournament_id);

CREATE TABLE team_members
(
    team_id              bigint  NOT NULL REFERENCES teams ON DELETE CASCADE,
    tournament_player_id bigint  NOT NULL REFERENCES tournament_players ON DELETE CASCADE,
    is_captain           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (team_id, tournament_player_id)
);
CREATE INDEX team_members_player ON team_members (tournament_player_id);
CREATE UNIQUE INDEX team_members_one_captain ON team_members (team_id) WHERE is_captain;

CREATE TABLE players
(
    profile_id bigint PRIMARY KEY,
    alias      text        NOT NULL,
    country    text,
    steam_id   text,
    level      bigint      NOT NULL,
    xp         bigint      NOT NULL,
    region_id  bigint      NOT NULL,
    clan_name  text,
    updated_at timestamptz NOT NULL
);

CREATE TABLE player_ratings
(
    profile_id        bigint      NOT NULL,
    leaderboard_id    bigint      NOT NULL,
    current_rating    bigint      NOT NULL,
    max_rating        bigint      NOT NULL,
    wins              bigint      NOT NULL,
    losses            bigint      NOT NULL,
    streak            bigint      NOT NULL,
    drops             bigint      NOT NULL,
    rank              bigint,
    rank_total        bigint,
    region_rank       bigint,
    region_rank_total bigint,
    last_match_at     timestamptz,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (profile_id, leaderboard_id)
);
CREATE INDEX player_ratings_board ON player_ratings (leaderboard_id, current_rating);

-- Every change of (max_rating, current_rating): the freeze and history computations read it.
CREATE TABLE player_rating_snapshots
(
    profile_id     bigint      NOT NULL,
    leaderboard_id bigint      NOT NULL,
    max_rating     bigint      NOT NULL,
    current_rating bigint,
    observed_at    timestamptz NOT NULL,
    position       bigint      NOT NULL,
    PRIMARY KEY (profile_id, leaderboard_id, position)
);

-- Names of every profile seen in a match (opponents are not tracked). `position`: the log
-- position of the event that last wrote the row (the api reads what changed since a position).
CREATE TABLE profile_aliases
(
    profile_id bigint PRIMARY KEY,
    alias      text        NOT NULL,
    updated_at timestamptz NOT NULL,
    position   bigint      NOT NULL
);
CREATE INDEX profile_aliases_position ON profile_aliases (position);

CREATE TABLE matches
(
    match_id       bigint PRIMARY KEY,
    map_name       text        NOT NULL,
    matchtype_id   bigint      NOT NULL,
    leaderboard_id bigint,
    started_at     timestamptz NOT NULL,
    completed_at   timestamptz,
    description    text,
    state          text        NOT NULL,
    updated_at     timestamptz NOT NULL,
    -- The log position of the event that last wrote the row: a build applies events in log
    -- order, so the api's per-tournament game cache reads only rows past the last position it
    -- saw (crates/api/src/games.rs).
    position       bigint      NOT NULL
);
CREATE INDEX matches_started_at ON matches (started_at DESC);
CREATE INDEX matches_position ON matches (position);
CREATE INDEX matches_state ON matches (state);

-- No foreign key to matches: the projector writes a match before its players, in the same
-- transaction, and never deletes matches; the per-row check cost as much as the insert itself
-- and was the largest single cost of a rebuild (docs/performance.md).
CREATE TABLE match_players
(
    match_id        bigint NOT NULL,
    profile_id      bigint NOT NULL,
    civilization_id bigint NOT NULL,
    team_id         bigint NOT NULL,
    outcome         text,
    old_rating      bigint,
    new_rating      bigint,
    xp_gained       bigint NOT NULL,
    PRIMARY KEY (match_id, profile_id)
);
CREATE INDEX match_players_profile ON match_players (profile_id);

-- Members of lobbies that are open right now.
CREATE TABLE live_match_players
(
    match_id   bigint NOT NULL REFERENCES matches ON DELETE CASCADE,
    profile_id bigint NOT NULL,
    PRIMARY KEY (match_id, profile_id)
);
CREATE INDEX live_match_players_profile ON live_match_players (profile_id);

CREATE TABLE leaderboards
(
    leaderboard_id bigint PRIMARY KEY,
    name           text        NOT NULL,
    is_ranked      boolean     NOT NULL,
    matchtypes     jsonb       NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE civilizations
(
    civilization_id bigint PRIMARY KEY,
    name            text        NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- Stream channels the tournaments name (domain::streams parses the URLs): each roster row's
-- presentation (tournament_player_id set) and each tournament's host_stream_urls
-- (tournament_player_id NULL). Rewritten whenever those change.
CREATE TABLE stream_links
(
    tournament_id        bigint NOT NULL REFERENCES tournaments ON DELETE CASCADE,
    tournament_player_id bigint REFERENCES tournament_players ON DELETE CASCADE,
    platform             text   NOT NULL,
    channel              text   NOT NULL
);
CREATE UNIQUE INDEX stream_links_key
    ON stream_links (tournament_id, coalesce(tournament_player_id, 0), platform, channel);
CREATE INDEX stream_links_channel ON stream_links (platform, channel);
CREATE INDEX stream_links_player ON stream_links (tournament_player_id);

-- Channels broadcasting right now, one row per channel (StreamWentLive, StreamUpdated,
-- StreamWentOffline). Standings and host_stream_live join it through stream_links.
CREATE TABLE live_streams
(
    platform   text        NOT NULL,
    channel    text        NOT NULL,
    title      text,
    category   text,
    started_at timestamptz,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (platform, channel)
);

-- Webhook subscriptions (Tournament events Webhook*; issue 15). `url` is the full endpoint:
-- never shown by public reads (api redacts it). The secret is not here: it is not in the log
-- (public.webhook_secrets, migration 0005). A deleted subscription's row is deleted.
-- `created_position` is the log position of its WebhookRegistered: a deliverer sends only
-- notifications caused by later events.
CREATE TABLE webhook_subscriptions
(
    subscription_id    text        PRIMARY KEY,
    tournament_id      bigint      NOT NULL REFERENCES tournaments ON DELETE CASCADE,
    url                text        NOT NULL,
    format             text        NOT NULL,
    kinds              text[]      NOT NULL,
    description        text,
    paused             boolean     NOT NULL,
    secret_fingerprint text        NOT NULL,
    created_position   bigint      NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX webhook_subscriptions_tournament ON webhook_subscriptions (tournament_id);
