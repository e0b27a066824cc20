//! End-to-end in a real browser: `standings demo` (embedded PostgreSQL, the simulator, the
//! worker and the API) drives headless Chromium over the DevTools protocol (`crates/browser`).
//!
//! For each widget and the live page: the rendered rows equal the API's data; after a game
//! forced in the simulator the page shows the new result without a reload; no console error;
//! no request leaves loopback. The transparent theme screenshots transparent (and the dark one
//! does not). `UPDATE_SCREENSHOTS=1` writes `docs/overlays/*.png`.
//!
//! Without Chromium the tests skip with a message, unless `BROWSER_TESTS_REQUIRED=1` (CI).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use browser::{Browser, Page};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_standings");
const SLUG: &str = "demo";
const WAIT: Duration = Duration::from_secs(40);

fn chromium() -> Option<PathBuf> {
    let found = browser::chromium_path();
    if found.is_none() {
        assert!(
            std::env::var("BROWSER_TESTS_REQUIRED").as_deref() != Ok("1"),
            "BROWSER_TESTS_REQUIRED=1 but no Chromium (apt-get install -y chromium)"
        );
        eprintln!("skipped: no Chromium found (apt-get install -y chromium, or set CHROMIUM)");
    }
    found
}

/// `standings demo` on free ports, with its simulator frozen: only forced games happen.
struct Demo {
    child: Child,
    base: String,
    sim: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

async fn start_demo() -> Demo {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::Builder::new()
        .prefix("standings-overlays-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut child = Command::new(BIN)
        .arg("demo")
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", data.path())
        .env("BIND", "127.0.0.1:0")
        .env("RATE_LIMIT_PER_MINUTE", "0")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn standings demo");
    let rx = testkit::process::stdout_lines(&mut child);
    let (mut base, mut sim, mut live_page) = (None, None, None);
    let deadline = Instant::now() + Duration::from_secs(90);
    while base.is_none() || sim.is_none() || live_page.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the demo prints its URLs");
        if let Some(rest) = line.strip_prefix("standings: listening on ") {
            base = Some(rest.trim().to_string());
        } else if let Some(rest) = line.trim().strip_prefix("simulator  ") {
            sim = rest.trim().strip_suffix("/sim/state").map(str::to_string);
        } else if let Some(rest) = line.trim().strip_prefix("Open the live page:") {
            live_page = Some(rest.trim().to_string());
        }
    }
    let base = base.unwrap_or_default();
    // The first thing the demo prints for a newcomer is the live page.
    assert_eq!(live_page.unwrap_or_default(), format!("{base}/t/{SLUG}"));
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let demo = Demo {
        child,
        base,
        sim: sim.unwrap_or_default(),
        http,
        _data: data,
    };
    demo.sim_post("/sim/control", json!({"frozen": true})).await;
    // The demo tournament is readable once the projector has caught up with its seeding.
    let started = Instant::now();
    loop {
        let url = format!("{}/v1/tournaments/{SLUG}/standings", demo.base);
        if let Ok(r) = demo.http.get(url).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(
            started.elapsed() < WAIT,
            "the demo tournament never appeared"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    demo
}

impl Demo {
    async fn api(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/v1/tournaments/{SLUG}{path}", self.base))
            .send()
            .await
            .expect("api");
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("json")
    }

    async fn sim_post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.sim))
            .json(&body)
            .send()
            .await
            .expect("sim");
        let status = response.status();
        let value: Value = response.json().await.expect("sim json");
        assert!(status.is_success(), "{path} {body}: {value}");
        value
    }

