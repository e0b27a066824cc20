//! The field checks of the Tournament's commands (the contract's validation errors) and the
//! patch a `TournamentPatch` makes to a configuration.

use super::*;

pub(super) fn invalid(msg: impl Into<String>) -> TournamentError {
    TournamentError::InvalidField(msg.into())
}

pub(super) fn check_config(config: &TournamentConfig) -> Res {
    if !char_len_within(&config.name, 1, MAX_TOURNAMENT_NAME_CHARS) {
        return Err(invalid("name must be 1-200 characters"));
    }
    if config.leaderboard_id <= 0 {
        return Err(invalid("leaderboard_id must be greater than 0"));
    }
    if config.prize_pool_cents.is_some_and(|p| p < 0) {
        return Err(invalid(
            "prize_pool_cents must be greater than or equal to 0",
        ));
    }
    if config.host_stream_urls.len() > MAX_HOST_STREAM_URLS {
        return Err(invalid("host_stream_urls may hold at most 5 entries"));
    }
    if config
        .host_stream_urls
        .iter()
        .any(|u| !char_len_within(u, 1, MAX_HOST_STREAM_URL_CHARS))
    {
        return Err(invalid(
            "each host_stream_urls entry must be 1-256 characters",
        ));
    }
    check_presentation(&config.presentation, MAX_TOURNAMENT_PRESENTATION_BYTES)?;
    if let (Some(start), Some(end)) = (config.start_date, config.end_date) {
        if start > end {
            return Err(TournamentError::WindowInverted);
        }
    }
    Ok(())
}

pub(super) fn check_leaderboard(id: i64, facts: Option<&LeaderboardFacts>) -> Res {
    let facts = facts.ok_or(TournamentError::UnknownLeaderboard(id))?;
    if !facts.is_ranked || !is_supported_leaderboard(id) {
        return Err(TournamentError::UnsupportedLeaderboard {
            id,
            name: facts.name.clone(),
        });
    }
    Ok(())
}

pub(super) fn check_presentation(value: &Value, max_bytes: usize) -> Res {
    if !value.is_object() {
        return Err(invalid("presentation must be a JSON object"));
    }
    if json_depth(value) > MAX_PRESENTATION_DEPTH {
        return Err(invalid(format!(
            "presentation must be nested at most {MAX_PRESENTATION_DEPTH} levels deep"
        )));
    }
    if json_size(value) > max_bytes {
        return Err(invalid(format!(
            "presentation must serialize to at most {max_bytes} bytes"
        )));
    }
    if let Some((path, what)) = json_unstorable_value(value) {
        return Err(invalid(format!(
            "presentation must not hold {what} (at presentation.{path})"
        )));
    }
    Ok(())
}

pub(super) fn check_roster_name(name: &str) -> Res {
    if !char_len_within(name, 1, MAX_ROSTER_NAME_CHARS) {
        return Err(invalid("name must be 1-64 characters"));
    }
    Ok(())
}

pub(super) fn check_profile_id(profile_id: Option<i64>) -> Res {
    if profile_id.is_some_and(|p| p <= 0) {
        return Err(invalid("profile_id must be greater than 0"));
    }
    Ok(())
}

pub(super) fn check_team_fields(name: &str, initials: &str) -> Res {
    if !char_len_within(name, 1, MAX_TEAM_NAME_CHARS) {
        return Err(invalid("name must be 1-200 characters"));
    }
    if !char_len_within(initials, 1, MAX_TEAM_INITIALS_CHARS) {
        return Err(invalid("initials must be 1-8 characters"));
    }
    Ok(())
}

/// Applies a patch; returns the new config and the names of the fields that changed.
pub(super) fn apply_patch(
    current: &TournamentConfig,
    patch: &TournamentPatch,
    leaderboard: Option<&LeaderboardFacts>,
) -> Result<(TournamentConfig, Vec<String>), TournamentError> {
    let mut next = current.clone();
    if let Some(v) = &patch.name {
        next.name = v.clone();
    }
    if let Some(v) = patch.leaderboard_id {
        next.leaderboard_id = v;
    }
    if let Some(v) = patch.rank_by {
        next.rank_by = v;
    }
    if let Some(v) = patch.start_date {
        next.start_date = v;
    }
    if let Some(v) = patch.end_date {
        next.end_date = v;
    }
    if let Some(v) = patch.prize_pool_cents {
        next.prize_pool_cents = v;
    }
    if let Some(v) = &patch.host_stream_urls {
        next.host_stream_urls = v.clone();
    }
    if let Some(v) = &patch.presentation {
        next.presentation = v.clone();
    }
    check_config(&next)?;
    if next.leaderboard_id != current.leaderboard_id {
        check_leaderboard(next.leaderboard_id, leaderboard)?;
    }
    let mut changed = vec![];
    let mut note = |name: &str, differs: bool| {
        if differs {
            changed.push(name.to_string());
        }
    };
    note("name", next.name != current.name);
    note(
        "leaderboard_id",
        next.leaderboard_id != current.leaderboard_id,
    );
    note("rank_by", next.rank_by != current.rank_by);
    note("start_date", next.start_date != current.start_date);
    note("end_date", next.end_date != current.end_date);
    note(
        "prize_pool_cents",
        next.prize_pool_cents != current.prize_pool_cents,
    );
    note(
        "host_stream_urls",
        next.host_stream_urls != current.host_stream_urls,
    );
    note("presentation", next.presentation != current.presentation);
    Ok((next, changed))
}
