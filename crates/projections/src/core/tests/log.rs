//! The log every equivalence test builds from: events appended straight into `events` with a
//! moving clock, and the seed that hits every fold rule.

use super::*;

/// Appends events straight into `events`, one transaction each, with a moving clock.
pub(super) struct Log {
    pub(super) pool: PgPool,
    pub(super) sequences: HashMap<(String, String), i64>,
    pub(super) minute: i64,
}

impl Log {
    pub(super) fn new(pool: &PgPool) -> Log {
        Log {
            pool: pool.clone(),
            sequences: HashMap::new(),
            minute: 0,
        }
    }

    pub(super) fn now(&mut self) -> DateTime<Utc> {
        self.minute += 1;
        DateTime::from_timestamp(1_779_000_000 + self.minute * 60, 0).unwrap()
    }

    pub(super) async fn push<T: serde::Serialize>(
        &mut self,
        aggregate: &str,
        id: &str,
        event: &T,
    ) -> i64 {
        let payload = serde_json::to_value(event).unwrap();
        let event_type = payload.as_object().unwrap().keys().next().unwrap().clone();
        let at = self.now();
        let sequence = self
            .sequences
            .entry((aggregate.into(), id.into()))
            .or_insert(0);
        *sequence += 1;
        let sequence = *sequence;
        sqlx::query_scalar(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                 event_version, payload, metadata, recorded_at)
             VALUES ($1, $2, $3, $4, '1', $5::text::json, '{}', $6)
             RETURNING global_position",
        )
        .bind(aggregate)
        .bind(id)
        .bind(sequence)
        .bind(event_type)
        .bind(payload.to_string())
        .bind(at)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    pub(super) async fn profile(&mut self, e: ProfileEvent) {
        let id = match &e {
            ProfileEvent::ProfileObserved { profile_id, .. }
            | ProfileEvent::RatingObserved { profile_id, .. }
            | ProfileEvent::RankObserved { profile_id, .. } => *profile_id,
        };
        self.push("Profile", &id.to_string(), &e).await;
    }

    pub(super) async fn identity(&mut self, profile_id: i64, alias: &str, xp: i64) {
        let observed_at = self.now();
        self.profile(ProfileEvent::ProfileObserved {
            profile_id,
            identity: ProfileIdentity {
                alias: alias.into(),
                country: Some("de".into()),
                steam_id: None,
                level: 3,
                xp,
                region_id: 2,
                clan_name: None,
            },
            observed_at,
        })
        .await;
    }

    pub(super) async fn rating(
        &mut self,
        profile_id: i64,
        board: i64,
        rating: i64,
        peak: i64,
        wins: i64,
    ) {
        let observed_at = self.now();
        self.profile(ProfileEvent::RatingObserved {
            profile_id,
            stats: LadderStats {
                leaderboard_id: board,
                rating,
                highest_rating: peak,
                wins,
                losses: 3,
                streak: 1,
                drops: 0,
                rank: Some(500),
                rank_total: Some(1000),
                region_rank: None,
                region_rank_total: None,
                last_match_at: Some(observed_at),
            },
            observed_at,
        })
        .await;
    }

    pub(super) async fn rank(&mut self, profile_id: i64, board: i64, rank: i64) {
        let observed_at = self.now();
        self.profile(ProfileEvent::RankObserved {
            profile_id,
            leaderboard_id: board,
            rank: Some(rank),
            rank_total: Some(1000 + rank),
            region_rank: Some(rank / 2),
            region_rank_total: None,
            observed_at,
        })
        .await;
    }

    /// One `LadderRanksObserved` on `board` with `(profile, rank)` pairs.
    pub(super) async fn ladder(&mut self, board: i64, ranks: &[(i64, i64)]) {
        let observed_at = self.now();
        let e = LadderEvent::LadderRanksObserved {
            leaderboard_id: board,
            observed_at,
            ranks: ranks
                .iter()
                .map(|&(profile_id, rank)| LadderRank {
                    profile_id,
                    rank: Some(rank),
                    rank_total: Some(2000 + rank),
                    region_rank: None,
                    region_rank_total: Some(rank * 3),
                })
                .collect(),
        };
        self.push("Ladder", &ladder_id(board, observed_at), &e)
            .await;
    }

