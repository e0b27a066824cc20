//! The Tournament aggregate (id: slug): configuration, owners, roster and teams.
//!
//! Every write rule of the contract that concerns one tournament lives here, in the order the
//! contract checks them (404 before 403 before validation before conflicts). Facts from outside
//! the aggregate (creator allowlist, owned-tournament count, leaderboard metadata) arrive in the
//! command; ids (`tournament_id`, `tournament_player_id`, `team_id`) are allocated by the caller
//! so that events carry them and a rebuild reproduces them exactly.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::Actor;
use crate::rules::*;

mod checks;
use checks::{
    apply_patch, check_config, check_leaderboard, check_presentation, check_profile_id,
    check_roster_name, check_team_fields, invalid,
};

pub mod webhooks;
pub use webhooks::{
    Webhook, WebhookChange, WebhookChanged, WebhookEdited, WebhookFormat, WebhookRegistered,
    WebhookRegistration, WebhookSecretRotated, WebhookTarget,
};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// Lifetime peak (`max_rating`) on the tournament ladder: the launch format.
    #[default]
    PeakRating,
    CurrentRating,
}

/// Everything about a tournament a host can edit. Events carry it whole so projections overwrite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TournamentConfig {
    pub name: String,
    pub leaderboard_id: i64,
    pub rank_by: RankBy,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub prize_pool_cents: Option<i64>,
    pub host_stream_urls: Vec<String>,
    pub presentation: Value,
}

/// A partial update: `None` leaves a field alone; for nullable fields `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TournamentPatch {
    pub name: Option<String>,
    pub leaderboard_id: Option<i64>,
    pub rank_by: Option<RankBy>,
    pub start_date: Option<Option<DateTime<Utc>>>,
    pub end_date: Option<Option<DateTime<Utc>>>,
    pub prize_pool_cents: Option<Option<i64>>,
    pub host_stream_urls: Option<Vec<String>>,
    pub presentation: Option<Value>,
}

/// What the deployment knows about a leaderboard (from the catalog read model).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderboardFacts {
    pub name: String,
    pub is_ranked: bool,
}

/// What the caller knows about the creating user (from the creators / owners read models).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CreatorFacts {
    pub on_allowlist: bool,
    pub owned_tournaments: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateTournament {
    pub tournament_id: i64,
    pub slug: String,
    pub config: TournamentConfig,
    /// The first owner. `None` only for operator-created tournaments without an owner yet.
    pub owner: Option<String>,
    pub creator: CreatorFacts,
    /// Facts about `config.leaderboard_id`; `None` when the catalog does not know it.
    pub leaderboard: Option<LeaderboardFacts>,
    pub at: DateTime<Utc>,
}

/// What an owner (or the operator) can do to an existing tournament.
#[derive(Clone, Debug, PartialEq)]
pub enum TournamentAction {
    Update {
        patch: Box<TournamentPatch>,
        /// Facts about the patched `leaderboard_id`, when the patch changes it.
        leaderboard: Option<LeaderboardFacts>,
    },
    Delete,
    GrantOwner {
        user_id: String,
        at: DateTime<Utc>,
    },
    RevokeOwner {
        user_id: String,
    },
    AddPlayerToRoster {
        tournament_player_id: i64,
        name: String,
        profile_id: Option<i64>,
        presentation: Value,
    },
    UpdateRosterPlayer {
        tournament_player_id: i64,
        presentation: Option<Value>,
        profile_id: Option<i64>,
    },
    RemovePlayerFromRoster {
        tournament_player_id: i64,
    },
    CreateTeam {
        team_id: i64,
        name: String,
        initials: String,
    },
    UpdateTeam {
        team_id: i64,
        name: Option<String>,
        initials: Option<String>,
    },
    DeleteTeam {
        team_id: i64,
    },
    AddTeamMember {
        team_id: i64,
        tournament_player_id: i64,
    },
    RemoveTeamMember {
        team_id: i64,
        tournament_player_id: i64,
    },
    SetTeamCaptain {
        team_id: i64,
        tournament_player_id: i64,
    },
    ClearTeamCaptain {
        team_id: i64,
    },
    /// Webhook subscriptions (`tournament/webhooks.rs`).
    RegisterWebhook(Box<WebhookRegistration>),
    ChangeWebhook {
        subscription_id: String,
        change: WebhookChange,
    },
}

