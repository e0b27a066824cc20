//! Rules of the Tournament aggregate, one test per rule of the contract.

use super::*;
use cqrs_es::test::TestFramework;
use serde_json::json;

type F = TestFramework<Tournament>;
const OWNER: &str = "11111111-1111-1111-1111-111111111111";
const TID: i64 = 7;

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_779_000_000, 0).unwrap()
}

fn day(d: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(1_779_000_000 + d * 86_400, 0)
}

fn owner() -> Actor {
    Actor::User(OWNER.into())
}

fn config() -> TournamentConfig {
    TournamentConfig {
        name: "Hera Invitational".into(),
        leaderboard_id: 3,
        rank_by: RankBy::PeakRating,
        start_date: day(0),
        end_date: day(10),
        prize_pool_cents: Some(100_000),
        host_stream_urls: vec![],
        presentation: json!({}),
    }
}

fn rm_facts() -> Option<LeaderboardFacts> {
    Some(LeaderboardFacts {
        name: "SOLO_RM_RANKED".into(),
        is_ranked: true,
    })
}

fn create_with(config: TournamentConfig, slug: &str, creator: CreatorFacts) -> TournamentCommand {
    TournamentCommand::Create {
        actor: owner(),
        create: Box::new(CreateTournament {
            tournament_id: TID,
            slug: slug.into(),
            config,
            owner: Some(OWNER.into()),
            creator,
            leaderboard: rm_facts(),
            at: at(),
        }),
    }
}

fn allowed() -> CreatorFacts {
    CreatorFacts {
        on_allowlist: true,
        owned_tournaments: 0,
    }
}

fn created() -> Vec<TournamentEvent> {
    vec![
        TournamentEvent::TournamentCreated {
            tournament_id: TID,
            slug: "hera".into(),
            config: config(),
            created_at: at(),
        },
        TournamentEvent::OwnerGranted {
            tournament_id: TID,
            user_id: OWNER.into(),
            granted_at: at(),
        },
    ]
}

fn manage(action: TournamentAction) -> TournamentCommand {
    TournamentCommand::Manage {
        actor: owner(),
        action,
    }
}

fn add_player(id: i64, name: &str, profile_id: Option<i64>) -> TournamentCommand {
    manage(TournamentAction::AddPlayerToRoster {
        tournament_player_id: id,
        name: name.into(),
        profile_id,
        presentation: json!({}),
    })
}

fn player_added(id: i64, name: &str, profile_id: Option<i64>) -> TournamentEvent {
    TournamentEvent::PlayerAddedToRoster {
        tournament_id: TID,
        tournament_player_id: id,
        name: name.into(),
        profile_id,
        presentation: json!({}),
    }
}

fn expect_err(given: Vec<TournamentEvent>, command: TournamentCommand, err: TournamentError) {
    F::with(())
        .given(given)
        .when(command)
        .then_expect_error(err);
}

#[test]
fn create_records_tournament_and_first_owner() {
    F::with(())
        .given_no_previous_events()
        .when(create_with(config(), "hera", allowed()))
        .then_expect_events(created());
}

#[test]
fn create_checks_allowlist_then_ceiling() {
    let not_allowed = CreatorFacts {
        on_allowlist: false,
        owned_tournaments: 10,
    };
    expect_err(
        vec![],
        create_with(config(), "hera", not_allowed),
        TournamentError::NotOnCreatorAllowlist,
    );
    let at_ceiling = CreatorFacts {
        on_allowlist: true,
        owned_tournaments: 10,
    };
    let err = TournamentError::CreatorCeiling(10);
    assert!(err.to_string().contains("owner rows for 10 tournaments"));
    expect_err(vec![], create_with(config(), "hera", at_ceiling), err);
}

#[test]
fn operator_bypasses_allowlist() {
    let command = TournamentCommand::Create {
        actor: Actor::Operator("ops".into()),
        create: Box::new(CreateTournament {
            tournament_id: TID,
            slug: "hera".into(),
            config: config(),
            owner: None,
            creator: CreatorFacts::default(),
            leaderboard: rm_facts(),
            at: at(),
        }),
    };
    F::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_events(vec![created()[0].clone()]);
}

#[test]
fn slug_rules() {
    expect_err(
        vec![],
        create_with(config(), "current", allowed()),
        TournamentError::ReservedSlug,
    );
    expect_err(
        vec![],
        create_with(config(), "Bad_Slug", allowed()),
        TournamentError::InvalidSlug,
    );
    expect_err(
        created(),
        create_with(config(), "hera", allowed()),
        TournamentError::SlugTaken("hera".into()),
    );
}