    pub(super) async fn tournament(&mut self, slug: &str, e: TournamentEvent) {
        self.push("Tournament", slug, &e).await;
    }

    pub(super) async fn stream(&mut self, platform: Platform, channel: &str, title: Option<&str>) {
        let observed_at = self.now();
        let c = Channel::new(platform, channel);
        let e = match title {
            Some(t) if t.starts_with('~') => StreamChannelEvent::StreamUpdated {
                platform,
                channel: channel.into(),
                title: Some(t.into()),
                category: None,
                observed_at,
            },
            Some(t) => StreamChannelEvent::StreamWentLive {
                platform,
                channel: channel.into(),
                title: Some(t.into()),
                category: Some("Age of Empires II".into()),
                started_at: Some(observed_at),
                observed_at,
            },
            None => StreamChannelEvent::StreamWentOffline {
                platform,
                channel: channel.into(),
                observed_at,
            },
        };
        self.push("StreamChannel", &c.aggregate_id(), &e).await;
    }

    pub(super) async fn lobby(&mut self, e: LobbyEvent) {
        let id = match &e {
            LobbyEvent::LiveMatchStarted { snapshot, .. }
            | LobbyEvent::LiveMatchUpdated { snapshot, .. } => snapshot.lobby_id,
            LobbyEvent::LiveMatchEnded { lobby_id, .. } => *lobby_id,
        };
        self.push("Lobby", &id.to_string(), &e).await;
    }

    pub(super) async fn open(&mut self, lobby_id: i64, members: &[i64], map: &str, first: bool) {
        let at = self.now();
        let snapshot = LobbySnapshot {
            lobby_id,
            map_name: map.into(),
            description: Some(format!("lobby {lobby_id} on {map}")),
            matchtype_id: 0,
            state: LobbyState::Staging,
            members: members.to_vec(),
        };
        self.lobby(if first {
            LobbyEvent::LiveMatchStarted {
                snapshot,
                started_at: at,
            }
        } else {
            LobbyEvent::LiveMatchUpdated {
                snapshot,
                observed_at: at,
            }
        })
        .await;
    }

    pub(super) async fn end(&mut self, lobby_id: i64) {
        let ended_at = self.now();
        self.lobby(LobbyEvent::LiveMatchEnded { lobby_id, ended_at })
            .await;
    }

    pub(super) async fn finished(
        &mut self,
        match_id: i64,
        players: &[(i64, Option<&str>, i64)],
        done: bool,
    ) {
        let at = self.now();
        let m = FinishedMatch {
            match_id,
            map_name: format!("Arabia {match_id}"),
            matchtype_id: 6,
            leaderboard_id: Some(3),
            started_at: at,
            completed_at: done.then_some(at),
            description: Some("AUTOMATCH".into()),
            players: players
                .iter()
                .enumerate()
                .map(|(i, (profile_id, alias, civ))| MatchPlayer {
                    profile_id: *profile_id,
                    alias: alias.map(str::to_string),
                    civilization_id: *civ,
                    team_id: i as i64 % 2,
                    outcome: Some(if i % 2 == 0 {
                        Outcome::Win
                    } else {
                        Outcome::Loss
                    }),
                    old_rating: Some(1000),
                    new_rating: None,
                    xp_gained: 10,
                })
                .collect(),
        };
        self.push(
            "Match",
            &match_id.to_string(),
            &MatchEvent::MatchFinished(m),
        )
        .await;
    }
}

pub(super) fn config(name: &str) -> TournamentConfig {
    TournamentConfig {
        name: name.into(),
        leaderboard_id: 3,
        rank_by: RankBy::PeakRating,
        start_date: None,
        end_date: None,
        prize_pool_cents: None,
        host_stream_urls: vec![],
        presentation: json!({}),
    }
}

