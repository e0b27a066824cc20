//! Fuzzes the API from its own OpenAPI document (design §12): bad input gets a 4xx in the
//! contract's shape, never a 5xx, and nothing is half-written.
//!
//! A real server (the api router, the stream route, connect info), a real PostgreSQL, the
//! `core` projector running and a JWKS served over HTTP. The test reads `/openapi.json` and, for
//! every documented operation in turn, builds requests from the document alone: path
//! parameters (ids of the seed, then junk), query parameters (in and out of their declared
//! bounds, wrong types, repeated), headers, and for writes a body generated from the request
//! schema, then mutated (wrong types, nulls, missing or extra fields, oversize strings, deep
//! nesting, NUL, non-objects, broken JSON), sent with an owner's token, a non-owner's, a
//! garbage one, or none.
//!
//! Every response must be < 500, and every 4xx JSON in one of the contract's shapes. A refused
//! write must append no event. Afterwards the projector is not parked, every stored tournament
//! still loads, and the reads still answer.
//!
//! Deterministic: `FUZZ_SEED` (default below) seeds the generator; `FUZZ_REQUESTS` runs longer
//! locally (`FUZZ_SEED=7 FUZZ_REQUESTS=20000 cargo test -p api --test fuzz -- --nocapture`
//! prints the statuses per operation; `RUST_LOG=warn` shows the server's warnings). A failure
//! names the request (method, target, headers, the mutation, the body) and the seed.
//!
//! What it found, now fixed and kept by their own tests in `writes/hostile.rs`: a presentation nested
//! too deep to read back (a stuck projector), datetimes PostgreSQL cannot store (503), a window
//! opened in year 1 (minutes to build `/standings/history`), and `text/plain` 400s from axum's
//! path extractor. Since issue 11 every free-form field (`presentation`) also gets numbers at
//! and beyond f64's edge as raw JSON text (`RAW_NUMBERS`; `1.7976931348623157e308` used to be
//! appended and then freeze the log: `round_trip.rs` keeps that one), and an ignored test runs
//! 10,000 requests.
//!
//! One binary (`cargo test -p api --test fuzz`): `env` (the server and its data), `document`
//! (the operations read from `/openapi.json`), `requests` (the generator), `targets` (path,
//! query and header values), `bodies` (request bodies and their mutations) and `answers` (the
//! verdict on each response).

#[path = "../common/mod.rs"]
mod common;
use common::*;

mod answers;
mod bodies;
mod document;
mod env;
mod requests;
mod targets;

use answers::*;
use bodies::*;
use document::*;
use env::*;
use requests::*;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::tournament::{Tournament, TournamentAction};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use sqlx::PgPool;
use store::EventStore;
use testkit::seed;

const SEED: u64 = 0x5eed_f022;
const REQUESTS: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_survives_requests_generated_from_its_openapi_document() {
    fuzz(REQUESTS).await;
}

/// Issue 11's bar: at least 10,000 requests with 0 5xx and 0 dropped connections (a few
/// minutes; `cargo test -p api --test fuzz -- --ignored --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 10,000 requests"]
async fn ten_thousand_requests_without_a_5xx_or_a_dropped_connection() {
    fuzz(10_000).await;
}