#[test]
fn a_deleted_slug_can_be_reused() {
    let mut given = created();
    given.push(TournamentEvent::TournamentDeleted { tournament_id: TID });
    F::with(())
        .given(given)
        .when(create_with(config(), "hera", allowed()))
        .then_expect_events(created());
}

#[test]
fn window_must_not_be_inverted() {
    let mut inverted = config();
    inverted.start_date = day(5);
    inverted.end_date = day(1);
    expect_err(
        vec![],
        create_with(inverted, "hera", allowed()),
        TournamentError::WindowInverted,
    );
    // PATCH validates the combined window: a new end before the existing start.
    expect_err(
        created(),
        manage(TournamentAction::Update {
            patch: Box::new(TournamentPatch {
                end_date: Some(day(-1)),
                ..Default::default()
            }),
            leaderboard: None,
        }),
        TournamentError::WindowInverted,
    );
}

#[test]
fn only_supported_ranked_ladders() {
    let mut br = config();
    br.leaderboard_id = 5;
    let command = TournamentCommand::Create {
        actor: owner(),
        create: Box::new(CreateTournament {
            tournament_id: TID,
            slug: "hera".into(),
            config: br,
            owner: Some(OWNER.into()),
            creator: allowed(),
            leaderboard: Some(LeaderboardFacts {
                name: "SOLO_BR_RANKED".into(),
                is_ranked: true,
            }),
            at: at(),
        }),
    };
    let err = TournamentError::UnsupportedLeaderboard {
        id: 5,
        name: "SOLO_BR_RANKED".into(),
    };
    assert_eq!(
        err.to_string(),
        "Leaderboard 5 (SOLO_BR_RANKED) is not a supported tournament ladder; supported: the ranked solo and team RM/EW/DM boards"
    );
    expect_err(vec![], command, err);

    let unknown = TournamentCommand::Create {
        actor: owner(),
        create: Box::new(CreateTournament {
            leaderboard: None,
            ..match create_with(config(), "hera", allowed()) {
                TournamentCommand::Create { create, .. } => *create,
                TournamentCommand::Manage { .. } => unreachable!(),
            }
        }),
    };
    expect_err(vec![], unknown, TournamentError::UnknownLeaderboard(3));
}

#[test]
fn presentation_and_field_caps() {
    let mut big = config();
    big.presentation = json!({ "bio": "x".repeat(16_384) });
    assert!(matches!(
        F::with(())
            .given_no_previous_events()
            .when(create_with(big, "hera", allowed()))
            .inspect_result(),
        Err(TournamentError::InvalidField(_))
    ));
    let mut urls = config();
    urls.host_stream_urls = vec!["https://twitch.tv/a".into(); 6];
    assert!(matches!(
        F::with(())
            .given_no_previous_events()
            .when(create_with(urls, "hera", allowed()))
            .inspect_result(),
        Err(TournamentError::InvalidField(_))
    ));
    let big_player = manage(TournamentAction::AddPlayerToRoster {
        tournament_player_id: 1,
        name: "Hera".into(),
        profile_id: Some(199325),
        presentation: json!({ "bio": "x".repeat(8_192) }),
    });
    assert!(matches!(
        F::with(())
            .given(created())
            .when(big_player)
            .inspect_result(),
        Err(TournamentError::InvalidField(_))
    ));
}

/// Found by the api's fuzz test: a bag nested ~120 levels deep was appended, and then neither
/// the projector nor the aggregate could read the event back (JSON readers stop at 128).
#[test]
fn presentation_nesting_is_capped() {
    let nested = |depth: usize| -> serde_json::Value {
        let text = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        );
        serde_json::from_str(&text).unwrap()
    };
    let add = |depth| {
        manage(TournamentAction::AddPlayerToRoster {
            tournament_player_id: 1,
            name: "Hera".into(),
            profile_id: None,
            presentation: nested(depth),
        })
    };
    assert_eq!(
        F::with(()).given(created()).when(add(33)).inspect_result(),
        Err(TournamentError::InvalidField(
            "presentation must be nested at most 32 levels deep".into()
        ))
    );
    assert!(F::with(())
        .given(created())
        .when(add(32))
        .inspect_result()
        .is_ok());
    let mut deep = config();
    deep.presentation = nested(120);
    assert!(matches!(
        F::with(())
            .given_no_previous_events()
            .when(create_with(deep, "hera", allowed()))
            .inspect_result(),
        Err(TournamentError::InvalidField(_))
    ));
}

