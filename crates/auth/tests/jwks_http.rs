//! The verifier against a JWKS served over real HTTP on 127.0.0.1, counting requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth::{AuthError, Claims, DevKey, Verifier, VerifierConfig, AUDIENCE, MAX_TOKEN_LEN};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Keys are generated once per test binary (2048-bit generation is slow in debug builds).
fn key(slot: usize) -> &'static DevKey {
    static KEYS: [OnceLock<DevKey>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    KEYS[slot].get_or_init(DevKey::generate)
}

fn key_a() -> &'static DevKey {
    key(0)
}

fn key_b() -> &'static DevKey {
    key(1)
}

fn key_c() -> &'static DevKey {
    key(2)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    ServerError,
    Garbage,
}

struct ServerState {
    jwks: Mutex<Value>,
    mode: Mutex<Mode>,
    delay: Mutex<Duration>,
    hits: AtomicUsize,
}

/// A JWKS endpoint whose document, failure mode and latency the test controls.
struct JwksServer {
    url: String,
    state: Arc<ServerState>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    async fn start(keys: &[&DevKey]) -> JwksServer {
        let state = Arc::new(ServerState {
            jwks: Mutex::new(jwks_of(keys)),
            mode: Mutex::new(Mode::Ok),
            delay: Mutex::new(Duration::ZERO),
            hits: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/auth/jwks", get(serve_jwks))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/auth/jwks", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        JwksServer { url, state, task }
    }

    fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    fn publish(&self, keys: &[&DevKey]) {
        *self.state.jwks.lock().unwrap() = jwks_of(keys);
    }

    fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    fn config(&self) -> VerifierConfig {
        VerifierConfig::new(&self.url)
    }

    fn verifier(&self) -> Verifier {
        Verifier::new(self.config())
    }

    /// Stops listening: later fetches get "connection refused".
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn serve_jwks(State(state): State<Arc<ServerState>>) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    let delay = *state.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mode = *state.mode.lock().unwrap();
    match mode {
        Mode::Ok => axum::Json(state.jwks.lock().unwrap().clone()).into_response(),
        Mode::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Mode::Garbage => (StatusCode::OK, "{\"keys\": [tru").into_response(),
    }
}

fn jwks_of(keys: &[&DevKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The user UUID a test calls `name` (subjects must be UUIDs); `""` stays empty.
fn uid(name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    // FNV-1a: a stable, distinct id per name.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("00000000-0000-4000-8000-{:012x}", hash & 0xffff_ffff_ffff)
}

fn claims(sub: &str) -> Value {
    json!({ "sub": uid(sub), "aud": [AUDIENCE], "iat": now(), "exp": now() + 600 })
}

fn token(key: &DevKey, sub: &str) -> String {
    key.mint(&uid(sub), Duration::from_secs(600), None)
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn ok(sub: &str) -> Result<Claims, AuthError> {
    Ok(Claims { sub: uid(sub) })
}

/// Signs `claims` with `key` under any algorithm jsonwebtoken knows for RSA keys.
fn sign_rsa(key: &DevKey, alg: Algorithm, claims: &Value) -> String {
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(&key.private_key_pem()).unwrap();
    let der = private.to_pkcs1_der().unwrap();
    let mut header = Header::new(alg);
    header.kid = Some(key.kid().to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(der.as_bytes())).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Claims

#[tokio::test]
async fn valid_token_is_accepted_and_keys_are_cached() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    assert_eq!(
        server.hits(),
        0,
        "nothing is fetched before the first verify"
    );
    assert_eq!(
        verifier.verify(&token(key_a(), "user-1")).await,
        ok("user-1")
    );
    assert_eq!(server.hits(), 1);
    let clone = verifier.clone();
    for i in 0..5 {
        let sub = format!("user-{i}");
        assert_eq!(clone.verify(&token(key_a(), &sub)).await, ok(&sub));
    }
    assert_eq!(server.hits(), 1, "clones share the cache");
}

#[tokio::test]
async fn expired_token_is_refused_beyond_the_leeway() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    let hour_ago = with(claims("u"), "exp", json!(now() - 3600));
    let token = key_a().sign_claims(&hour_ago, Some(key_a().kid()));
    assert_eq!(verifier.verify(&token).await, Err(AuthError::Invalid));
    // Inside the documented 30 s leeway: still accepted (clock skew).
    let just_now = with(claims("u"), "exp", json!(now() - 5));
    let token = key_a().sign_claims(&just_now, Some(key_a().kid()));
    assert_eq!(verifier.verify(&token).await, ok("u"));
    // `exp` is required.
    let token = key_a().sign_claims(&without(claims("u"), "exp"), Some(key_a().kid()));
    assert_eq!(verifier.verify(&token).await, Err(AuthError::Invalid));
    // A token that is not valid yet (`nbf` an hour ahead).
    let early = with(claims("u"), "nbf", json!(now() + 3600));
    let token = key_a().sign_claims(&early, Some(key_a().kid()));
    assert_eq!(verifier.verify(&token).await, Err(AuthError::Invalid));
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    let kid = Some(key_a().kid());
    for aud in [json!("other"), json!(["other"]), json!([]), json!(null)] {
        let token = key_a().sign_claims(&with(claims("u"), "aud", aud.clone()), kid);
        assert_eq!(
            verifier.verify(&token).await,
            Err(AuthError::Invalid),
            "{aud}"
        );
    }
    let token = key_a().sign_claims(&without(claims("u"), "aud"), kid);
    assert_eq!(verifier.verify(&token).await, Err(AuthError::Invalid));
    // A single string, or a list containing the audience, is fine.
    for aud in [json!(AUDIENCE), json!(["other", AUDIENCE])] {
        let token = key_a().sign_claims(&with(claims("u"), "aud", aud.clone()), kid);
        assert_eq!(verifier.verify(&token).await, ok("u"), "{aud}");
    }
}

#[tokio::test]
async fn issuer_is_checked_only_when_configured() {
    let server = JwksServer::start(&[key_a()]).await;
    let issuer = "https://auth.example";
    let strict = Verifier::new(VerifierConfig {
        issuer: Some(issuer.to_owned()),
        ..server.config()
    });
    let good = key_a().mint(&uid("u"), Duration::from_secs(60), Some(issuer));
    let wrong = key_a().mint(
        &uid("u"),
        Duration::from_secs(60),
        Some("https://evil.example"),
    );
    let none = key_a().mint(&uid("u"), Duration::from_secs(60), None);
    assert_eq!(strict.verify(&good).await, ok("u"));
    assert_eq!(strict.verify(&wrong).await, Err(AuthError::Invalid));
    assert_eq!(strict.verify(&none).await, Err(AuthError::Invalid));

    for issuer in [None, Some(String::new())] {
        let lax = Verifier::new(VerifierConfig {
            issuer,
            ..server.config()
        });
        for token in [&good, &wrong, &none] {
            assert_eq!(lax.verify(token).await, ok("u"));
        }
    }
}

#[tokio::test]
async fn missing_or_empty_subject_is_its_own_error() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    let kid = Some(key_a().kid());
    let cases = [
        (without(claims("u"), "sub"), Err(AuthError::MissingSubject)),
        (claims(""), Err(AuthError::MissingSubject)),
        (
            with(claims("u"), "sub", json!(null)),
            Err(AuthError::MissingSubject),
        ),
        (with(claims("u"), "sub", json!(42)), Err(AuthError::Invalid)),
        // Not the auth service's user UUID: never a user id (it reaches logs and `/v1/me`).
        (
            with(claims("u"), "sub", json!("../../admin")),
            Err(AuthError::Invalid),
        ),
        (
            with(claims("u"), "sub", json!("user-1")),
            Err(AuthError::Invalid),
        ),
        (
            with(
                claims("u"),
                "sub",
                json!("11111111-1111-1111-1111-11111111111"),
            ),
            Err(AuthError::Invalid),
        ),
    ];
    for (claims, expected) in cases {
        let token = key_a().sign_claims(&claims, kid);
        assert_eq!(verifier.verify(&token).await, expected, "{claims}");
    }
    assert_eq!(
        AuthError::MissingSubject.to_string(),
        "Invalid token: missing subject"
    );
    assert_eq!(AuthError::Invalid.to_string(), "Invalid token");
    assert_eq!(AuthError::Missing.to_string(), "Not authenticated");
}

// ---------------------------------------------------------------------------------------------
// Algorithms and malformed input

#[tokio::test]
async fn alg_none_is_refused() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    let body = b64(&claims("u"));
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "none", "kid": key_a().kid()}),
        json!({"alg": "None", "kid": key_a().kid()}),
    ] {
        let head = b64(&header);
        for token in [format!("{head}.{body}."), format!("{head}.{body}")] {
            assert_eq!(verifier.verify(&token).await, Err(AuthError::Invalid));
        }
    }
    // A real RS256 header over a stripped signature fails too.
    let real = token(key_a(), "u");
    let stripped = real.rsplit_once('.').unwrap().0.to_owned() + ".";
    assert_eq!(verifier.verify(&stripped).await, Err(AuthError::Invalid));
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    // Warm the cache, so the only thing standing between the forgery and acceptance is the check.
    assert_eq!(verifier.verify(&token(key_a(), "u")).await, ok("u"));
    let public_pem = key_a().public_key_pem();
    let jwk_text = serde_json::to_string(&key_a().jwk()).unwrap();
    for secret in [public_pem.as_bytes(), jwk_text.as_bytes()] {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.kid = Some(key_a().kid().to_owned());
            let forged =
                jsonwebtoken::encode(&header, &claims("admin"), &EncodingKey::from_secret(secret))
                    .unwrap();
            assert_eq!(verifier.verify(&forged).await, Err(AuthError::Invalid));
        }
    }
}

