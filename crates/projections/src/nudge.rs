//! What a projector commit changed, announced with `pg_notify` in the same transaction.

use std::collections::BTreeSet;

use serde::Serialize;

/// The NOTIFY channel API replicas LISTEN on.
pub const CHANNEL: &str = "standings_nudges";

/// The SSE event names of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NudgeKind {
    Standings,
    Matches,
    Live,
}

impl NudgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NudgeKind::Standings => "standings",
            NudgeKind::Matches => "matches",
            NudgeKind::Live => "live",
        }
    }
}

/// Kinds and tournaments touched by one batch. `everyone` = some change concerns every
/// tournament (e.g. the civilization catalog), which the contract sends as `tournament_ids: null`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nudges {
    pub kinds: BTreeSet<NudgeKind>,
    pub tournament_ids: BTreeSet<i64>,
    pub everyone: bool,
}

impl Nudges {
    pub fn touch(&mut self, kind: NudgeKind, tournament_ids: impl IntoIterator<Item = i64>) {
        // A change that concerns no tournament (an untracked profile) announces nothing.
        let mut any = false;
        for id in tournament_ids {
            self.tournament_ids.insert(id);
            any = true;
        }
        if any {
            self.kinds.insert(kind);
        }
    }

    pub fn touch_everyone(&mut self, kind: NudgeKind) {
        self.kinds.insert(kind);
        self.everyone = true;
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// `None` means every tournament.
    pub fn scope(&self) -> Option<Vec<i64>> {
        (!self.everyone).then(|| self.tournament_ids.iter().copied().collect())
    }

    /// The compact NOTIFY payload: `{"kinds":[..],"tournament_ids":null|[..],"position":n}`.
    pub fn payload(&self, position: i64) -> String {
        #[derive(Serialize)]
        struct Payload<'a> {
            kinds: &'a BTreeSet<NudgeKind>,
            tournament_ids: Option<Vec<i64>>,
            position: i64,
        }
        serde_json::to_string(&Payload {
            kinds: &self.kinds,
            tournament_ids: self.scope(),
            position,
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untracked_changes_announce_nothing_and_scope_is_sorted() {
        let mut n = Nudges::default();
        n.touch(NudgeKind::Standings, []);
        assert!(n.is_empty());
        n.touch(NudgeKind::Matches, [7, 3, 7]);
        n.touch(NudgeKind::Live, [3]);
        assert_eq!(
            n.payload(42),
            r#"{"kinds":["matches","live"],"tournament_ids":[3,7],"position":42}"#
        );
        n.touch_everyone(NudgeKind::Standings);
        assert_eq!(
            n.payload(43),
            r#"{"kinds":["standings","matches","live"],"tournament_ids":null,"position":43}"#
        );
    }
}
