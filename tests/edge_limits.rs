//! End-to-end: the real `standings` binary's bounded edge. Connections that send no request
//! head in time are closed; connections over the per-address or process cap get a 503 with
//! `Retry-After` at once; streams are capped per client and counted by the rate limiter; and
//! 25,000 idle sockets from one address leave `/health` answering for everyone else.
//!
//! The 25,000 client sockets are held by two child processes (this test binary again, running
//! `hold_idle_sockets`), since one process may open at most 20,000 files here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_standings");

struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `standings serve --role api` on a fresh database, with `env` on top of test defaults.
async fn start(env: &[(&str, &str)]) -> Server {
    let url = embedded_pg::testing::fresh_database("edge_limits").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("stderr.log");
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--role", "api"])
        .env("DATABASE_URL", &url)
        .env("BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"));
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("spawn standings");
    let listening: SocketAddr = testkit::process::listening_on(&mut child)
        .unwrap_or_else(|| panic!("no listening line: {}", read(&log)))
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    Server {
        child,
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, listening.port())),
        _dir: dir,
    }
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A connection from a chosen loopback source address (127.0.0.0/8 is all ours).
fn connect_from(source: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((source, 0)).into())
        .expect("bind source address");
    socket.connect(&to.into()).expect("connect");
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Reads until the server closes (EOF or reset) and returns what came, or panics after 10 s.
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One HTTP/1.1 GET on a fresh connection from `source`: (status, head + body).
fn get_from(source: Ipv4Addr, to: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = connect_from(source, to);
    // One write: a refused connection may already be closed (its canned 503 sent), and
    // `write!` would send the pieces separately, the second failing with EPIPE after the
    // server's RST. A write error is fine as long as the answer was received.
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    if let Err(e) = stream.write_all(request.as_bytes()) {
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "write: {e}"
        );
    }
    let text = read_until_closed(&mut stream);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn silent_partial_and_idle_keep_alive_connections_are_closed() {
    let server = start(&[("HEADER_READ_TIMEOUT", "1")]).await;
    let local = Ipv4Addr::LOCALHOST;
    // Silent, a trickled head (streams are classified by the lean listener, the rest by
    // hyper: both must close), and a keep-alive connection after its response.
    let mut silent = connect_from(local, server.addr);
    let mut partial = connect_from(local, server.addr);
    partial
        .write_all(b"GET /health HTTP/1.1\r\nHost: t")
        .expect("write");
    let mut partial_stream = connect_from(local, server.addr);
    partial_stream
        .write_all(b"GET /v1/stream HTTP/1.1\r\nHost: t")
        .expect("write");
    let mut idle = connect_from(local, server.addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let started = Instant::now();
    assert_eq!(read_until_closed(&mut silent), "");
    let (partial_text, partial_stream_text) = (
        read_until_closed(&mut partial),
        read_until_closed(&mut partial_stream),
    );
    assert!(!partial_text.contains("200 OK"), "{partial_text}");
    assert!(
        !partial_stream_text.contains("200 OK"),
        "{partial_stream_text}"
    );
    let answered = read_until_closed(&mut idle);
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    let took = started.elapsed();
    // 1 s allowed; the 10 s read timeout of the client would fail first on main (none).
    assert!(took < Duration::from_secs(8), "closed after {took:?}");
}

#[tokio::test]
async fn connections_over_the_caps_get_503_with_retry_after_at_once() {
    let server = start(&[
        ("TRUSTED_PROXIES", "none"),
        ("MAX_CONNECTIONS", "30"),
        ("MAX_CONNECTIONS_PER_IP", "10"),
    ])
    .await;
    let a = Ipv4Addr::new(127, 0, 0, 1);
    let held: Vec<TcpStream> = (0..10).map(|_| connect_from(a, server.addr)).collect();
    // Wait until the server has counted them (it accepts asynchronously).
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (status, text) = get_from(a, server.addr, "/health");
    assert_eq!(status, 503, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 5"),
        "{text}"
    );
    assert!(text.contains("from this address"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Another address is served.
    let (status, text) = get_from(Ipv4Addr::new(127, 0, 0, 2), server.addr, "/health");
    assert_eq!(status, 200, "{text}");
    // Fill the process cap from other addresses: the next connection is refused, anyone's.
    let more: Vec<TcpStream> = (0..20)
        .map(|i| connect_from(Ipv4Addr::new(127, 0, 1, 1 + i / 5), server.addr))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (status, text) = get_from(Ipv4Addr::new(127, 0, 0, 3), server.addr, "/health");
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("Too many open connections"), "{text}");
    // Closing some makes room again.
    drop(held);
    drop(more);
    std::thread::sleep(Duration::from_millis(300));
    let (status, text) = get_from(Ipv4Addr::new(127, 0, 0, 3), server.addr, "/health");
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn streams_are_capped_per_client_and_rate_limited_and_cursors_validated() {
    let server = start(&[
        ("TRUSTED_PROXIES", "none"),
        ("MAX_STREAMS_PER_CLIENT", "2"),
        ("RATE_LIMIT_PER_MINUTE", "4"),
    ])
    .await;
    let a = Ipv4Addr::new(127, 0, 0, 1);
    let open_stream = |source: Ipv4Addr| {
        let mut stream = connect_from(source, server.addr);
        stream
            .write_all(b"GET /v1/stream HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("write");
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).expect("status line");
        (String::from_utf8_lossy(&head).into_owned(), stream)
    };
    let (first, _s1) = open_stream(a);
    let (second, _s2) = open_stream(a);
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("HTTP/1.1 200", "HTTP/1.1 200")
    );
    let (status, text) = get_from(a, server.addr, "/v1/stream");
    assert_eq!(status, 429, "{text}");
    assert!(
        text.contains("Rate limit exceeded: 2 open streams"),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 5"),
        "{text}"
    );
    // Another client may still open streams; its connects are counted: 4 a minute.
    let b = Ipv4Addr::new(127, 0, 0, 2);
    let (_, s3) = open_stream(b);
    drop(s3);
    let (_, s4) = open_stream(b);
    drop(s4);
    let (_, s5) = open_stream(b);
    drop(s5);
    let (_, s6) = open_stream(b);
    drop(s6);
    let (status, text) = get_from(b, server.addr, "/v1/stream");
    assert_eq!(status, 429, "{text}");
    assert!(
        text.contains("Rate limit exceeded: 4 per 1 minute"),
        "{text}"
    );
    // The document's minimum for `last_event_id` is 0.
    let (status, text) = get_from(
        Ipv4Addr::new(127, 0, 0, 3),
        server.addr,
        "/v1/stream?last_event_id=-5",
    );
    assert_eq!(status, 422, "{text}");
    assert!(
        text.contains("last_event_id must be an integer >= 0"),
        "{text}"
    );
}

/// Raises this process's soft open-file limit to the hard one; returns it.
fn raise_open_files() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    limit.rlim_cur
}

const HOLD_ENV: &str = "EDGE_LIMITS_HOLD";
const IDLE_SOCKETS: usize = 25_000;
const HOLDERS: usize = 2;

/// Child process role: opens the sockets named by `EDGE_LIMITS_HOLD=addr,count,first_port`
/// from 127.0.0.1, says how many it holds, and keeps them until stdin closes. (Does nothing
/// in a normal test run.)
///
/// Each socket is bound to an explicit source port (from `first_port` up, skipping ports in
/// use): past ~14,000 connections from one address to one port, the kernel's search for a
/// free ephemeral port takes longer with every connect (measured: 19,000 take 20 s).
#[test]
fn hold_idle_sockets() {
    let Ok(spec) = std::env::var(HOLD_ENV) else {
        return;
    };
    raise_open_files();
    let mut parts = spec.split(',');
    let mut next = || parts.next().expect("addr,count,first_port");
    let addr: SocketAddr = next().parse().expect("addr");
    let count: usize = next().parse().expect("count");
    let mut port: u16 = next().parse().expect("first_port");
    let mut held = Vec::with_capacity(count);
    // A server that stops accepting (descriptors exhausted) makes connects hang: report then.
    let deadline = Instant::now() + Duration::from_secs(60);
    while held.len() < count && port < u16::MAX && Instant::now() < deadline {
        port += 1;
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        // Lets a port whose old connection lingers in TIME_WAIT be used again.
        socket.set_reuse_address(true).expect("SO_REUSEADDR");
        if socket
            .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)).into())
            .is_err()
        {
            continue;
        }
        if socket
            .connect_timeout(&addr.into(), Duration::from_secs(5))
            .is_ok()
        {
            held.push(socket);
        }
    }
    println!("HELD {}", held.len());
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[tokio::test]
async fn twenty_five_thousand_idle_sockets_from_one_address_leave_health_answering() {
    // Default caps; loopback is trusted by default (a local proxy), so say it is not.
    let server = start(&[("TRUSTED_PROXIES", "none")]).await;
    let mut holders = Vec::new();
    for holder in 0..HOLDERS {
        let first_port = 20_000 + holder * 20_000;
        let child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "hold_idle_sockets",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                HOLD_ENV,
                format!("{},{},{first_port}", server.addr, IDLE_SOCKETS / HOLDERS),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn holder");
        holders.push(child);
    }
    let mut held = 0;
    // Kept open until the holders exit (they write libtest's summary last).
    let mut outputs = Vec::new();
    for holder in &mut holders {
        let mut stdout = BufReader::new(holder.stdout.take().expect("stdout"));
        let line = (&mut stdout)
            .lines()
            .map_while(Result::ok)
            // libtest writes `test hold_idle_sockets ... ` before the test's own output.
            .find_map(|line| Some(line.split_once("HELD ")?.1.trim().to_owned()))
            .expect("holder report");
        held += line.parse::<usize>().expect("count");
        outputs.push(stdout);
    }
    assert_eq!(
        held, IDLE_SOCKETS,
        "the client side could not open them all"
    );
    // Another client: /health answers, quickly.
    let other = Ipv4Addr::new(127, 0, 0, 2);
    let mut took = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let (status, text) = get_from(other, server.addr, "/health");
        took.push(started.elapsed());
        assert_eq!(status, 200, "{text}");
    }
    took.sort();
    println!(
        "/health with {IDLE_SOCKETS} idle sockets from 127.0.0.1: median {:?}, max {:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    );
    let (status, text) = get_from(other, server.addr, "/metrics");
    assert_eq!(status, 200);
    let open: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("standings_http_connections "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connection gauge: {text}"));
    assert!(open <= 257.0, "{open} connections held for one address");
    for mut holder in holders {
        drop(holder.stdin.take());
        let _ = holder.wait();
    }
    drop(outputs);
}