#[tokio::test]
async fn other_rsa_algorithms_are_refused() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    for alg in [
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
    ] {
        let token = sign_rsa(key_a(), alg, &claims("u"));
        assert_eq!(
            verifier.verify(&token).await,
            Err(AuthError::Invalid),
            "{alg:?}"
        );
    }
    assert_eq!(server.hits(), 0, "refused before any key is fetched");
    let token = sign_rsa(key_a(), Algorithm::RS256, &claims("u"));
    assert_eq!(verifier.verify(&token).await, ok("u"));
}

#[tokio::test]
async fn garbage_tokens_are_refused_without_fetching() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    assert_eq!(verifier.verify("").await, Err(AuthError::Missing));
    let real = token(key_a(), "u");
    let too_long = format!("{real}{}", "A".repeat(MAX_TOKEN_LEN));
    for garbage in [
        "garbage",
        "a.b.c",
        "...",
        "eyJhbGciOiJSUzI1NiJ9",
        "eyJhbGciOiJSUzI1NiJ9.e30",
        "%%%.%%%.%%%",
        "\u{0}\u{1}.\u{2}",
        too_long.as_str(),
    ] {
        assert_eq!(
            verifier.verify(garbage).await,
            Err(AuthError::Invalid),
            "{garbage:.40}"
        );
    }
    assert_eq!(server.hits(), 0);
    // A tampered payload under a genuine header and signature.
    let mut parts: Vec<String> = real.split('.').map(str::to_owned).collect();
    parts[1] = b64(&claims("someone-else"));
    assert_eq!(
        verifier.verify(&parts.join(".")).await,
        Err(AuthError::Invalid)
    );
    // A genuine token whose signature is corrupted.
    let mut bad_sig = real.clone();
    let last = bad_sig.pop().unwrap();
    bad_sig.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(verifier.verify(&bad_sig).await, Err(AuthError::Invalid));
    assert_eq!(verifier.verify(&real).await, ok("u"));
}