/// A command carries who asks for it: ownership is checked here, not in the API.
#[derive(Clone, Debug, PartialEq)]
pub enum TournamentCommand {
    Create {
        actor: Actor,
        create: Box<CreateTournament>,
    },
    Manage {
        actor: Actor,
        action: TournamentAction,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TournamentEvent {
    TournamentCreated {
        tournament_id: i64,
        slug: String,
        config: TournamentConfig,
        created_at: DateTime<Utc>,
    },
    /// `config` is the whole configuration after the update; `changed` names the fields that
    /// differ from before (for the audit trail).
    TournamentUpdated {
        tournament_id: i64,
        config: TournamentConfig,
        changed: Vec<String>,
    },
    TournamentDeleted {
        tournament_id: i64,
    },
    OwnerGranted {
        tournament_id: i64,
        user_id: String,
        granted_at: DateTime<Utc>,
    },
    OwnerRevoked {
        tournament_id: i64,
        user_id: String,
    },
    PlayerAddedToRoster {
        tournament_id: i64,
        tournament_player_id: i64,
        name: String,
        profile_id: Option<i64>,
        presentation: Value,
    },
    PlayerRemovedFromRoster {
        tournament_id: i64,
        tournament_player_id: i64,
    },
    RosterPlayerLinked {
        tournament_id: i64,
        tournament_player_id: i64,
        profile_id: i64,
    },
    RosterPlayerUpdated {
        tournament_id: i64,
        tournament_player_id: i64,
        presentation: Value,
    },
    TeamCreated {
        tournament_id: i64,
        team_id: i64,
        name: String,
        initials: String,
    },
    TeamUpdated {
        tournament_id: i64,
        team_id: i64,
        name: String,
        initials: String,
    },
    TeamDeleted {
        tournament_id: i64,
        team_id: i64,
    },
    TeamMemberAdded {
        tournament_id: i64,
        team_id: i64,
        tournament_player_id: i64,
    },
    /// Also implies the member is no longer captain of that team.
    TeamMemberRemoved {
        tournament_id: i64,
        team_id: i64,
        tournament_player_id: i64,
    },
    TeamCaptainSet {
        tournament_id: i64,
        team_id: i64,
        tournament_player_id: i64,
        previous_captain: Option<i64>,
    },
    TeamCaptainCleared {
        tournament_id: i64,
        team_id: i64,
        tournament_player_id: i64,
    },
    /// Webhook subscriptions (`tournament/webhooks.rs`); the URL is in the payload, the
    /// secret never is.
    WebhookRegistered(WebhookRegistered),
    WebhookEdited(WebhookEdited),
    WebhookPaused(WebhookChanged),
    WebhookResumed(WebhookChanged),
    WebhookDeleted(WebhookChanged),
    WebhookSecretRotated(WebhookSecretRotated),
}

domain_event!(TournamentEvent {
    TournamentCreated,
    TournamentUpdated,
    TournamentDeleted,
    OwnerGranted,
    OwnerRevoked,
    PlayerAddedToRoster,
    PlayerRemovedFromRoster,
    RosterPlayerLinked,
    RosterPlayerUpdated,
    TeamCreated,
    TeamUpdated,
    TeamDeleted,
    TeamMemberAdded,
    TeamMemberRemoved,
    TeamCaptainSet,
    TeamCaptainCleared,
    WebhookRegistered,
    WebhookEdited,
    WebhookPaused,
    WebhookResumed,
    WebhookDeleted,
    WebhookSecretRotated,
});

/// How the API should answer an error: the status class, with the contract's exact text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Forbidden,
    Conflict,
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TournamentError {
    #[error("Tournament not found")]
    NotFound,
    #[error("Not a tournament owner")]
    NotOwnerOfTournament,
    #[error("Tournament creation requires operator approval — this account is not on the creator allowlist")]
    NotOnCreatorAllowlist,
    #[error("This account already holds owner rows for {0} tournaments — the per-creator ceiling is 10. Contact the platform operator if you genuinely need more.")]
    CreatorCeiling(usize),
    #[error("start_date must not be after end_date")]
    WindowInverted,
    #[error("Unknown leaderboard {0} — not present in this deployment's leaderboard metadata (on a fresh deployment the worker may not have loaded leaderboards yet; retry shortly)")]
    UnknownLeaderboard(i64),
    #[error("Leaderboard {id} ({name}) is not a supported tournament ladder; supported: the ranked solo and team RM/EW/DM boards")]
    UnsupportedLeaderboard { id: i64, name: String },
    #[error("Tournament '{0}' already exists")]
    SlugTaken(String),
    #[error("slug 'current' is reserved")]
    ReservedSlug,
    #[error("slug must be 1-64 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")]
    InvalidSlug,
    /// A field outside its allowed shape (length, size, range); the text names the field.
    #[error("{0}")]
    InvalidField(String),
    #[error("User is already an owner")]
    AlreadyOwner,
    #[error("User is not an owner")]
    NotAnOwner,
    #[error("Cannot revoke the last owner — the tournament would become uneditable")]
    LastOwner,
    #[error("Roster is at the 100-row ceiling — contact the platform operator if this tournament genuinely needs more")]
    RosterFull,
    #[error("Player already on the roster")]
    ProfileAlreadyRostered,
    #[error("Name already on the roster")]
    NameAlreadyRostered,
    #[error("Player {0} already on the roster")]
    LinkTargetRostered(i64),
    #[error("profile_id is immutable once linked")]
    LinkImmutable,
    #[error("Player not found in this tournament")]
    RosterPlayerNotFound,
    #[error("Roster player not found in this tournament")]
    TeamCandidateNotFound,
    #[error("Team not found")]
    TeamNotFound,
    #[error("Player already on the team")]
    AlreadyOnTeam,
    #[error("Player not found on this team")]
    NotOnTeam,
    #[error("Webhook not found")]
    WebhookNotFound,
    #[error("Webhook already exists")]
    WebhookExists,
    #[error("A tournament may have at most 20 webhooks")]
    WebhookLimit,
}

impl TournamentError {
    pub fn kind(&self) -> ErrorKind {
        use TournamentError::*;
        match self {
            NotFound
            | NotAnOwner
            | RosterPlayerNotFound
            | TeamCandidateNotFound
            | TeamNotFound
            | NotOnTeam
            | WebhookNotFound => ErrorKind::NotFound,
            NotOwnerOfTournament | NotOnCreatorAllowlist => ErrorKind::Forbidden,
            SlugTaken(_)
            | AlreadyOwner
            | ProfileAlreadyRostered
            | NameAlreadyRostered
            | LinkTargetRostered(_)
            | AlreadyOnTeam
            | WebhookExists => ErrorKind::Conflict,
            CreatorCeiling(_)
            | WindowInverted
            | UnknownLeaderboard(_)
            | UnsupportedLeaderboard { .. }
            | ReservedSlug
            | InvalidSlug
            | InvalidField(_)
            | LastOwner
            | RosterFull
            | LinkImmutable
            | WebhookLimit => ErrorKind::Invalid,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RosterEntry {
    pub name: String,
    pub profile_id: Option<i64>,
    /// Kept so that replaying events up to an instant gives the roster as it was shown then.
    #[serde(default)]
    pub presentation: Value,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TeamState {
    pub name: String,
    pub initials: String,
    pub members: BTreeSet<i64>,
    pub captain: Option<i64>,
}

impl TeamState {
    /// Takes a player off the team; a captain who leaves is no longer captain.
    fn remove_member(&mut self, tournament_player_id: i64) {
        self.members.remove(&tournament_player_id);
        if self.captain == Some(tournament_player_id) {
            self.captain = None;
        }
    }
}

/// Aggregate state: what the rules need, plus roster presentation (for `as_of` replays).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tournament {
    pub tournament_id: Option<i64>,
    pub config: Option<TournamentConfig>,
    pub owners: BTreeSet<String>,
    pub roster: BTreeMap<i64, RosterEntry>,
    pub teams: BTreeMap<i64, TeamState>,
    /// Webhook subscriptions by id.
    #[serde(default)]
    pub webhooks: BTreeMap<String, Webhook>,
}

type Res = Result<(), TournamentError>;

impl Tournament {
    /// The state after `events`, in order (a deletion or a re-creation starts over).
    pub fn replay(events: impl IntoIterator<Item = TournamentEvent>) -> Tournament {
        let mut state = Tournament::default();
        for event in events {
            state.apply(event);
        }
        state
    }

    fn live(&self) -> Option<(i64, &TournamentConfig)> {
        Some((self.tournament_id?, self.config.as_ref()?))
    }

    fn team(&self, team_id: i64) -> Result<&TeamState, TournamentError> {
        self.teams
            .get(&team_id)
            .ok_or(TournamentError::TeamNotFound)
    }

    fn team_of(&self, tournament_player_id: i64) -> Option<i64> {
        self.teams
            .iter()
            .find(|(_, t)| t.members.contains(&tournament_player_id))
            .map(|(&id, _)| id)
    }

    fn decide(&self, command: TournamentCommand) -> Result<Vec<TournamentEvent>, TournamentError> {
        use TournamentAction as A;
        use TournamentEvent as E;
        let (actor, action) = match command {
            TournamentCommand::Create { actor, create } => {
                return self.decide_create(&actor, *create)
            }
            TournamentCommand::Manage { actor, action } => (actor, action),
        };
        // Every other action: 404 for a missing tournament, then 403 for a non-owner.
        let (tid, config) = self.live().ok_or(TournamentError::NotFound)?;
        if let Actor::User(user) = &actor {
            if !self.owners.contains(user) {
                return Err(TournamentError::NotOwnerOfTournament);
            }
        }
        let events = match action {
            A::Update { patch, leaderboard } => {
                let (next, changed) = apply_patch(config, &patch, leaderboard.as_ref())?;
                if changed.is_empty() {
                    vec![]
                } else {
                    vec![E::TournamentUpdated {
                        tournament_id: tid,
                        config: next,
                        changed,
                    }]
                }
            }
            A::Delete => vec![E::TournamentDeleted { tournament_id: tid }],
            A::GrantOwner { user_id, at } => {
                if self.owners.contains(&user_id) {
                    return Err(TournamentError::AlreadyOwner);
                }
                vec![E::OwnerGranted {
                    tournament_id: tid,
                    user_id,
                    granted_at: at,
                }]
            }
            A::RevokeOwner { user_id } => {
                if !self.owners.contains(&user_id) {
                    return Err(TournamentError::NotAnOwner);
                }
                if self.owners.len() <= 1 {
                    return Err(TournamentError::LastOwner);
                }
                vec![E::OwnerRevoked {
                    tournament_id: tid,
                    user_id,
                }]
            }
            A::AddPlayerToRoster {
                tournament_player_id,
                name,
                profile_id,
                presentation,
            } => {
                check_roster_name(&name)?;
                check_profile_id(profile_id)?;
                check_presentation(&presentation, MAX_PLAYER_PRESENTATION_BYTES)?;
                if self.roster.len() >= MAX_ROSTER_ROWS {
                    return Err(TournamentError::RosterFull);
                }
                if let Some(pid) = profile_id {
                    if self.roster.values().any(|r| r.profile_id == Some(pid)) {
                        return Err(TournamentError::ProfileAlreadyRostered);
                    }
                }
                if self.roster.values().any(|r| r.name == name) {
                    return Err(TournamentError::NameAlreadyRostered);
                }
                vec![E::PlayerAddedToRoster {
                    tournament_id: tid,
                    tournament_player_id,
                    name,
                    profile_id,
                    presentation,
                }]
            }
            A::UpdateRosterPlayer {
                tournament_player_id,
                presentation,
                profile_id,
            } => {
                let entry = self
                    .roster
                    .get(&tournament_player_id)
                    .ok_or(TournamentError::RosterPlayerNotFound)?;
                if let Some(p) = &presentation {
                    check_presentation(p, MAX_PLAYER_PRESENTATION_BYTES)?;
                }
                check_profile_id(profile_id)?;
                let mut events = vec![];
                match (profile_id, entry.profile_id) {
                    // Re-sending the value it is already linked to is not a change.
                    (Some(new), Some(old)) if new == old => {}
                    (Some(_), Some(_)) => return Err(TournamentError::LinkImmutable),
                    (Some(new), None) => {
                        if self.roster.values().any(|r| r.profile_id == Some(new)) {
                            return Err(TournamentError::LinkTargetRostered(new));
                        }
                        events.push(E::RosterPlayerLinked {
                            tournament_id: tid,
                            tournament_player_id,
                            profile_id: new,
                        });
                    }
                    (None, _) => {}
                }
                if let Some(presentation) = presentation {
                    events.push(E::RosterPlayerUpdated {
                        tournament_id: tid,
                        tournament_player_id,
                        presentation,
                    });
                }
                events
            }
            A::RemovePlayerFromRoster {
                tournament_player_id,
            } => {
                if !self.roster.contains_key(&tournament_player_id) {
                    return Err(TournamentError::RosterPlayerNotFound);
                }
                vec![E::PlayerRemovedFromRoster {
                    tournament_id: tid,
                    tournament_player_id,
                }]
            }
            A::CreateTeam {
                team_id,
                name,
                initials,
            } => {
                check_team_fields(&name, &initials)?;
                vec![E::TeamCreated {
                    tournament_id: tid,
                    team_id,
                    name,
                    initials,
                }]
            }
            A::UpdateTeam {
                team_id,
                name,
                initials,
            } => {
                let team = self.team(team_id)?;
                let name = name.unwrap_or_else(|| team.name.clone());
                let initials = initials.unwrap_or_else(|| team.initials.clone());
                check_team_fields(&name, &initials)?;
                if name == team.name && initials == team.initials {
                    vec![]
                } else {
                    vec![E::TeamUpdated {
                        tournament_id: tid,
                        team_id,
                        name,
                        initials,
                    }]
                }
            }
            A::DeleteTeam { team_id } => {
                self.team(team_id)?;
                vec![E::TeamDeleted {
                    tournament_id: tid,
                    team_id,
                }]
            }
            A::AddTeamMember {
                team_id,
                tournament_player_id,
            } => {
                let team = self.team(team_id)?;
                if !self.roster.contains_key(&tournament_player_id) {
                    return Err(TournamentError::TeamCandidateNotFound);
                }
                if team.members.contains(&tournament_player_id) {
                    return Err(TournamentError::AlreadyOnTeam);
                }
                // A roster row belongs to at most one team (the original allowed two and its
                // read side silently kept the last): joining a new team leaves the old one.
                let mut events = vec![];
                if let Some(old_team) = self.team_of(tournament_player_id) {
                    events.push(E::TeamMemberRemoved {
                        tournament_id: tid,
                        team_id: old_team,
                        tournament_player_id,
                    });
                }
                events.push(E::TeamMemberAdded {
                    tournament_id: tid,
                    team_id,
                    tournament_player_id,
                });
                events
            }
            A::RemoveTeamMember {
                team_id,
                tournament_player_id,
            } => {
                let team = self.team(team_id)?;
                if !team.members.contains(&tournament_player_id) {
                    return Err(TournamentError::NotOnTeam);
                }
                vec![E::TeamMemberRemoved {
                    tournament_id: tid,
                    team_id,
                    tournament_player_id,
                }]
            }
            A::SetTeamCaptain {
                team_id,
                tournament_player_id,
            } => {
                let team = self.team(team_id)?;
                if !team.members.contains(&tournament_player_id) {
                    return Err(TournamentError::NotOnTeam);
                }
                if team.captain == Some(tournament_player_id) {
                    vec![]
                } else {
                    vec![E::TeamCaptainSet {
                        tournament_id: tid,
                        team_id,
                        tournament_player_id,
                        previous_captain: team.captain,
                    }]
                }
            }
            A::ClearTeamCaptain { team_id } => match self.team(team_id)?.captain {
                None => vec![],
                Some(tournament_player_id) => vec![E::TeamCaptainCleared {
                    tournament_id: tid,
                    team_id,
                    tournament_player_id,
                }],
            },
            A::RegisterWebhook(registration) => self.decide_register_webhook(tid, *registration)?,
            A::ChangeWebhook {
                subscription_id,
                change,
            } => self.decide_change_webhook(tid, subscription_id, change)?,
        };
        Ok(events)
    }

    fn decide_create(
        &self,
        actor: &Actor,
        create: CreateTournament,
    ) -> Result<Vec<TournamentEvent>, TournamentError> {
        // Order of checks follows the contract: allowlist, ceiling, window, ladder, slug.
        if let Actor::User(_) = actor {
            if !create.creator.on_allowlist {
                return Err(TournamentError::NotOnCreatorAllowlist);
            }
            if create.creator.owned_tournaments >= MAX_OWNED_TOURNAMENTS_PER_CREATOR {
                return Err(TournamentError::CreatorCeiling(
                    create.creator.owned_tournaments,
                ));
            }
        }
        if create.slug == RESERVED_SLUG {
            return Err(TournamentError::ReservedSlug);
        }
        if !is_valid_slug(&create.slug) {
            return Err(TournamentError::InvalidSlug);
        }
        check_config(&create.config)?;
        check_leaderboard(create.config.leaderboard_id, create.leaderboard.as_ref())?;
        if self.live().is_some() {
            return Err(TournamentError::SlugTaken(create.slug));
        }
        let tournament_id = create.tournament_id;
        let mut events = vec![TournamentEvent::TournamentCreated {
            tournament_id,
            slug: create.slug,
            config: create.config,
            created_at: create.at,
        }];
        if let Some(owner) = create.owner {
            events.push(TournamentEvent::OwnerGranted {
                tournament_id,
                user_id: owner,
                granted_at: create.at,
            });
        }
        Ok(events)
    }
}

aggregate!(Tournament: TournamentCommand => TournamentEvent, TournamentError);

impl Tournament {
    fn evolve(&mut self, event: TournamentEvent) {
        use TournamentEvent as E;
        if self.evolve_webhook(&event) {
            return;
        }
        match event {
            E::TournamentCreated {
                tournament_id,
                config,
                ..
            } => {
                // A slug freed by a deletion starts over with a fresh tournament.
                *self = Tournament {
                    tournament_id: Some(tournament_id),
                    config: Some(config),
                    ..Tournament::default()
                };
            }
            E::TournamentUpdated { config, .. } => self.config = Some(config),
            E::TournamentDeleted { .. } => *self = Tournament::default(),
            E::OwnerGranted { user_id, .. } => {
                self.owners.insert(user_id);
            }
            E::OwnerRevoked { user_id, .. } => {
                self.owners.remove(&user_id);
            }
            E::PlayerAddedToRoster {
                tournament_player_id,
                name,
                profile_id,
                presentation,
                ..
            } => {
                self.roster.insert(
                    tournament_player_id,
                    RosterEntry {
                        name,
                        profile_id,
                        presentation,
                    },
                );
            }
            E::PlayerRemovedFromRoster {
                tournament_player_id,
                ..
            } => {
                self.roster.remove(&tournament_player_id);
                for team in self.teams.values_mut() {
                    team.remove_member(tournament_player_id);
                }
            }
            E::RosterPlayerLinked {
                tournament_player_id,
                profile_id,
                ..
            } => {
                if let Some(entry) = self.roster.get_mut(&tournament_player_id) {
                    entry.profile_id = Some(profile_id);
                }
            }
            E::RosterPlayerUpdated {
                tournament_player_id,
                presentation,
                ..
            } => {
                if let Some(entry) = self.roster.get_mut(&tournament_player_id) {
                    entry.presentation = presentation;
                }
            }
            E::TeamCreated {
                team_id,
                name,
                initials,
                ..
            } => {
                self.teams.insert(
                    team_id,
                    TeamState {
                        name,
                        initials,
                        ..TeamState::default()
                    },
                );
            }
            E::TeamUpdated {
                team_id,
                name,
                initials,
                ..
            } => {
                if let Some(team) = self.teams.get_mut(&team_id) {
                    team.name = name;
                    team.initials = initials;
                }
            }
            E::TeamDeleted { team_id, .. } => {
                self.teams.remove(&team_id);
            }
            E::TeamMemberAdded {
                team_id,
                tournament_player_id,
                ..
            } => {
                if let Some(team) = self.teams.get_mut(&team_id) {
                    team.members.insert(tournament_player_id);
                }
            }
            E::TeamMemberRemoved {
                team_id,
                tournament_player_id,
                ..
            } => {
                if let Some(team) = self.teams.get_mut(&team_id) {
                    team.remove_member(tournament_player_id);
                }
            }
            E::TeamCaptainSet {
                team_id,
                tournament_player_id,
                ..
            } => {
                if let Some(team) = self.teams.get_mut(&team_id) {
                    team.captain = Some(tournament_player_id);
                }
            }
            E::TeamCaptainCleared { team_id, .. } => {
                if let Some(team) = self.teams.get_mut(&team_id) {
                    team.captain = None;
                }
            }
            E::WebhookRegistered(_)
            | E::WebhookEdited(_)
            | E::WebhookPaused(_)
            | E::WebhookResumed(_)
            | E::WebhookDeleted(_)
            | E::WebhookSecretRotated(_) => {}
        }
    }
}

#[cfg(test)]
mod tests;
