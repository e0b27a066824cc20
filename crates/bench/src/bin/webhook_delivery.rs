//! Webhook delivery: `--endpoints` local receivers (one of them answering after `--slow-ms`)
//! all subscribed to one tournament; `--notifications` notifications committed one every
//! `--interval-ms`, each followed by the NOTIFY the projector's commit sends. Reports the
//! delivery throughput to the fast endpoints and the time from each notification's commit to
//! its arrival at each fast endpoint (p50, p99, max), and how far the slow one got.
//!
//! `cargo run --release -p bench --bin webhook_delivery -- --endpoints 100 --notifications 200`
//!
//! The subscription and notification tables are made here as the webhook tests make them
//! (crates/webhooks/tests/support): the projectors that write them are not what is measured.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use clap::Parser;
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    endpoints: usize,
    #[arg(long, default_value_t = 200)]
    notifications: i64,
    #[arg(long, default_value_t = 10)]
    interval_ms: u64,
    /// Response time of endpoint 0.
    #[arg(long, default_value_t = 2000)]
    slow_ms: u64,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

type Arrivals = Arc<Mutex<Vec<(usize, String, Instant)>>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = bench::rig::data_dir("bench-webhooks-")?;
    let config = embedded_pg::ClusterConfig::throwaway(&dir);
    bench::rig::on_cluster(config, &dir, "bench", async |_, url| run(&url, &args).await).await
}

async fn receive(
    State((arrivals, slow)): State<(Arrivals, Duration)>,
    Path(n): Path<usize>,
    headers: HeaderMap,
) -> &'static str {
    let at = Instant::now();
    if n == 0 {
        tokio::time::sleep(slow).await;
    }
    let id = headers
        .get("x-standings-notification-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    arrivals.lock().unwrap().push((n, id, at));
    "ok"
}

async fn run(url: &str, args: &Args) -> anyhow::Result<()> {
    let pool = bench::rig::migrated_pool(url, 16).await?;
    sqlx::raw_sql(
        "CREATE TABLE live.webhook_subscriptions (
             subscription_id text PRIMARY KEY, tournament_id bigint NOT NULL, url text NOT NULL,
             format text NOT NULL, kinds text[] NOT NULL, description text,
             paused boolean NOT NULL, secret_fingerprint text NOT NULL,
             created_position bigint NOT NULL, created_at timestamptz NOT NULL,
             updated_at timestamptz NOT NULL);
         CREATE TABLE live.notifications (
             id text PRIMARY KEY, tournament_id bigint NOT NULL, kind text NOT NULL,
             position bigint NOT NULL, ordinal int NOT NULL, occurred_at timestamptz NOT NULL,
             body jsonb NOT NULL, UNIQUE (tournament_id, position, ordinal));",
    )
    .execute(&pool)
    .await?;
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route("/hook/{n}", axum::routing::post(receive))
        .with_state((arrivals.clone(), Duration::from_millis(args.slow_ms)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    for n in 0..args.endpoints {
        let id = format!("sub-{n}");
        sqlx::query(
            "INSERT INTO live.webhook_subscriptions
                    (subscription_id, tournament_id, url, format, kinds, paused,
                     secret_fingerprint, created_position, created_at, updated_at)
             VALUES ($1, 1, $2, 'json', '{}', false, 'bench', 0, now(), now())",
        )
        .bind(&id)
        .bind(format!("http://{addr}/hook/{n}"))
        .execute(&pool)
        .await?;
        sqlx::query("INSERT INTO webhook_secrets VALUES ($1, 'whsec_bench', now())")
            .bind(&id)
            .execute(&pool)
            .await?;
    }
    let config = webhooks::DeliveryConfig {
        policy: webhooks::UrlPolicy {
            allow_http: true,
            allowed: webhooks::UrlPolicy::parse_allowed("127.0.0.1").map_err(anyhow::Error::msg)?,
        },
        concurrency: args.concurrency,
        sweep: Duration::from_secs(1),
        ..webhooks::DeliveryConfig::default()
    };
    let deliverer = webhooks::Deliverer::new(config, pool.clone())?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(deliverer.run(stopped));
    // Let the worker take its lock and LISTEN.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut committed = HashMap::new();
    let began = Instant::now();
    for position in 1..=args.notifications {
        let id = format!("n-{position}-match_finished-0");
        let body = json!({"id": id, "kind": "match_finished", "position": position,
            "occurred_at": "2026-12-07T16:00:00Z", "tournament": {"slug": "bench", "name": "Bench"},
            "data": {"match_id": position, "map": "Arabia", "players": []}});
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO live.notifications VALUES ($1, 1, 'match_finished', $2, 0, now(), $3)",
        )
        .bind(&id)
        .bind(position)
        .bind(body)
        .execute(&mut *tx)
        .await?;
        sqlx::query("SELECT pg_notify('standings_nudges', '')")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        committed.insert(id, Instant::now());
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    let fast_expected = (args.endpoints - 1) * args.notifications as usize;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let fast = arrivals.lock().unwrap().iter().filter(|a| a.0 != 0).count();
        if fast >= fast_expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = began.elapsed();
    let arrivals = arrivals.lock().unwrap().clone();
    let mut latencies: Vec<f64> = arrivals
        .iter()
        .filter(|a| a.0 != 0)
        .filter_map(|(_, id, at)| {
            committed
                .get(id)
                .map(|c| at.duration_since(*c).as_secs_f64())
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    let slow = arrivals.iter().filter(|a| a.0 == 0).count();
    println!(
        "endpoints {} (1 slow: {} ms), notifications {} every {} ms, concurrency {}",
        args.endpoints, args.slow_ms, args.notifications, args.interval_ms, args.concurrency
    );
    println!(
        "fast deliveries {} of {} in {:.2} s: {:.0} deliveries/s",
        latencies.len(),
        fast_expected,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "commit -> delivery (fast endpoints): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pick(0.5) * 1e3,
        pick(0.99) * 1e3,
        pick(1.0) * 1e3
    );
    println!(
        "slow endpoint: {slow} of {} delivered meanwhile",
        args.notifications
    );
    let _ = stop.send(true);
    let _ = worker.await;
    pool.close().await;
    Ok(())
}