// ---------------------------------------------------------------------------------------------
// Key selection, refetch and rotation

#[tokio::test]
async fn token_without_kid_tries_every_key() {
    let server = JwksServer::start(&[key_a(), key_b()]).await;
    let verifier = server.verifier();
    assert_eq!(
        verifier
            .verify(&key_b().sign_claims(&claims("b"), None))
            .await,
        ok("b")
    );
    assert_eq!(
        verifier
            .verify(&key_a().sign_claims(&claims("a"), None))
            .await,
        ok("a")
    );
    assert_eq!(server.hits(), 1);
    // Signed by a key the JWKS does not have: refused.
    let stranger = key_c().sign_claims(&claims("c"), None);
    assert_eq!(verifier.verify(&stranger).await, Err(AuthError::Invalid));
}

#[tokio::test]
async fn a_known_kid_with_a_foreign_signature_is_refused_without_refetch() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    assert_eq!(verifier.verify(&token(key_a(), "u")).await, ok("u"));
    let forged = key_b().sign_claims(&claims("u"), Some(key_a().kid()));
    assert_eq!(verifier.verify(&forged).await, Err(AuthError::Invalid));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn unknown_kid_triggers_exactly_one_refetch_and_a_rotated_key_becomes_valid() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = Verifier::new(VerifierConfig {
        min_refresh_interval: Duration::from_millis(300),
        ..server.config()
    });
    assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    assert_eq!(server.hits(), 1);

    // B is not published yet: one refetch, then refused.
    assert_eq!(
        verifier.verify(&token(key_b(), "b")).await,
        Err(AuthError::Invalid)
    );
    assert_eq!(server.hits(), 2);

    // The auth service rotates to B; once the interval has passed, B's first token refetches.
    server.publish(&[key_b()]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(verifier.verify(&token(key_b(), "b")).await, ok("b"));
    assert_eq!(server.hits(), 3);
    assert_eq!(verifier.verify(&token(key_b(), "b2")).await, ok("b2"));
    assert_eq!(server.hits(), 3, "the new key is cached");

    // A is gone from the refetched set: its tokens stop verifying.
    assert_eq!(
        verifier.verify(&token(key_a(), "a")).await,
        Err(AuthError::Invalid)
    );
}

