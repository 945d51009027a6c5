//! Test helpers: the real server on an ephemeral loopback port, and a raw
//! HTTP/1.1 client (std `TcpStream`, no HTTP library) so that every byte the
//! server sends is what the test sees — status line, headers, chunked
//! streaming, server-sent events.
#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;

use locallm_serve::{ServeConfig, Server};
use serde_json::Value;

pub const KEY: &str = "test-key";

/// The default model's path (fetched on first use).
pub fn model_path() -> PathBuf {
    locallm_models::default_model().expect("the default model")
}

/// A server for the real default model, on a free loopback port, with an API key.
pub fn start(parallel: usize, ctx: usize, body_limit: usize) -> Server {
    let config = ServeConfig {
        port: 0,
        api_key: Some(KEY.to_string()),
        parallel,
        ctx,
        body_limit,
        ..ServeConfig::new(model_path())
    };
    Server::start(config).expect("server starts")
}

/// Runs `tests/sdk/SCRIPT` with python3 and these environment variables;
/// fails with its output if it fails.
pub fn run_python(script: &str, envs: &[(&str, String)]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let out = std::process::Command::new(locallm_tests::python::python())
        .arg(&path)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request (`Connection: close`) and returns the status and headers,
/// with the reader positioned at the start of the body.
pub fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, BufReader<TcpStream>) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    // head and body go in two writes: without this, Nagle's algorithm holds
    // the body back until the server's delayed ACK of the head (40 ms)
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    // the server may answer (413) before reading all of a large body
    let _ = stream.write_all(body);
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("header has a colon");
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    (status, headers, reader)
}

/// One whole request and response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let (status, headers, mut reader) = send(addr, method, path, headers, body);
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        while let Some(chunk) = read_chunk(&mut reader) {
            body.extend(chunk);
        }
        body
    } else {
        let mut body = Vec::new();
        reader.read_to_end(&mut body).expect("body");
        body
    };
    Response {
        status,
        headers,
        body,
    }
}

/// POST a JSON body with the test key as a Bearer token.
pub fn post(addr: SocketAddr, path: &str, body: &Value) -> Response {
    let auth = format!("Bearer {KEY}");
    request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

/// One chunk of a chunked body, `None` at the last (empty) chunk or EOF.
fn read_chunk(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut size = String::new();
    if reader.read_line(&mut size).ok()? == 0 {
        return None;
    }
    let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
    let mut chunk = vec![0; size + 2]; // data and its CRLF
    reader.read_exact(&mut chunk).ok()?;
    chunk.truncate(size);
    (size > 0).then_some(chunk)
}

/// A server-sent event: its `event:` name (if any) and its `data:`.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Reads a chunked SSE body event by event. Dropping it closes the connection.
pub struct Sse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    buffer: String,
}

impl Sse {
    /// POSTs `body` and returns the event stream (or the error response's status).
    pub fn open(addr: SocketAddr, path: &str, body: &Value) -> Sse {
        let auth = format!("Bearer {KEY}");
        let (status, headers, reader) = send(
            addr,
            "POST",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        );
        Sse {
            status,
            headers,
            reader,
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), `None` when the stream ends.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    event: None,
                    data: String::new(),
                };
                let mut any = false;
                for line in raw.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event.event = Some(name.to_string());
                        any = true;
                    } else if let Some(data) = line.strip_prefix("data: ") {
                        event.data.push_str(data);
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
                continue; // a keep-alive comment
            }
            let chunk = read_chunk(&mut self.reader)?;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8 events"));
        }
    }

    /// All remaining events.
    pub fn collect(mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(e) = self.next_event() {
            events.push(e);
        }
        events
    }
}

/// The text of a streamed chat answer, and its parsed chunks (without `[DONE]`).
pub fn chat_stream_text(events: &[SseEvent]) -> (String, Vec<Value>) {
    let mut text = String::new();
    let mut chunks = Vec::new();
    for e in events {
        if e.data == "[DONE]" {
            continue;
        }
        let chunk: Value = serde_json::from_str(&e.data).expect("chunk is JSON");
        if let Some(piece) = chunk["choices"][0]["delta"]["content"].as_str() {
            text.push_str(piece);
        }
        chunks.push(chunk);
    }
    (text, chunks)
}
