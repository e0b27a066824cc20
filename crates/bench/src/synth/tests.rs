use super::*;
use domain::AnyEvent;

fn spec(events: usize) -> Spec {
    Spec {
        events,
        profiles: 300,
        tournaments: 4,
        seed: 7,
    }
}

#[test]
fn every_event_decodes_and_sequences_are_dense() {
    let mut synth = Synth::new(spec(30_000));
    let mut all = Vec::new();
    loop {
        let chunk = synth.next_chunk(4_096);
        if chunk.is_empty() {
            break;
        }
        all.extend(chunk);
    }
    assert_eq!(all.len(), 30_000);
    let mut last: HashMap<(&str, &str), i64> = HashMap::new();
    for e in &all {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
        AnyEvent::decode(e.aggregate_type, &e.event_type, "1", payload)
            .unwrap_or_else(|err| panic!("{} {}: {err}", e.event_type, e.payload));
        let seq = last.entry((e.aggregate_type, &e.aggregate_id)).or_insert(0);
        assert_eq!(e.sequence, *seq + 1);
        *seq = e.sequence;
    }
    let mut counts = HashMap::new();
    mix(&all, &mut counts);
    for kind in [
        "RankObserved",
        "RatingObserved",
        "ProfileObserved",
        "MatchFinished",
        "LiveMatchStarted",
        "LiveMatchUpdated",
        "LiveMatchEnded",
        "PlayerAddedToRoster",
        "CivilizationsObserved",
    ] {
        assert!(counts.get(kind).copied().unwrap_or(0) > 0, "no {kind}");
    }
}

#[test]
fn the_same_spec_generates_the_same_log() {
    let a: Vec<String> = Synth::new(spec(5_000))
        .next_chunk(10_000)
        .into_iter()
        .map(|e| e.payload)
        .collect();
    let b: Vec<String> = Synth::new(spec(5_000))
        .next_chunk(10_000)
        .into_iter()
        .map(|e| e.payload)
        .collect();
    assert_eq!(a, b);
}
