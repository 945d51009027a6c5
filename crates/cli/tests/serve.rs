//! `locallm serve` as a user runs it: the built binary on loopback, an API
//! key, one request over raw HTTP, and one log line per request without the
//! request's content. (The API itself is tested in crates/serve/tests.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// Kills the server when the test ends, pass or fail.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http(addr: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[test]
fn serve_binds_loopback_checks_the_key_and_logs_one_line_per_request() {
    let model = locallm_models::default_model().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_locallm"))
        .args([
            "serve",
            "--port",
            "0",
            "--api-key",
            "sekrit",
            "--ctx",
            "256",
        ])
        .arg("--model")
        .arg(&model)
        .stderr(Stdio::piped())
        .spawn()
        .expect("locallm serve starts");
    let mut server = Killed(child);
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    // "Serving NAME (N tokens of context) on http://127.0.0.1:PORT"
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    assert!(line.contains("(256 tokens of context)"), "{line}");
    let addr = url.trim_start_matches("http://").to_string();

    let (status, body) = http(
        &addr,
        "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 401, "{body}");
    let content = r#"{"model":"SmolLM2-135M-Instruct.Q4_1","max_tokens":3,"messages":[{"role":"user","content":"A secret word: pineapple"}]}"#;
    let (status, body) = http(
        &addr,
        &format!(
            "POST /v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-key: sekrit\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{content}",
            content.len()
        ),
    );
    assert_eq!(status, 200, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    let output = reply["usage"]["output_tokens"].as_u64().unwrap();
    let input = reply["usage"]["input_tokens"].as_u64().unwrap();

    // the log: after the banner, one line per request, without content
    let mut log = Vec::new();
    while log.len() < 2 {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "server ended");
        if line.starts_with("GET ") || line.starts_with("POST ") {
            log.push(line.trim().to_string());
        }
    }
    assert!(
        log[0].starts_with("GET /v1/models 401 tokens=0+0 "),
        "{log:?}"
    );
    let expected = format!("POST /v1/messages 200 tokens={input}+{output} ");
    assert!(log[1].starts_with(&expected), "{log:?}");
    assert!(log[1].ends_with("ms"), "{log:?}");
    assert!(
        !log.iter()
            .any(|l| l.contains("pineapple") || l.contains("sekrit"))
    );
}
