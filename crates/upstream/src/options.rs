//! The `options` blob carried by matches and lobbies, and map-name resolution from it.
//!
//! Format: base64 → zlib → a JSON *string literal* whose content is base64 → binary
//! `u8 count`, then `count` × (`u32` little-endian length, `length` bytes of `"key:value"`).
//! Key `"10"` is the map's locstring id, the only trustworthy map information: upstream's
//! `mapname` is wrong for about half the ranked games and is `"my map"` in lobbies.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::sync::Mutex;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use crate::maps;

/// Options key holding the map locstring id.
pub const MAP_KEY: &str = "10";

/// Real blobs inflate to a few KiB; anything past this is hostile or broken.
const MAX_INFLATED_BYTES: u64 = 1 << 20;

/// Unknown ids are logged once each; past this many distinct ids we stop remembering (and
/// logging) so hostile data cannot grow the set without bound.
const MAX_REMEMBERED_UNKNOWN_IDS: usize = 4096;

/// Standard alphabet, padding optional on input (encoders differ), canonical on output.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decode an options blob into `key → value`. Any malformed layer yields `None`; never panics.
pub fn decode(blob: &str) -> Option<BTreeMap<String, String>> {
    let compressed = B64.decode(blob.trim()).ok()?;
    let mut inflated = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut inflated)
        .ok()?;
    if inflated.len() as u64 > MAX_INFLATED_BYTES {
        return None;
    }
    let inner_b64: String = serde_json::from_slice(&inflated).ok()?;
    let inner = B64.decode(inner_b64.trim()).ok()?;
    parse_records(&inner)
}

/// Parse the binary record list; every read is bounds-checked.
fn parse_records(bytes: &[u8]) -> Option<BTreeMap<String, String>> {
    let (&count, mut rest) = bytes.split_first()?;
    let mut map = BTreeMap::new();
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
        if tail.len() < len {
            return None;
        }
        let (record, tail) = tail.split_at(len);
        rest = tail;
        let text = String::from_utf8_lossy(record);
        // A record without ':' carries no key/value pair; skip it rather than fail the blob.
        if let Some((key, value)) = text.split_once(':') {
            map.insert(key.to_owned(), value.to_owned());
        }
    }
    Some(map)
}

/// Encode `key:value` pairs into an options blob (the inverse of [`decode`]); used by the
/// simulator. The format's count is one byte, so only the first 255 pairs are kept.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    let pairs = &pairs[..pairs.len().min(usize::from(u8::MAX))];
    let mut inner = Vec::with_capacity(1 + pairs.len() * 16);
    inner.push(pairs.len() as u8);
    for (key, value) in pairs {
        let record = format!("{key}:{value}");
        // Records are a few bytes; a >4 GiB record is not a case worth a Result.
        inner.extend_from_slice(&(record.len() as u32).to_le_bytes());
        inner.extend_from_slice(record.as_bytes());
    }
    wrap_inner(&inner)
}

/// base64 → JSON string literal → zlib → base64. The base64 alphabet needs no JSON escaping.
fn wrap_inner(inner: &[u8]) -> String {
    let literal = format!("\"{}\"", B64.encode(inner));
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(literal.as_bytes())
        .expect("writing into a Vec cannot fail");
    let compressed = encoder.finish().expect("writing into a Vec cannot fail");
    B64.encode(compressed)
}

/// The locstring id under key `"10"`, if present and numeric.
pub fn map_locstring_id(options: &BTreeMap<String, String>) -> Option<i64> {
    options.get(MAP_KEY)?.trim().parse().ok()
}

/// Resolve a map name from decoded options: a positive id in the verified table wins;
/// `0` (custom RMS), `-2` (scenario), any id ≤ 0, a missing key or an unknown id fall back to
/// upstream's `mapname`. Unknown positive ids are logged once per id per process.
pub fn map_name(options: Option<&BTreeMap<String, String>>, mapname: &str) -> String {
    let Some(id) = options.and_then(map_locstring_id) else {
        return mapname.to_owned();
    };
    if id <= 0 {
        return mapname.to_owned();
    }
    match maps::map_for_locstring(id) {
        Some(name) => name.to_owned(),
        None => {
            note_unknown_locstring(id, mapname);
            mapname.to_owned()
        }
    }
}