#[tokio::test]
async fn rotation_right_after_the_first_load_refetches_at_once() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier(); // default 30 s interval
    assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    server.publish(&[key_a(), key_b()]);
    assert_eq!(verifier.verify(&token(key_b(), "b")).await, ok("b"));
    assert_eq!(
        server.hits(),
        2,
        "the first load does not count against the interval"
    );
    assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn refetch_rate_is_bounded() {
    let server = JwksServer::start(&[key_a()]).await;
    // Generous, so a loaded machine cannot stretch the burst below past it.
    let interval = Duration::from_secs(2);
    let verifier = Verifier::new(VerifierConfig {
        min_refresh_interval: interval,
        ..server.config()
    });
    assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    assert_eq!(server.hits(), 1);

    // 40 tokens with unknown kids, concurrently and then one after another: one refetch.
    let unknown: Vec<String> = (0..40)
        .map(|i| key_b().sign_claims(&claims("x"), Some(&format!("unknown-{i}"))))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for token in &unknown[..20] {
        let (verifier, token) = (verifier.clone(), token.clone());
        tasks.spawn(async move { verifier.verify(&token).await });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap(), Err(AuthError::Invalid));
    }
    for token in unknown.iter().skip(20) {
        assert_eq!(verifier.verify(token).await, Err(AuthError::Invalid));
    }
    assert_eq!(server.hits(), 2, "at most one refetch per interval");
    // Cached keys keep working meanwhile, without fetches.
    assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    assert_eq!(server.hits(), 2);

    // After the interval, one more refetch is allowed.
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    for token in &unknown {
        assert_eq!(verifier.verify(token).await, Err(AuthError::Invalid));
    }
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn concurrent_requests_for_a_new_key_share_one_fetch() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = server.verifier();
    assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    server.publish(&[key_a(), key_b()]);
    server.set_delay(Duration::from_millis(200));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let verifier = verifier.clone();
        let token = token(key_b(), &format!("b{i}"));
        tasks.spawn(async move { (i, verifier.verify(&token).await) });
    }
    while let Some(result) = tasks.join_next().await {
        let (i, verdict) = result.unwrap();
        assert_eq!(verdict, ok(&format!("b{i}")));
    }
    assert_eq!(server.hits(), 2);
}

