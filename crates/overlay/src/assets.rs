//! The embedded files: content-hashed names, gzip computed once, and the HTML shells that
//! name them.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::LazyLock;

use axum::body::Bytes;
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// `core.js`
    pub name: &'static str,
    /// `core.1a2b3c4d5e.js`: what pages link to.
    pub hashed: String,
    pub content_type: &'static str,
    pub body: Bytes,
    pub gzip: Bytes,
}

/// Sources: (name, content type, text).
const SOURCES: [(&str, &str, &str); 7] = [
    (
        "overlay.css",
        "text/css; charset=utf-8",
        include_str!("../assets/overlay.css"),
    ),
    (
        "page.css",
        "text/css; charset=utf-8",
        include_str!("../assets/page.css"),
    ),
    (
        "core.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/core.js"),
    ),
    (
        "widgets.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/widgets.js"),
    ),
    (
        "page.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/page.js"),
    ),
    (
        "stream-worker.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/stream-worker.js"),
    ),
    (
        "configurator.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/configurator.js"),
    ),
];

const WIDGET_HTML: &str = include_str!("../assets/widget.html");
const PAGE_HTML: &str = include_str!("../assets/page.html");
const CONFIGURATOR_HTML: &str = include_str!("../assets/configurator.html");

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(name, content_type, text)| {
            let digest = Sha256::digest(text.as_bytes());
            let hex: String = digest[..5].iter().map(|b| format!("{b:02x}")).collect();
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            Asset {
                name,
                hashed: format!("{stem}.{hex}.{ext}"),
                content_type,
                body: Bytes::from_static(text.as_bytes()),
                gzip: gzip(text.as_bytes()),
            }
        })
        .collect()
});

fn gzip(bytes: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    Bytes::from(encoder.finish().unwrap_or_default())
}

pub fn by_hashed_name(hashed: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.hashed == hashed)
}

/// `{{core.js}}` in a shell becomes `/overlay/assets/core.<hash>.js`.
fn fill(template: &str, widget: &str) -> String {
    let mut html = template.replace("{{widget}}", widget);
    for asset in ASSETS.iter() {
        html = html.replace(
            &format!("{{{{{}}}}}", asset.name),
            &format!("/overlay/assets/{}", asset.hashed),
        );
    }
    html
}

static WIDGETS: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    crate::WIDGETS
        .iter()
        .map(|w| (*w, fill(WIDGET_HTML, w)))
        .collect()
});
static PAGE: LazyLock<String> = LazyLock::new(|| fill(PAGE_HTML, ""));
static CONFIGURATOR: LazyLock<String> = LazyLock::new(|| fill(CONFIGURATOR_HTML, ""));

pub fn widget_html(name: &str) -> Option<&'static str> {
    WIDGETS.get(name).map(String::as_str)
}

pub fn live_page_html() -> &'static str {
    &PAGE
}

pub fn configurator_html() -> &'static str {
    &CONFIGURATOR
}

/// Sizes of what a page loads, for the size budget and `docs/overlays.md`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetSize {
    pub name: &'static str,
    pub bytes: usize,
    pub gzip_bytes: usize,
}

pub fn asset_sizes() -> Vec<AssetSize> {
    ASSETS
        .iter()
        .map(|a| AssetSize {
            name: a.name,
            bytes: a.body.len(),
            gzip_bytes: a.gzip.len(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_name_only_existing_hashed_assets() {
        for html in WIDGETS
            .values()
            .map(String::as_str)
            .chain([live_page_html(), configurator_html()])
        {
            assert!(!html.contains("{{"), "unfilled placeholder in {html}");
            for link in html.split("/overlay/assets/").skip(1) {
                let name = link.split('"').next().unwrap_or("");
                assert!(name.contains('.'), "{name}");
                assert!(by_hashed_name(name).is_some(), "{name} is not served");
            }
        }
    }

    /// Issue 14's budget: all of a widget's JS + CSS ≤ 30 KB compressed. Prints the figures
    /// (`cargo test -p overlay loads_under -- --nocapture`).
    #[test]
    fn a_widget_and_the_live_page_load_under_30_kb_compressed() {
        for (page, html) in [
            ("widget", widget_html("standings").unwrap_or_default()),
            ("live page", live_page_html()),
        ] {
            let loaded: Vec<&Asset> = ASSETS.iter().filter(|a| html.contains(&a.hashed)).collect();
            for a in &loaded {
                println!(
                    "{page}: {} {} bytes, {} gzip",
                    a.name,
                    a.body.len(),
                    a.gzip.len()
                );
            }
            let raw: usize = loaded.iter().map(|a| a.body.len()).sum();
            let total: usize = loaded.iter().map(|a| a.gzip.len()).sum();
            println!("{page}: total {raw} bytes, {total} gzip");
            assert!(total > 0 && total <= 30 * 1024, "{page}: {total} bytes");
        }
    }
}