/// [`decode`] then [`map_name`]; a missing or undecodable blob falls back to `mapname`.
pub fn resolve_map_name(blob: Option<&str>, mapname: &str) -> String {
    let options = blob.and_then(decode);
    map_name(options.as_ref(), mapname)
}

static UNKNOWN_SEEN: Mutex<BTreeSet<i64>> = Mutex::new(BTreeSet::new());

/// Log an unknown id the first time it is seen; returns whether it logged.
fn note_unknown_locstring(id: i64, fallback_mapname: &str) -> bool {
    let mut seen = UNKNOWN_SEEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if seen.len() >= MAX_REMEMBERED_UNKNOWN_IDS || !seen.insert(id) {
        return false;
    }
    drop(seen);
    tracing::info!(locstring_id = id, fallback_mapname, "unknown_map_locstring");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from match 484298540 (upstream said `Marketplace.rms`; it was Black Forest).
    const REAL_BLOB: &str = "eNpFU9tqwzAM/Zd+Qa5+20OCs5EH2cvqMLK3LQwzh9aFMdL46ydbtlsoCB/pHOlIOZ33qcNfBcq6bseIdwx0fDO3v96HfNgRv+eYp/ftkAZ2qhvYF9U1wt3a3kd82aXpBh8KtTHoCJfq9kc1ExNvv/6tBGNbuPZnUd2kqmE/l0v7sd3f1wscn6q/vqqCE4/dSXu+S7MWUaeQlyboSLWw7yn24XMDvpXSDITzjJeS2yPWM+FW4nc4Z3ibK2lG6t3MqaYSBmcL+pqBGuPsfjbt8Ttwi39dS5q1BWermF/InyJ6qF2ISbtOvQmjmYg6UtmS8BU9HJ6ptwE1uxCjNhOKvAUFDKY56Atua+gWinFnYOaYs2DORO/ONsQ9NMg9EvfouXG3iTPv6/AzUd8jer5ET0fc/Ui9GGDCdC/EA96XMuYXmJPyyzQHGPQ7egtmZUA3WGPvTa9DbuPror4LnpMXpbxucc/53hzOk/bcpp1JtaY7rh/1c64XeK8Rb8M9E3+dcafznTz41zbfmf9O4j2HbyPg+sh3pnz909PpHzYmAzk=";

    /// Worked examples from the reference: match 485301122 (Arabia), lobby 486002117
    /// (Arena), lobby 486002398 (custom RMS, key 10 = 0).
    const ARABIA_BLOB: &str = "eJxTcg5MdwSCCl+XfCBON/YL9AXxy/2zHF1ADN+QglKnQCDDJd3MN8Sz3Amk3MXTxD/Ls9zXESThaOAbkl/pBGK5hBoB9bmCmP4hyWa+6WB5U9+qfCMlAK/ZH54=";
    const ARENA_LOBBY_BLOB: &str = "eJxTcnZMdwSCCl+XfCBON/UL9AXxy/2zHF1ADN+QglKnQCDDJd3MNyTSxAmk3MXTxD/Ls9zXESThaOAbkl/pBGK5hBr5Z7m6gpj+Iclmvum2tkoAqzAc6Q==";
    const CUSTOM_RMS_BLOB: &str = "eJxTcnYMdASCCl+X/HLHciDLxdHM19EXLOafa+IGYvi75Ff4ZaW7g9i+WelmvlmO5U4gjktghX+WpyuI6RcSCdQHNsvUryq/UgkAxpcbEg==";

    #[test]
    fn real_vector_decodes() {
        let opts = decode(REAL_BLOB).expect("real blob decodes");
        assert_eq!(opts.len(), 75);
        assert_eq!(opts["10"], "10878");
        assert_eq!(opts["8"], "120");
        assert_eq!(opts["28"], "200");
        assert_eq!(opts["93"], "6");
        assert_eq!(opts["97"], "2");
        assert_eq!(
            resolve_map_name(Some(REAL_BLOB), "Marketplace.rms"),
            "Black Forest"
        );
    }

    #[test]
    fn worked_examples_resolve() {
        assert_eq!(
            resolve_map_name(Some(ARABIA_BLOB), "Marketplace.rms"),
            "Arabia"
        );
        assert_eq!(resolve_map_name(Some(ARENA_LOBBY_BLOB), "my map"), "Arena");
        let custom = decode(CUSTOM_RMS_BLOB).expect("custom blob decodes");
        assert_eq!(custom["10"], "0");
        assert_eq!(
            resolve_map_name(Some(CUSTOM_RMS_BLOB), "Hyper_Random.rms"),
            "Hyper_Random.rms"
        );
    }

    #[test]
    fn round_trip() {
        let pairs = [
            ("10", "10875"),
            ("8", "120"),
            ("28", "200"),
            ("56", "2"),
            ("7", "a:b:c"),
            ("ü", "ß"),
        ];
        let blob = encode(&pairs);
        let decoded = decode(&blob).expect("own blob decodes");
        assert_eq!(decoded.len(), pairs.len());
        assert_eq!(decoded["7"], "a:b:c", "split at the first ':' only");
        assert_eq!(decoded["ü"], "ß");
        assert_eq!(resolve_map_name(Some(&blob), "x.rms"), "Arabia");
        assert_eq!(decode(&encode(&[])), Some(BTreeMap::new()));
    }

    #[test]
    fn resolution_fallbacks() {
        for value in ["0", "-2", "-7", "", "abc", "11022"] {
            let blob = encode(&[("10", value)]);
            assert_eq!(
                resolve_map_name(Some(&blob), "raw.rms"),
                "raw.rms",
                "{value}"
            );
        }
        // Pre-Return-of-Rome blobs carry the map under key 11: not recoverable.
        let legacy = encode(&[("11", "10875")]);
        assert_eq!(resolve_map_name(Some(&legacy), "raw.rms"), "raw.rms");
        assert_eq!(resolve_map_name(None, "raw.rms"), "raw.rms");
        assert_eq!(resolve_map_name(Some("garbage"), "raw.rms"), "raw.rms");
        assert_eq!(map_name(None, "m"), "m");
    }

    #[test]
    fn unknown_ids_are_logged_once_per_id() {
        // Ids no other test uses, so the global set starts without them.
        assert!(note_unknown_locstring(987_654_321, "a.rms"));
        assert!(!note_unknown_locstring(987_654_321, "b.rms"));
        assert!(note_unknown_locstring(987_654_322, "a.rms"));
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(decode(""), None);
        assert_eq!(decode("!!!not base64!!!"), None);
        assert_eq!(decode("aGVsbG8="), None, "base64 but not zlib");
        // zlib of something that is not a JSON string literal.
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
        enc.write_all(b"{\"a\":1}").unwrap();
        assert_eq!(decode(&B64.encode(enc.finish().unwrap())), None);
        // Every truncation of a valid blob fails cleanly or decodes; none panics.
        for cut in 0..REAL_BLOB.len() {
            let _ = decode(&REAL_BLOB[..cut]);
        }
    }

    #[test]
    fn record_bounds_are_checked() {
        // Count says 3 records, only one present.
        let mut inner = vec![3u8];
        inner.extend_from_slice(&5u32.to_le_bytes());
        inner.extend_from_slice(b"10:25");
        assert_eq!(decode(&wrap_inner(&inner)), None);
        // Length runs past the end.
        let mut inner = vec![1u8];
        inner.extend_from_slice(&u32::MAX.to_le_bytes());
        inner.extend_from_slice(b"10:25");
        assert_eq!(decode(&wrap_inner(&inner)), None);
        // Truncated length prefix.
        assert_eq!(decode(&wrap_inner(&[1, 0, 0])), None);
        // Empty inner payload.
        assert_eq!(decode(&wrap_inner(&[])), None);
        // Invalid UTF-8 is replaced, not rejected.
        let mut inner = vec![1u8];
        inner.extend_from_slice(&4u32.to_le_bytes());
        inner.extend_from_slice(&[b'9', b':', 0xff, b'y']);
        assert_eq!(decode(&wrap_inner(&inner)).unwrap()["9"], "\u{fffd}y");
    }
}