    async fn wait_api(&self, what: &str, mut done: impl FnMut(&Value, &Value, &Value) -> bool) {
        let started = Instant::now();
        loop {
            let standings = self.api("/standings").await;
            let matches = self.api("/matches?limit=50").await;
            let live = self.api("/live").await;
            if done(&standings, &matches, &live) {
                return;
            }
            assert!(
                started.elapsed() < WAIT,
                "timed out waiting for {what}: standings {standings}\nmatches {matches}\nlive {live}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// What a page shows, read from its DOM, and the same from the API.
struct View {
    name: &'static str,
    path: String,
    rows_js: &'static str,
}

const TABLE_ROWS: &str = "JSON.stringify([...document.querySelectorAll('#root tbody tr')].map(r => [Number(r.dataset.row), r.dataset.rating]))";
const CARD_ROWS: &str = "JSON.stringify([...document.querySelectorAll('.card')].map(r => [Number(r.dataset.row), r.dataset.rating]))";
const TICKER_ROWS: &str = "JSON.stringify([...document.querySelectorAll('.item[data-match]')].map(e => Number(e.dataset.match)))";
const LIVE_PAGE_ROWS: &str = "JSON.stringify([...document.querySelectorAll('#standings tbody tr')].map(r => [Number(r.dataset.row), r.dataset.rating]))";
const LIVE_ROWS: &str = "JSON.stringify([...document.querySelectorAll('.game')].map(e => [Number(e.dataset.match), e.dataset.state]))";

fn rating(row: &Value) -> Value {
    json!(row["current_rating"]
        .as_i64()
        .map(|r| r.to_string())
        .unwrap_or_default())
}

fn ids(list: &Value, key: &str) -> Vec<i64> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m[key].as_i64())
        .collect()
}

/// The rows `view` must show, from the API (`finished`: games the live widget shows as over).
async fn expected(demo: &Demo, view: &View, player: &str, finished: &[i64]) -> String {
    let rows = |list: &Value, take: usize| -> Vec<Value> {
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .take(take)
            .map(|r| json!([r["tournament_player_id"], rating(r)]))
            .collect()
    };
    let value = match view.name {
        "standings" => json!(rows(&demo.api("/standings").await, 10)),
        "live-page" => json!(rows(&demo.api("/standings").await, usize::MAX)),
        "teams" => {
            let teams = demo.api("/teams/standings").await;
            json!(teams["items"]
                .as_array()
                .into_iter()
                .flatten()
                .take(8)
                .map(|t| json!([
                    t["team_id"],
                    t["combined_rating_average"]
                        .as_f64()
                        .unwrap_or(0.0)
                        .round()
                        .to_string()
                ]))
                .collect::<Vec<_>>())
        }
        "player" => {
            let standings = demo.api("/standings").await;
            json!(standings["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["alias"] == player)
                .map(|r| json!([r["tournament_player_id"], rating(r)]))
                .collect::<Vec<_>>())
        }
        "ticker" => {
            let matches = demo.api("/matches?limit=50").await;
            json!(matches["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| m["state"] == "completed")
                .take(10)
                .map(|m| m["match_id"].clone())
                .collect::<Vec<_>>())
        }
        "live" => {
            let live = demo.api("/live").await;
            let mut rows: Vec<Value> = finished.iter().map(|id| json!([id, "finished"])).collect();
            rows.extend(ids(&live, "match_id").iter().map(|id| json!([id, "live"])));
            json!(rows)
        }
        other => panic!("no view {other}"),
    };
    value.to_string()
}

/// Waits until the page shows what the API says (both re-read until they agree).
async fn wait_rows(demo: &Demo, page: &Page, view: &View, player: &str, finished: &[i64]) {
    let started = Instant::now();
    loop {
        let want = expected(demo, view, player, finished).await;
        let shown = page
            .eval(view.rows_js)
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if shown == want && want != "[]" {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "{}: shows {shown}, the API says {want}",
            view.name
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn screenshots_dir() -> Option<PathBuf> {
    (std::env::var("UPDATE_SCREENSHOTS").as_deref() == Ok("1"))
        .then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/overlays"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widgets_and_live_page_show_the_api_data_and_follow_a_forced_game() {
    let Some(chromium) = chromium() else { return };
    let demo = start_demo().await;
    // Rated players and a finished game to show.
    demo.wait_api("ratings", |s, _, _| {
        s["items"].as_array().is_some_and(|rows| {
            rows.len() >= 4 && rows.iter().take(4).all(|r| r["current_rating"].is_i64())
        })
    })
    .await;
    let standings = demo.api("/standings").await;
    let profile = |i: usize| {
        standings["items"][i]["profile_id"]
            .as_i64()
            .expect("profile")
    };
    let (a, b) = (profile(0), profile(1));
    let player = standings["items"][0]["alias"]
        .as_str()
        .expect("alias")
        .to_string();
    demo.sim_post(
        "/sim/play",
        json!({"teams": [[profile(2)], [profile(3)]], "winner": 0}),
    )
    .await;
    let lobby = demo
        .sim_post("/sim/lobbies", json!({"members": [a, b]}))
        .await;
    demo.wait_api("the first game and the open lobby", |_, m, l| {
        !ids(m, "match_id").is_empty() && !ids(l, "match_id").is_empty()
    })
    .await;

    let player_path = reqwest::Url::parse_with_params(
        &format!("{}/overlay/player", demo.base),
        [("tournament", SLUG), ("player", player.as_str())],
    )
    .expect("url");
    let player_path = format!(
        "{}?{}",
        player_path.path(),
        player_path.query().unwrap_or("")
    );
    let views = [
        View {
            name: "standings",
            path: format!("/overlay/standings?tournament={SLUG}"),
            rows_js: TABLE_ROWS,
        },
        View {
            name: "teams",
            path: format!("/overlay/teams?tournament={SLUG}"),
            rows_js: TABLE_ROWS,
        },
        View {
            name: "live",
            path: format!("/overlay/live?tournament={SLUG}&empty=text&hide=600"),
            rows_js: LIVE_ROWS,
        },
        View {
            name: "player",
            path: player_path,
            rows_js: CARD_ROWS,
        },
        View {
            name: "ticker",
            path: format!("/overlay/ticker?tournament={SLUG}"),
            rows_js: TICKER_ROWS,
        },
        View {
            name: "live-page",
            path: format!("/t/{SLUG}"),
            rows_js: LIVE_PAGE_ROWS,
        },
    ];
    let browser = Browser::launch(&chromium, 1920, 1080)
        .await
        .expect("chromium");
    let mut pages = vec![];
    for view in &views {
        let page = browser.new_page().await.expect("page");
        page.goto(&format!("{}{}", demo.base, view.path))
            .await
            .expect("load");
        wait_rows(&demo, &page, view, &player, &[]).await;
        let first = page
            .eval("performance.getEntriesByName('ls-first-render')[0].startTime")
            .await
            .expect("first render mark");
        println!(
            "{}: first render {first} ms after navigation start",
            view.name
        );
        // A reload would drop this.
        page.eval("window.noReload = true").await.expect("marker");
        pages.push(page);
    }

    // A forced game: the lobby ends, the game is played; every page follows without a reload.
    let before = demo.api("/matches?limit=50").await;
    demo.sim_post("/sim/lobbies/close", json!({"lobby_id": lobby["lobby_id"]}))
        .await;
    let played = demo
        .sim_post("/sim/play", json!({"teams": [[a], [b]], "winner": 1}))
        .await;
    let match_id = played["match_id"].as_i64().expect("match id");
    assert!(!ids(&before, "match_id").contains(&match_id));
    let old_rating = standings["items"][0]["current_rating"].clone();
    demo.wait_api("the forced game in the API", |s, m, _| {
        let rows = s["items"].as_array().cloned().unwrap_or_default();
        let row = |p: i64| rows.iter().find(|r| r["profile_id"] == p).cloned();
        ids(m, "match_id").contains(&match_id)
            && [a, b]
                .iter()
                .all(|p| row(*p).is_some_and(|r| r["in_match"] == false))
            && row(a).is_some_and(|r| r["current_rating"] != old_rating)
    })
    .await;
    for (view, page) in views.iter().zip(&pages) {
        wait_rows(&demo, page, view, &player, &[match_id]).await;
        assert_eq!(
            page.eval("window.noReload === true").await.expect("marker"),
            json!(true),
            "{} reloaded",
            view.name
        );
    }

    for (view, page) in views.iter().zip(&pages) {
        assert_eq!(page.console_errors(), Vec::<String>::new(), "{}", view.name);
        let requests = page.requests();
        assert!(requests.iter().any(|u| u.contains("/v1/")), "{}", view.name);
        let foreign: Vec<&String> = requests
            .iter()
            .filter(|u| !u.starts_with(&format!("{}/", demo.base)) && !u.starts_with("data:"))
            .collect();
        assert!(
            foreign.is_empty(),
            "{} left loopback: {foreign:?}",
            view.name
        );
        if let Some(dir) = screenshots_dir() {
            std::fs::create_dir_all(&dir).expect("docs/overlays");
            // Still frames: no pulsing dots, the ticker's items in place.
            page.call(
                "Emulation.setEmulatedMedia",
                json!({"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}),
            )
            .await
            .expect("reduced motion");
            // A widget's own box; the live page's first screen.
            let png = if view.name == "live-page" {
                page.screenshot().await
            } else {
                page.screenshot_of("#root > *").await
            }
            .expect("screenshot");
            std::fs::write(dir.join(format!("{}.png", view.name)), png).expect("write png");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transparent_theme_is_transparent_and_the_configurator_previews_a_widget() {
    let Some(chromium) = chromium() else { return };
    let demo = start_demo().await;
    let browser = Browser::launch(&chromium, 1280, 720)
        .await
        .expect("chromium");
    let mut alphas = vec![];
    for theme in ["transparent", "dark"] {
        let page = browser.new_page().await.expect("page");
        page.goto(&format!(
            "{}/overlay/standings?tournament={SLUG}&theme={theme}",
            demo.base
        ))
        .await
        .expect("load");
        page.wait_for("document.documentElement.dataset.renders", WAIT)
            .await
            .expect("rendered");
        let png = page.screenshot().await.expect("screenshot");
        // The bottom-right corner: outside the table, the scene shows through.
        alphas.push(browser::pixel(&png, 1270, 710).expect("pixel")[3]);
        assert_eq!(page.console_errors(), Vec::<String>::new(), "{theme}");
    }
    assert_eq!(
        alphas,
        vec![0, 255],
        "alpha of the corner: transparent, dark"
    );

    // The configurator builds the URL and previews the widget in a frame of this origin
    // (allowed by the CSP's `frame-ancestors 'self'`, which wins over `x-frame-options: DENY`).
    let page = browser.new_page().await.expect("page");
    page.goto(&format!("{}/overlay/?tournament={SLUG}", demo.base))
        .await
        .expect("load");
    let url = page
        .wait_for(
            "document.getElementById('url').value.includes('/overlay/standings?tournament=demo') \
             && document.getElementById('url').value",
            WAIT,
        )
        .await
        .expect("the configurator's URL");
    assert_eq!(
        url,
        json!(format!("{}/overlay/standings?tournament={SLUG}", demo.base))
    );
    page.wait_for(
        "document.getElementById('preview').contentDocument?.documentElement.dataset.renders",
        WAIT,
    )
    .await
    .expect("the preview renders the widget");
    assert_eq!(page.console_errors(), Vec::<String>::new(), "configurator");
}

/// The JS heap of open widgets over a sped-up run of nudges (minutes: not run by default).
/// `OVERLAY_SOAK_SECONDS=240 cargo test -p standings --test overlays -- --ignored --nocapture`
/// prints the heap after a forced GC every 20 s; the figure is reported in `docs/overlays.md`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn widget_heap_over_a_sped_up_run_of_nudges() {
    let Some(chromium) = chromium() else { return };
    let seconds: u64 = std::env::var("OVERLAY_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(240);
    let demo = start_demo().await;
    // Simulated time 600× real time: games end every few seconds, every poll finds changes.
    demo.sim_post("/sim/control", json!({"frozen": false, "speed": 600.0}))
        .await;
    let browser = Browser::launch(&chromium, 1920, 1080)
        .await
        .expect("chromium");
    let mut pages = vec![];
    for widget in ["standings", "live", "ticker", "player"] {
        let page = browser.new_page().await.expect("page");
        page.goto(&format!(
            "{}/overlay/{widget}?tournament={SLUG}&player=a&empty=text",
            demo.base
        ))
        .await
        .expect("load");
        pages.push((widget, page));
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(20)).await;
        let mut line = format!("{:>4} s", started.elapsed().as_secs());
        for (widget, page) in &pages {
            page.call("HeapProfiler.collectGarbage", json!({}))
                .await
                .expect("gc");
            let heap = page
                .call("Runtime.getHeapUsage", json!({}))
                .await
                .expect("heap");
            let renders = page
                .eval("document.documentElement.dataset.renders")
                .await
                .unwrap_or_default();
            line.push_str(&format!(
                "  {widget}: {:.0} KiB ({} renders)",
                heap["usedSize"].as_f64().unwrap_or(0.0) / 1024.0,
                renders.as_str().unwrap_or("0")
            ));
        }
        println!("{line}");
    }
    for (widget, page) in &pages {
        assert_eq!(page.console_errors(), Vec::<String>::new(), "{widget}");
    }
}