// ---------------------------------------------------------------------------------------------
// JWKS failures

#[tokio::test]
async fn jwks_server_down_after_first_load_keeps_verifying_cached_keys() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = Verifier::new(VerifierConfig {
        min_refresh_interval: Duration::ZERO,
        fetch_timeout: Duration::from_secs(2),
        ..server.config()
    });
    assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    server.stop().await;
    for i in 0..3 {
        assert_eq!(
            verifier.verify(&token(key_a(), "a")).await,
            ok("a"),
            "round {i}"
        );
        // An unknown key cannot be fetched: refused, not an error or a panic.
        assert_eq!(
            verifier.verify(&token(key_b(), "b")).await,
            Err(AuthError::Invalid)
        );
    }
}

#[tokio::test]
async fn jwks_errors_and_garbage_keep_the_cached_keys() {
    let server = JwksServer::start(&[key_a()]).await;
    let verifier = Verifier::new(VerifierConfig {
        min_refresh_interval: Duration::ZERO,
        ..server.config()
    });
    assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    server.publish(&[key_a(), key_b()]);
    for mode in [Mode::ServerError, Mode::Garbage] {
        server.set_mode(mode);
        let before = server.hits();
        assert_eq!(
            verifier.verify(&token(key_b(), "b")).await,
            Err(AuthError::Invalid)
        );
        assert_eq!(server.hits(), before + 1);
        assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    }
    // Once the JWKS answers again, the new key loads.
    server.set_mode(Mode::Ok);
    assert_eq!(verifier.verify(&token(key_b(), "b")).await, ok("b"));
}

#[tokio::test]
async fn failed_first_load_is_retried_after_the_interval() {
    let server = JwksServer::start(&[key_a()]).await;
    server.set_mode(Mode::ServerError);
    let interval = Duration::from_millis(1500);
    let verifier = Verifier::new(VerifierConfig {
        min_refresh_interval: interval,
        ..server.config()
    });
    for _ in 0..5 {
        assert_eq!(
            verifier.verify(&token(key_a(), "a")).await,
            Err(AuthError::Invalid)
        );
    }
    assert_eq!(server.hits(), 1, "failed loads are rate-limited too");
    server.set_mode(Mode::Ok);
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    assert_eq!(verifier.verify(&token(key_a(), "a")).await, ok("a"));
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn unreachable_jwks_url_refuses_tokens() {
    // Bind and release a port, so nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let verifier = Verifier::new(VerifierConfig::new(format!("http://{addr}/auth/jwks")));
    assert_eq!(
        verifier.verify(&token(key_a(), "a")).await,
        Err(AuthError::Invalid)
    );
    let verifier = Verifier::new(VerifierConfig::new("not a url"));
    assert_eq!(
        verifier.verify(&token(key_a(), "a")).await,
        Err(AuthError::Invalid)
    );
}

// ---------------------------------------------------------------------------------------------
// Static key sets (the server's own dev JWKS)

#[tokio::test]
async fn static_jwks_verifies_without_http() {
    let verifier = Verifier::with_static_jwks(&key_a().jwks(), VerifierConfig::new(""));
    assert_eq!(verifier.verify(&token(key_a(), "dev")).await, ok("dev"));
    assert_eq!(
        verifier.verify(&token(key_b(), "b")).await,
        Err(AuthError::Invalid)
    );
    let empty = Verifier::with_static_jwks(&json!({"nope": 1}), VerifierConfig::new(""));
    assert_eq!(
        empty.verify(&token(key_a(), "dev")).await,
        Err(AuthError::Invalid)
    );
}
