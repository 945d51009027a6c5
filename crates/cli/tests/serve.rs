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

/// A LoRA adapter (random, non-zero `B`, saved in PEFT's layout) changes what
/// the model says, and `serve --lora` says what `generate --lora` says.
#[test]
fn serve_applies_a_lora_adapter_like_generate_does() {
    use burn::module::Param;
    use burn::tensor::{Distribution, Tensor};
    let model_path = locallm_models::default_model().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gguf = locallm_quant::GgufFile::open(&model_path).unwrap();
    let device = locallm_model::default_device().unwrap();
    let model = locallm_model::load_llama(&gguf, &device).unwrap();
    let config = locallm_lora::LoraConfig {
        rank: 4,
        targets: vec![locallm_lora::Target::Q, locallm_lora::Target::V],
        ..Default::default()
    };
    let mut model = locallm_lora::attach(model, &config, &device, 1).unwrap();
    device.seed(2);
    for block in model.blocks.iter_mut() {
        for &t in &config.targets {
            let lora = locallm_lora::attach::proj_mut(block, t)
                .lora
                .as_mut()
                .unwrap();
            let [r, d_out] = lora.b.val().dims();
            let b = Tensor::<2>::random([r, d_out], Distribution::Uniform(-0.05, 0.05), &device);
            lora.b = Param::from_tensor(b);
        }
    }
    let adapter = dir.path().join("adapter");
    locallm_lora::save_adapter(&model, &config, "SmolLM2-135M-Instruct", &adapter).unwrap();
    drop(model);

    let prompt = "The capital of France is";
    let generate = |lora: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_locallm"));
        cmd.args([
            "generate",
            "--raw",
            "--temperature",
            "0",
            "--max-tokens",
            "8",
        ])
        .args(["--prompt", prompt]);
        if lora {
            cmd.arg("--lora").arg(&adapter);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end_matches('\n')
            .to_string()
    };
    let (base, adapted) = (generate(false), generate(true));
    assert_ne!(base, adapted, "the adapter must change the greedy text");

    let child = Command::new(env!("CARGO_BIN_EXE_locallm"))
        .args(["serve", "--port", "0", "--ctx", "256", "--quiet", "--lora"])
        .arg(&adapter)
        .stderr(Stdio::piped())
        .spawn()
        .expect("locallm serve starts");
    let mut server = Killed(child);
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut banner = Vec::new();
    let url = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "server ended: {banner:?}"
        );
        if line.starts_with("Serving ") {
            break line.trim().rsplit(' ').next().unwrap().to_string();
        }
        banner.push(line);
    };
    assert!(
        banner.iter().any(|l| l.starts_with("LoRA adapter")),
        "{banner:?}"
    );
    let body = format!(
        r#"{{"model":"SmolLM2-135M-Instruct.Q4_1","prompt":"{prompt}","max_tokens":8,"temperature":0}}"#
    );
    let (status, reply) = http(
        url.trim_start_matches("http://"),
        &format!(
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 200, "{reply}");
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["choices"][0]["text"].as_str().unwrap(), adapted);
}

/// `--alias` is the model's name in the APIs, `--cors-origin` lets pages of
/// that origin read the answers in a browser, and a malformed origin stops
/// the server at once, naming the flag.
#[test]
fn serve_alias_and_cors_origin() {
    let model = locallm_models::default_model().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_locallm"))
        .args(["serve", "--port", "0", "--ctx", "256", "--alias", "tiny"])
        .args(["--cors-origin", "http://localhost:3000"])
        .arg("--model")
        .arg(&model)
        .stderr(Stdio::piped())
        .spawn()
        .expect("locallm serve starts");
    let mut server = Killed(child);
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("Serving tiny ("), "{line}");
    let addr = line.trim().rsplit(' ').next().unwrap();
    let addr = addr.trim_start_matches("http://").to_string();

    let mut stream = TcpStream::connect(&addr).expect("connect");
    let request = "GET /api/tags HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                   Origin: http://localhost:3000\r\n\r\n";
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("access-control-allow-origin: http://localhost:3000"),
        "{head}"
    );
    let tags: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(tags["models"][0]["name"], "tiny");

    let out = Command::new(env!("CARGO_BIN_EXE_locallm"))
        .args(["serve", "--port", "0", "--cors-origin", "localhost:3000"])
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--cors-origin \"localhost:3000\""),
        "{stderr}"
    );
}