#[test]
fn update_changes_only_what_differs() {
    let patch = TournamentPatch {
        name: Some("Hera Invitational".into()),
        rank_by: Some(RankBy::CurrentRating),
        ..Default::default()
    };
    let mut next = config();
    next.rank_by = RankBy::CurrentRating;
    F::with(())
        .given(created())
        .when(manage(TournamentAction::Update {
            patch: Box::new(patch),
            leaderboard: None,
        }))
        .then_expect_events(vec![TournamentEvent::TournamentUpdated {
            tournament_id: TID,
            config: next,
            changed: vec!["rank_by".into()],
        }]);
    F::with(())
        .given(created())
        .when(manage(TournamentAction::Update {
            patch: Box::default(),
            leaderboard: None,
        }))
        .then_expect_events(vec![]);
}

#[test]
fn missing_tournament_is_404_before_403() {
    let stranger = TournamentCommand::Manage {
        actor: Actor::User("someone-else".into()),
        action: TournamentAction::Delete,
    };
    expect_err(vec![], stranger.clone(), TournamentError::NotFound);
    expect_err(created(), stranger, TournamentError::NotOwnerOfTournament);
}

#[test]
fn owners_grant_revoke_and_last_owner_guard() {
    expect_err(
        created(),
        manage(TournamentAction::GrantOwner {
            user_id: OWNER.into(),
            at: at(),
        }),
        TournamentError::AlreadyOwner,
    );
    expect_err(
        created(),
        manage(TournamentAction::RevokeOwner {
            user_id: OWNER.into(),
        }),
        TournamentError::LastOwner,
    );
    expect_err(
        created(),
        manage(TournamentAction::RevokeOwner {
            user_id: "nobody".into(),
        }),
        TournamentError::NotAnOwner,
    );
    let mut two = created();
    two.push(TournamentEvent::OwnerGranted {
        tournament_id: TID,
        user_id: "second".into(),
        granted_at: at(),
    });
    F::with(())
        .given(two)
        .when(manage(TournamentAction::RevokeOwner {
            user_id: OWNER.into(),
        }))
        .then_expect_events(vec![TournamentEvent::OwnerRevoked {
            tournament_id: TID,
            user_id: OWNER.into(),
        }]);
}

#[test]
fn roster_names_and_profiles_are_unique() {
    let mut given = created();
    given.push(player_added(1, "Hera", Some(199325)));
    expect_err(
        given.clone(),
        add_player(2, "Other", Some(199325)),
        TournamentError::ProfileAlreadyRostered,
    );
    expect_err(
        given.clone(),
        add_player(2, "Hera", None),
        TournamentError::NameAlreadyRostered,
    );
    F::with(())
        .given(given)
        .when(add_player(2, "Placeholder", None))
        .then_expect_events(vec![player_added(2, "Placeholder", None)]);
}

#[test]
fn roster_is_capped_at_100() {
    let mut given = created();
    for i in 0..100 {
        given.push(player_added(i, &format!("p{i}"), Some(1000 + i)));
    }
    expect_err(
        given,
        add_player(100, "one-too-many", None),
        TournamentError::RosterFull,
    );
}

#[test]
fn link_once_and_immutable() {
    let mut given = created();
    given.push(player_added(1, "Placeholder", None));
    given.push(player_added(2, "Hera", Some(199325)));
    let link = |profile_id| {
        manage(TournamentAction::UpdateRosterPlayer {
            tournament_player_id: 1,
            presentation: None,
            profile_id: Some(profile_id),
        })
    };
    F::with(())
        .given(given.clone())
        .when(link(347269))
        .then_expect_events(vec![TournamentEvent::RosterPlayerLinked {
            tournament_id: TID,
            tournament_player_id: 1,
            profile_id: 347269,
        }]);
    expect_err(
        given.clone(),
        link(199325),
        TournamentError::LinkTargetRostered(199325),
    );
    given.push(TournamentEvent::RosterPlayerLinked {
        tournament_id: TID,
        tournament_player_id: 1,
        profile_id: 347269,
    });
    expect_err(given.clone(), link(5), TournamentError::LinkImmutable);
    // Re-sending the same link is not a change.
    F::with(())
        .given(given)
        .when(link(347269))
        .then_expect_events(vec![]);
}

