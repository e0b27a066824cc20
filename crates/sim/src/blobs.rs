//! The base64/zlib blobs: `options` (through the `upstream` codec, so what we encode is
//! exactly what the client decodes) and `slotinfo` (`"<n>,[<slot objects>]"`, decodable but
//! not read by our client).

use std::io::Write;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde::Serialize;

/// Options of a game or lobby: the usual post-Return-of-Rome keys, key 10 = map.
pub(crate) fn options(map_id: i64, matchtype_id: i64, team_size: usize, private: bool) -> String {
    // Map size grows with the player count, as the game's defaults do.
    let map_size = match team_size {
        0 | 1 => "120",
        2 => "144",
        3 => "168",
        _ => "200",
    };
    let map = map_id.to_string();
    let matchtype = matchtype_id.to_string();
    let pairs: [(&str, &str); 27] = [
        ("0", "0"),
        ("1", "n"),
        ("4", "6"),
        ("5", "0"),
        ("8", map_size),
        ("10", &map),
        ("28", "200"),
        ("37", "0"),
        ("41", "2"),
        ("56", if private { "2" } else { "0" }),
        ("57", "0"),
        ("61", "-1"),
        ("62", "n"),
        ("65", "y"),
        ("66", "n"),
        ("75", "y"),
        ("76", "y"),
        ("77", "y"),
        ("78", "y"),
        ("79", "n"),
        ("81", "0"),
        ("82", "n"),
        ("89", "n"),
        ("90", "n"),
        ("91", "n"),
        ("93", &matchtype),
        ("97", "2"),
    ];
    upstream::options::encode(&pairs)
}

/// One slot of a `slotinfo` blob.
#[derive(Serialize)]
struct Slot {
    #[serde(rename = "profileInfo.id")]
    profile_id: i64,
    #[serde(rename = "stationID")]
    station_id: i64,
    #[serde(rename = "teamID")]
    team_id: i64,
    #[serde(rename = "factionID")]
    faction_id: i64,
    #[serde(rename = "raceID")]
    race_id: i64,
    #[serde(rename = "rankLevel")]
    rank_level: i64,
    #[serde(rename = "rankMatchTypeID")]
    rank_matchtype_id: i64,
    #[serde(rename = "timePerFrameMS")]
    time_per_frame_ms: i64,
    #[serde(rename = "isReady")]
    is_ready: i64,
    status: i64,
    #[serde(rename = "metaData")]
    meta_data: &'static str,
}

/// A slot's occupant: `(profile_id, team, civ)`; `profile_id -1` = empty slot.
pub(crate) type SlotPlayer = (i64, i64, i64);

/// `slotinfo` for `max_slots` slots; slots past `players` are empty.
pub(crate) fn slotinfo(players: &[SlotPlayer], max_slots: usize, matchtype_id: i64) -> String {
    let slots: Vec<Slot> = (0..max_slots.max(players.len()))
        .map(|i| {
            let (profile_id, team_id, race_id) = players.get(i).copied().unwrap_or((-1, -1, -1));
            let occupied = profile_id >= 0;
            Slot {
                profile_id,
                station_id: if occupied { i as i64 + 1 } else { -1 },
                team_id,
                faction_id: 0,
                race_id,
                rank_level: 0,
                rank_matchtype_id: matchtype_id,
                time_per_frame_ms: 0,
                is_ready: i64::from(occupied),
                status: if occupied { 0 } else { 1 },
                meta_data: "",
            }
        })
        .collect();
    // Serializing plain structs into a String cannot fail.
    let array = serde_json::to_string(&slots).unwrap_or_else(|_| "[]".to_owned());
    zlib_base64(format!("{},{array}", slots.len()).as_bytes())
}

fn zlib_base64(bytes: &[u8]) -> String {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail; fall back to an empty (still base64) blob regardless.
    let compressed = encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    STANDARD.encode(compressed)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::ZlibDecoder;

    use super::*;

    #[test]
    fn options_decode_with_upstream_codec() {
        let blob = options(10878, 6, 1, false);
        let decoded = upstream::options::decode(&blob).expect("decodes");
        assert_eq!(decoded["10"], "10878");
        assert_eq!(decoded["93"], "6");
        assert_eq!(decoded["8"], "120");
        assert_eq!(
            upstream::options::resolve_map_name(Some(&blob), "Arena.rms"),
            "Black Forest"
        );
    }

    #[test]
    fn slotinfo_inflates_to_count_and_json() {
        let blob = slotinfo(&[(5, 0, 4), (6, 1, 0)], 4, 6);
        let compressed = STANDARD.decode(blob).expect("base64");
        let mut text = String::new();
        ZlibDecoder::new(compressed.as_slice())
            .read_to_string(&mut text)
            .expect("zlib");
        let (count, array) = text.split_once(',').expect("count prefix");
        assert_eq!(count, "4");
        let slots: Vec<serde_json::Value> = serde_json::from_str(array).expect("json array");
        assert_eq!(slots.len(), 4);
        assert_eq!(slots[0]["profileInfo.id"], 5);
        assert_eq!(slots[1]["raceID"], 0);
        assert_eq!(slots[3]["profileInfo.id"], -1);
    }
}
