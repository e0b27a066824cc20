//! Wiring for the upstream side: the poller's settings, and `standings sim`.

use anyhow::Context;

use crate::settings::{PollerArgs, SimArgs, StreamArgs};

/// The poller's configuration from flags and environment (production client settings).
pub fn poller_config(args: &PollerArgs) -> poller::PollerConfig {
    let mut config = poller::PollerConfig::with_base_url(args.upstream_base_url.clone());
    config.stats_interval = args.poll_stats_seconds;
    config.matches_interval = args.poll_matches_seconds;
    config.live_interval = args.poll_live_seconds;
    config.catalog_interval = args.poll_catalog_seconds;
    config.catalog_retry = config.catalog_retry.min(args.poll_catalog_seconds);
    config.sweep_period = args.poll_sweep_seconds;
    config.upstream.budget = poller::BudgetConfig {
        requests_per_second: args.upstream_requests_per_second,
        max_in_flight: args.upstream_max_in_flight,
        recovery: args.upstream_budget_recovery_seconds,
    };
    // A dead leader is replaced within two stats cycles, however short the cadence.
    config.lock_retry = config.lock_retry.min(args.poll_stats_seconds / 2);
    config.lock_check = config.lock_check.min(args.poll_stats_seconds / 2);
    config
}

/// The stream poller's configuration: a platform is on only with its credentials.
pub fn streams_config(args: &StreamArgs) -> stream_live::StreamsConfig {
    let defaults = stream_live::StreamsConfig::default();
    stream_live::StreamsConfig {
        twitch: stream_live::TwitchConfig::from_credentials(
            args.twitch_client_id.as_deref(),
            args.twitch_client_secret.as_deref(),
            &args.twitch_auth_base_url,
            &args.twitch_api_base_url,
        ),
        youtube: stream_live::YoutubeConfig::from_key(
            args.youtube_api_key.as_deref(),
            &args.youtube_api_base_url,
            args.youtube_daily_quota,
        ),
        twitch_interval: args.poll_twitch_seconds,
        youtube_interval: args.poll_youtube_seconds,
        // A dead leader is replaced within two Twitch cycles, however short the cadence.
        lock_retry: defaults.lock_retry.min(args.poll_twitch_seconds / 2),
        lock_check: defaults.lock_check.min(args.poll_twitch_seconds / 2),
        ..defaults
    }
}

/// `standings sim`: serve the simulated community API until SIGINT/SIGTERM.
pub async fn sim(args: SimArgs) -> anyhow::Result<()> {
    let config = sim::SimConfig {
        seed: args.seed,
        players: args.players,
        speed: args.speed,
        activity: args.activity,
        lobbies: args.lobbies,
        frozen: args.frozen,
        ..sim::SimConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (set SIM_BIND or --bind to another address)",
                args.bind
            )
        })?;
    let local = listener.local_addr().unwrap_or(args.bind);
    let handle = sim::SimHandle::new(config);
    let normalized = handle.config().clone();
    tracing::info!(
        bind = %local,
        seed = normalized.seed,
        players = normalized.players,
        speed = normalized.speed,
        activity = normalized.activity,
        frozen = normalized.frozen,
        "simulator serving"
    );
    let stop_signal = crate::shutdown_signal();
    // A plain line for people and scripts (the bind address may say port 0).
    println!("standings: simulator listening on http://{local}");
    tokio::select! {
        served = sim::serve(listener, handle) => served.context("simulator server failed"),
        () = stop_signal => {
            tracing::info!("simulator stopped");
            Ok(())
        }
    }
}