pub(super) async fn seed(log: &mut Log) {
    let at = log.now();
    log.push(
        "Catalog",
        "age2",
        &CatalogEvent::LeaderboardsObserved {
            leaderboards: vec![Leaderboard {
                leaderboard_id: 3,
                name: "RM_1V1".into(),
                is_ranked: true,
                matchtype_ids: vec![6],
            }],
            observed_at: at,
        },
    )
    .await;
    log.push(
        "Operator",
        "creators",
        &OperatorEvent::CreatorGranted {
            user_id: "u1".into(),
            granted_at: at,
        },
    )
    .await;
    let created_at = log.now();
    log.tournament(
        "a",
        TournamentEvent::TournamentCreated {
            tournament_id: 1,
            slug: "a".into(),
            config: config("A Cup"),
            created_at,
        },
    )
    .await;
    for (id, name, profile) in [(11, "A", Some(A)), (12, "B", Some(B)), (13, "TBD", None)] {
        log.tournament(
            "a",
            TournamentEvent::PlayerAddedToRoster {
                tournament_id: 1,
                tournament_player_id: id,
                name: name.into(),
                profile_id: profile,
                presentation: json!({
                    "displayName": name,
                    "streamUrls": [format!("https://twitch.tv/{name}"), "https://youtube.com/@shared"],
                }),
            },
        )
        .await;
    }
    // Stream channels: live, retitled, offline, live again; one named by nobody.
    log.stream(Platform::Twitch, "a", Some("Bo7")).await;
    log.stream(Platform::Youtube, "@shared", Some("Shared"))
        .await;
    log.stream(Platform::Twitch, "nobody", Some("Unlisted"))
        .await;
    log.stream(Platform::Twitch, "a", Some("~Game 2")).await;
    log.tournament(
        "a",
        TournamentEvent::TeamCreated {
            tournament_id: 1,
            team_id: 21,
            name: "Team".into(),
            initials: "T".into(),
        },
    )
    .await;
    log.tournament(
        "a",
        TournamentEvent::TeamMemberAdded {
            tournament_id: 1,
            team_id: 21,
            tournament_player_id: 11,
        },
    )
    .await;

    // Identity and rating rows written several times; snapshots that change and do not.
    log.identity(A, "Ann", 1).await;
    log.identity(A, "Ann", 2).await;
    log.rank(A, 3, 70).await; // no row yet: nothing
    log.ladder(3, &[(A, 71), (C, 8)]).await; // no rows yet: nothing
    log.rating(A, 3, 1000, 1000, 10).await; // snapshot (1000, 1000)
    log.rank(A, 3, 50).await;
    log.rating(A, 3, 1000, 990, 11).await; // same pair (1000, 1000): no snapshot
    log.rank(A, 3, 40).await;
    log.rating(A, 3, 1010, 1010, 12).await; // snapshot (1010, 1010)
    log.rating(A, 3, 1010, 1010, 13).await; // same: none
    log.rating(A, 3, 1000, 1010, 13).await; // snapshot (1010, 1000)
    log.rank(A, 3, 45).await;
    log.rank(C, 3, 9).await; // no row: nothing
    log.rating(B, 4, 900, 0, 1).await; // peak missing: floored, snapshot (900, 900)
    log.rank(B, 4, 30).await;
    log.ladder(4, &[(B, 29), (A, 5)]).await; // A has no row on 4: B only
    log.ladder(3, &[(A, 44), (C, 9)]).await; // over A's rank event, C has no row
    log.ladder(4, &[(B, 28)]).await; // the same key again in the batch
    log.identity(B, "Bob", 5).await;

    // Every other tournament and operator event, among observations: owners, captains (set,
    // moved, cleared), team edits and deletions, a creator revoked.
    let at = log.now();
    for e in [
        TournamentEvent::OwnerGranted {
            tournament_id: 1,
            user_id: "u1".into(),
            granted_at: at,
        },
        TournamentEvent::OwnerGranted {
            tournament_id: 1,
            user_id: "u2".into(),
            granted_at: at,
        },
        TournamentEvent::TeamMemberAdded {
            tournament_id: 1,
            team_id: 21,
            tournament_player_id: 13,
        },
        TournamentEvent::TeamCaptainSet {
            tournament_id: 1,
            team_id: 21,
            tournament_player_id: 13,
            previous_captain: None,
        },
    ] {
        log.tournament("a", e).await;
    }
    log.rank(B, 4, 25).await;
    for e in [
        TournamentEvent::TeamCaptainSet {
            tournament_id: 1,
            team_id: 21,
            tournament_player_id: 11,
            previous_captain: Some(13),
        },
        TournamentEvent::TeamUpdated {
            tournament_id: 1,
            team_id: 21,
            name: "Team (renamed)".into(),
            initials: "TR".into(),
        },
        TournamentEvent::OwnerRevoked {
            tournament_id: 1,
            user_id: "u2".into(),
        },
        TournamentEvent::TeamCreated {
            tournament_id: 1,
            team_id: 22,
            name: "Gone".into(),
            initials: "G".into(),
        },
    ] {
        log.tournament("a", e).await;
    }
    log.identity(B, "Bob", 5).await;
    for e in [
        TournamentEvent::TeamCaptainCleared {
            tournament_id: 1,
            team_id: 21,
            tournament_player_id: 11,
        },
        TournamentEvent::TeamMemberRemoved {
            tournament_id: 1,
            team_id: 21,
            tournament_player_id: 13,
        },
        TournamentEvent::TeamDeleted {
            tournament_id: 1,
            team_id: 22,
        },
    ] {
        log.tournament("a", e).await;
    }
    // Webhook subscriptions: registered, edited, paused, rotated; one deleted.
    let hook = |id: &str| WebhookChanged {
        tournament_id: 1,
        subscription_id: id.into(),
    };
    for e in [
        TournamentEvent::WebhookRegistered(WebhookRegistered {
            tournament_id: 1,
            subscription_id: "w1".into(),
            url: "https://example.com/hook".into(),
            format: WebhookFormat::Json,
            kinds: vec![],
            description: None,
            secret_fingerprint: "00000001".into(),
            registered_at: log.now(),
        }),
        TournamentEvent::WebhookRegistered(WebhookRegistered {
            tournament_id: 1,
            subscription_id: "w2".into(),
            url: "https://discord.com/api/webhooks/1/x".into(),
            format: WebhookFormat::Discord,
            kinds: vec!["lead_change".into()],
            description: Some("results".into()),
            secret_fingerprint: "00000002".into(),
            registered_at: log.now(),
        }),
        TournamentEvent::WebhookEdited(WebhookEdited {
            tournament_id: 1,
            subscription_id: "w1".into(),
            url: "https://example.com/other".into(),
            format: WebhookFormat::Json,
            kinds: vec!["match_finished".into()],
            description: Some("feed".into()),
            changed: vec!["url".into(), "kinds".into(), "description".into()],
        }),
        TournamentEvent::WebhookPaused(hook("w1")),
        TournamentEvent::WebhookSecretRotated(WebhookSecretRotated {
            tournament_id: 1,
            subscription_id: "w1".into(),
            secret_fingerprint: "00000003".into(),
        }),
        TournamentEvent::WebhookPaused(hook("w2")),
        TournamentEvent::WebhookResumed(hook("w2")),
        TournamentEvent::WebhookDeleted(hook("w2")),
    ] {
        log.tournament("a", e).await;
    }
    let at = log.now();
    for e in [
        OperatorEvent::CreatorGranted {
            user_id: "u2".into(),
            granted_at: at,
        },
        OperatorEvent::CreatorRevoked {
            user_id: "u2".into(),
        },
    ] {
        log.push("Operator", "creators", &e).await;
    }

    // A lobby that is played: open, change, the match, a stale listing, the end.
    log.open(5_001, &[A, X], "my map", true).await;
    log.open(5_001, &[A, X, Y], "Arena", false).await;
    log.finished(7_001, &[(A, Some("Ann"), 4), (X, Some("Xavier"), 5)], true)
        .await;
    log.finished(
        5_001,
        &[(A, Some("Ann2"), 6), (X, Some("X"), 7), (A, Some("dup"), 9)],
        true,
    )
    .await;
    log.open(5_001, &[A, X, Y], "Stale", false).await; // never un-completes
    log.end(5_001).await;
    log.open(5_002, &[B, Z], "Nomad", true).await;
    log.finished(
        7_002,
        &[(Z, Some(""), 1), (C, None, 2), (A, Some("Ann3"), 3)],
        true,
    )
    .await;

    // The roster changes mid-batch: C now nudges tournament 1, B no longer does.
    log.tournament(
        "a",
        TournamentEvent::RosterPlayerLinked {
            tournament_id: 1,
            tournament_player_id: 13,
            profile_id: C,
        },
    )
    .await;
    log.rating(C, 3, 1200, 1250, 40).await;
    log.open(5_002, &[B, C, Z], "Nomad", false).await;
    log.tournament(
        "a",
        TournamentEvent::TournamentUpdated {
            tournament_id: 1,
            config: config("A Cup (renamed)"),
            changed: vec!["name".into()],
        },
    )
    .await;
    log.identity(B, "Bobby", 6).await;
    log.stream(Platform::Twitch, "b", Some("B live")).await;
    log.tournament(
        "a",
        TournamentEvent::RosterPlayerUpdated {
            tournament_id: 1,
            tournament_player_id: 11,
            presentation: json!({"displayName": "A", "twitch": "https://twitch.tv/a2"}),
        },
    )
    .await;
    log.stream(Platform::Youtube, "@shared", None).await;
    log.tournament(
        "a",
        TournamentEvent::PlayerRemovedFromRoster {
            tournament_id: 1,
            tournament_player_id: 12,
        },
    )
    .await;
    log.rank(B, 4, 31).await;
    log.ladder(4, &[(B, 27)]).await; // after a roster change
    log.open(5_003, &[B, Z], "Hideout", true).await;

    // A match recorded before its lobby shows up (still in progress), then the lobby.
    log.finished(7_003, &[(A, Some("Ann4"), 8), (Y, Some("Yan"), 9)], false)
        .await;
    log.open(7_003, &[A, Y], "Lobby of 7003", true).await;
    let observed_at = log.now();
    log.push(
        "Catalog",
        "age2",
        &CatalogEvent::CivilizationsObserved {
            civilizations: vec![Civilization {
                civilization_id: 4,
                name: "Bohemians".into(),
            }],
            observed_at,
        },
    )
    .await;
    // The same match again: players keep their first row, the match row the last.
    log.finished(7_001, &[(A, Some("Ann5"), 44), (X, Some("X2"), 55)], true)
        .await;
    log.end(5_002).await;
    log.end(5_003).await;

    // A second tournament takes A: A's next observations nudge both.
    let created_at = log.now();
    log.tournament(
        "b",
        TournamentEvent::TournamentCreated {
            tournament_id: 2,
            slug: "b".into(),
            config: config("B Cup"),
            created_at,
        },
    )
    .await;
    log.tournament(
        "b",
        TournamentEvent::PlayerAddedToRoster {
            tournament_id: 2,
            tournament_player_id: 31,
            name: "A".into(),
            profile_id: Some(A),
            presentation: json!({}),
        },
    )
    .await;
    log.rating(A, 3, 1020, 1020, 14).await;
    log.rank(A, 3, 20).await;
    log.ladder(3, &[(A, 18), (C, 2)]).await; // after a rating row and a rank event
    log.identity(A, "Ann", 3).await;
    log.identity(C, "Cid", 1).await;
    log.open(5_004, &[A, C], "Arabia", true).await;
    let created_at = log.now();
    let mut hosted = config("C Cup");
    hosted.host_stream_urls = vec!["https://twitch.tv/a2".into(), "https://twitch.tv/B".into()];
    log.tournament(
        "c",
        TournamentEvent::TournamentCreated {
            tournament_id: 3,
            slug: "c".into(),
            config: hosted,
            created_at,
        },
    )
    .await;
    log.stream(Platform::Twitch, "a2", Some("A2")).await;
    log.stream(Platform::Twitch, "b", None).await;

    // Tournament 2 is deleted (a roster change): A's next observation nudges tournament 1 only.
    log.tournament("b", TournamentEvent::TournamentDeleted { tournament_id: 2 })
        .await;
    log.identity(A, "Ann", 3).await;
}
