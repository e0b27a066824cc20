//! Answers: the verdict on one response, and sending a request over a raw connection.

use super::*;

/// A 4xx body is one of the contract's error shapes (seed contract §1.0.2, §1.0.6).
pub(super) fn error_shape(status: u16, body: &Value) -> Result<(), String> {
    let Some(object) = body.as_object() else {
        return Err("not a JSON object".into());
    };
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let envelope = BTreeSet::from([
        "error_code",
        "message",
        "request_id",
        "timestamp",
        "details",
    ]);
    if keys == BTreeSet::from(["detail"]) {
        match &object["detail"] {
            Value::String(_) => Ok(()),
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    let loc = item["loc"].as_array().filter(|l| !l.is_empty());
                    let where_ok = loc.is_some_and(|l| {
                        ["body", "query", "path", "header"].contains(&l[0].as_str().unwrap_or(""))
                            && l.iter().all(|s| s.is_string() || s.is_u64())
                    });
                    if !(item["type"].is_string() && item["msg"].is_string() && where_ok) {
                        return Err(format!("a validation error without type/loc/msg: {item}"));
                    }
                }
                Ok(())
            }
            other => Err(format!("detail is neither a string nor a list: {other}")),
        }
    } else if keys == envelope {
        let strings = ["error_code", "message", "request_id", "timestamp"]
            .iter()
            .all(|k| object[*k].is_string());
        if status == 422 && strings {
            Ok(())
        } else {
            Err("a malformed idempotency envelope".into())
        }
    } else if keys == BTreeSet::from(["error"]) && status == 429 && object["error"].is_string() {
        Ok(())
    } else {
        Err(format!("not a contract error shape: keys {keys:?}"))
    }
}

/// The verdict on one answer: < 500; a 4xx is JSON in a contract shape and appended nothing.
pub(super) fn judge(
    status: u16,
    content_type: &str,
    body: &[u8],
    events_before: i64,
    events_after: i64,
) -> Result<(), String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
    if status >= 500 {
        return Err(format!("{status}: {text}"));
    }
    if (400..500).contains(&status) {
        if !content_type.starts_with("application/json") {
            return Err(format!(
                "{status} with content-type {content_type:?}: {text}"
            ));
        }
        let json: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{status} body is not JSON ({e}): {text}"))?;
        error_shape(status, &json).map_err(|e| format!("{status} {e}: {text}"))?;
        if events_after != events_before {
            return Err(format!(
                "{status} but {} events were appended: {text}",
                events_after - events_before
            ));
        }
    } else if content_type.starts_with("application/json") {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| format!("{status} body is not JSON ({e}): {text}"))?;
    }
    Ok(())
}

pub(super) struct Stats {
    pub(super) by_status: BTreeMap<u16, usize>,
    pub(super) by_operation: BTreeMap<String, BTreeMap<u16, usize>>,
}

/// The size limit answers from `Content-Length` before reading the body, and closes the
/// connection: a client still writing gets a broken pipe instead of the 413. So a body over
/// the limit is announced, not sent.
pub(super) const BODY_LIMIT: usize = 1_048_576;

pub(super) async fn send(env: &Env, request: &Request) -> Result<(u16, String, Vec<u8>), String> {
    if request.body.as_ref().is_some_and(|b| b.len() > BODY_LIMIT) {
        return send_head(env, request).await;
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let url = format!("{}{}", env.base, request.target);
    let mut builder = env.client.request(method, &url);
    for (name, value) in &request.headers {
        let value = reqwest::header::HeaderValue::from_bytes(value).map_err(|e| e.to_string())?;
        builder = builder.header(name.as_str(), value);
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = builder
        .send()
        .await
        .map_err(|e| format!("transport: {e:?}"))?;
    let status = response.status().as_u16();
    let content_type = schema::content_type(&response);
    if content_type.starts_with("text/event-stream") {
        return Ok((status, content_type, Vec::new()));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {e:?}"))?;
    Ok((status, content_type, body.to_vec()))
}

/// Sends the request line and headers with the body's `Content-Length`, and reads the answer.
pub(super) async fn send_head(
    env: &Env,
    request: &Request,
) -> Result<(u16, String, Vec<u8>), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = env.base.trim_start_matches("http://");
    let length = request.body.as_ref().map_or(0, Vec::len);
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {length}\r\n",
        request.method, request.target
    )
    .into_bytes();
    for (name, value) in &request.headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    stream.write_all(&head).await.map_err(|e| e.to_string())?;
    let mut answer = vec![];
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .map_err(|_| "no answer to an oversize body within 10 s".to_string())?
        .map_err(|e| e.to_string())?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("an answer without a header end")?;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    Ok((status, content_type, answer[split + 4..].to_vec()))
}

pub(super) fn describe(request: &Request, seed: u64, n: usize) -> String {
    let headers: Vec<String> = request
        .headers
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v);
            format!("{k}: {}", v.chars().take(60).collect::<String>())
        })
        .collect();
    let body = request
        .body
        .as_ref()
        .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
        .unwrap_or_default();
    format!(
        "request #{n} (FUZZ_SEED={seed}): {} {}\n  headers: {headers:?}\n  mutation: {}\n  body: {body}",
        request.method,
        request.target.chars().take(300).collect::<String>(),
        request.note
    )
}