fn with_team() -> Vec<TournamentEvent> {
    let mut given = created();
    given.push(player_added(1, "Hera", Some(199325)));
    given.push(player_added(2, "ACCM", Some(347269)));
    given.push(TournamentEvent::TeamCreated {
        tournament_id: TID,
        team_id: 10,
        name: "Vikings".into(),
        initials: "VK".into(),
    });
    given.push(TournamentEvent::TeamMemberAdded {
        tournament_id: TID,
        team_id: 10,
        tournament_player_id: 1,
    });
    given.push(TournamentEvent::TeamMemberAdded {
        tournament_id: TID,
        team_id: 10,
        tournament_player_id: 2,
    });
    given
}

fn set_captain(tournament_player_id: i64) -> TournamentCommand {
    manage(TournamentAction::SetTeamCaptain {
        team_id: 10,
        tournament_player_id,
    })
}

#[test]
fn team_members_and_captain_swap() {
    let given = with_team();
    expect_err(
        given.clone(),
        manage(TournamentAction::AddTeamMember {
            team_id: 10,
            tournament_player_id: 1,
        }),
        TournamentError::AlreadyOnTeam,
    );
    expect_err(
        given.clone(),
        manage(TournamentAction::AddTeamMember {
            team_id: 10,
            tournament_player_id: 99,
        }),
        TournamentError::TeamCandidateNotFound,
    );
    expect_err(given.clone(), set_captain(99), TournamentError::NotOnTeam);
    let mut with_captain = given;
    with_captain.push(TournamentEvent::TeamCaptainSet {
        tournament_id: TID,
        team_id: 10,
        tournament_player_id: 1,
        previous_captain: None,
    });
    // Setting the current captain again is a no-op; swapping names the previous one.
    F::with(())
        .given(with_captain.clone())
        .when(set_captain(1))
        .then_expect_events(vec![]);
    F::with(())
        .given(with_captain)
        .when(set_captain(2))
        .then_expect_events(vec![TournamentEvent::TeamCaptainSet {
            tournament_id: TID,
            team_id: 10,
            tournament_player_id: 2,
            previous_captain: Some(1),
        }]);
}

#[test]
fn at_most_one_captain_and_removal_clears_it() {
    let mut given = with_team();
    given.push(TournamentEvent::TeamCaptainSet {
        tournament_id: TID,
        team_id: 10,
        tournament_player_id: 1,
        previous_captain: None,
    });
    given.push(TournamentEvent::TeamMemberRemoved {
        tournament_id: TID,
        team_id: 10,
        tournament_player_id: 1,
    });
    // The removed captain left no captain behind: clearing is a no-op.
    F::with(())
        .given(given)
        .when(manage(TournamentAction::ClearTeamCaptain { team_id: 10 }))
        .then_expect_events(vec![]);
}

#[test]
fn joining_a_second_team_leaves_the_first() {
    let mut given = with_team();
    given.push(TournamentEvent::TeamCreated {
        tournament_id: TID,
        team_id: 11,
        name: "Franks".into(),
        initials: "FR".into(),
    });
    F::with(())
        .given(given)
        .when(manage(TournamentAction::AddTeamMember {
            team_id: 11,
            tournament_player_id: 1,
        }))
        .then_expect_events(vec![
            TournamentEvent::TeamMemberRemoved {
                tournament_id: TID,
                team_id: 10,
                tournament_player_id: 1,
            },
            TournamentEvent::TeamMemberAdded {
                tournament_id: TID,
                team_id: 11,
                tournament_player_id: 1,
            },
        ]);
}

#[test]
fn unknown_team_is_404() {
    expect_err(
        created(),
        manage(TournamentAction::DeleteTeam { team_id: 1 }),
        TournamentError::TeamNotFound,
    );
}

#[test]
fn every_error_maps_to_the_contract_status_class() {
    assert_eq!(TournamentError::NotFound.kind(), ErrorKind::NotFound);
    assert_eq!(
        TournamentError::NotOwnerOfTournament.kind(),
        ErrorKind::Forbidden
    );
    assert_eq!(
        TournamentError::SlugTaken("x".into()).kind(),
        ErrorKind::Conflict
    );
    assert_eq!(TournamentError::LastOwner.kind(), ErrorKind::Invalid);
    assert_eq!(TournamentError::LinkImmutable.kind(), ErrorKind::Invalid);
}