/// Sends `FUZZ_REQUESTS` (default `default_requests`) generated requests and checks every
/// answer, then the state of the log, the projector and the reads.
async fn fuzz(default_requests: usize) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let env = Env::start().await;
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let requests = std::env::var("FUZZ_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_requests);

    let doc: Value = env
        .client
        .get(format!("{}/openapi.json", env.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations = operations(&doc);
    assert!(operations.len() >= 35, "{} operations", operations.len());
    assert!(
        operations.iter().filter(|o| o.body.is_some()).count() >= 9,
        "every write body is documented"
    );

    let mut fuzzer = Fuzzer {
        doc: &doc,
        rng: StdRng::seed_from_u64(seed),
        pools: Pools::default(),
        owner: &env.owner,
        other: &env.other,
        garbage: &env.garbage,
        seeded: &env.seeded,
        pinned: None,
        used_key: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
    };
    let mut stats = Stats {
        by_status: BTreeMap::new(),
        by_operation: BTreeMap::new(),
    };
    let started = Instant::now();
    let mut failures: Vec<String> = vec![];
    let mut slowest: Vec<(Duration, String)> = vec![];
    let mut recent: Vec<String> = vec![];
    let mut order: Vec<usize> = vec![];
    for n in 0..requests {
        if n % 40 == 0 {
            fuzzer.pools.refresh(&env.pool).await;
            // Writes wait for their events to be applied, so the projector is caught up here.
            // If not, every later write waits out its settle timeout: stop.
            if let Err(e) = caught_up(&env.pool, Duration::from_secs(2)).await {
                failures.push(format!(
                    "before request #{n}: {e}; last requests: {recent:#?}"
                ));
                break;
            }
        }
        if order.is_empty() {
            order = (0..operations.len()).collect();
            order.shuffle(&mut fuzzer.rng);
        }
        let op = &operations[order.pop().unwrap()];
        let request = fuzzer.request(op);
        recent.push(describe(&request, seed, n));
        if recent.len() > 40 {
            recent.remove(0);
        }
        let writes = op.method != "GET";
        let before = if writes { env.events().await } else { 0 };

        let sent = Instant::now();
        let answer = send(&env, &request).await;
        slowest.push((
            sent.elapsed(),
            format!("{} {}", request.method, request.target),
        ));
        slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        slowest.truncate(5);
        let (status, content_type, body) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                failures.push(format!("{e}\n{}", describe(&request, seed, n)));
                continue;
            }
        };
        *stats.by_status.entry(status).or_default() += 1;
        *stats
            .by_operation
            .entry(op.id.clone())
            .or_default()
            .entry(status)
            .or_default() += 1;
        let refused = (400..500).contains(&status);
        let after = if writes && refused {
            env.events().await
        } else {
            before
        };
        if let Err(e) = judge(status, &content_type, &body, before, after) {
            failures.push(format!("{e}\n{}", describe(&request, seed, n)));
            if failures.len() >= 12 {
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing requests:\n\n{}\n\nslowest: {slowest:?}",
        failures.len(),
        failures.join("\n\n")
    );
    let elapsed = started.elapsed();

    // Nothing was half-written: the projector applied every event, no build is parked, and
    // every tournament ever created still loads from its events.
    caught_up(&env.pool, Duration::from_secs(10)).await.unwrap();
    for build in projections::runner::builds(&env.pool).await.unwrap() {
        assert!(
            build.parked_at.is_none() && build.last_error.is_none(),
            "build {} ({}) parked: {:?}",
            build.build,
            build.name,
            build.last_error
        );
    }
    let slugs: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = 'Tournament'",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    let store = EventStore::new(env.pool.clone());
    for slug in &slugs {
        if let Err(e) = store.load::<Tournament>(slug).await {
            panic!("tournament {slug:?} no longer loads: {e}");
        }
    }
    // The reads still answer.
    for path in [
        "/v1/tournaments/hera/standings",
        "/v1/tournaments/hera/teams/standings",
        "/v1/tournaments/hera/players",
        "/v1/tournaments/hera/matches",
        "/v1/tournaments/hera",
        "/v1/tournaments",
    ] {
        let r = env
            .client
            .get(format!("{}{path}", env.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    }
    let health: Value = env
        .client
        .get(format!("{}/health", env.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "healthy", "{health}");

    eprintln!(
        "fuzz: {requests} requests over {} operations in {elapsed:.1?} (seed {seed}); \
         statuses {:?}",
        operations.len(),
        stats.by_status
    );
    for (id, statuses) in &stats.by_operation {
        eprintln!("  {id}: {statuses:?}");
    }
    for (took, request) in &slowest {
        eprintln!(
            "  slow: {took:.1?} {}",
            request.chars().take(120).collect::<String>()
        );
    }
}
