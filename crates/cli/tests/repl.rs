//! `locallm chat` in a real terminal: a pseudo-terminal (openpty), the chat
//! its session leader with the pty as controlling terminal, so that Ctrl-C
//! is what a user's Ctrl-C is — the line editor reads it as a key at the
//! prompt, the terminal driver turns it into SIGINT while an answer streams.

#![cfg(unix)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Waiting for the model: generous, a loaded machine runs a debug build.
const TIMEOUT: Duration = Duration::from_secs(300);

struct Pty {
    child: Child,
    master: File,
    /// Everything the terminal showed so far.
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    fn spawn(args: &[&str]) -> Pty {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two fds; null termios/winsize mean defaults.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both fds were just opened and are owned here.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        let mut command = Command::new(env!("CARGO_BIN_EXE_locallm"));
        command
            .args(args)
            .env("TERM", "xterm")
            .stdin(stdio(&slave))
            .stdout(stdio(&slave))
            .stderr(stdio(&slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                // a new session whose controlling terminal is the pty (stdin)
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("locallm starts");
        drop(slave);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // ends with EIO once the child has closed the terminal
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            master,
            seen,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// Waits until the output after byte `from` holds `needle`; returns
    /// where it ends.
    fn wait_for(&self, from: usize, needle: &str) -> usize {
        let start = Instant::now();
        loop {
            let text = self.text();
            if let Some(at) = text.get(from..).and_then(|t| t.find(needle)) {
                return from + at + needle.len();
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "no {needle:?} after byte {from}; the terminal shows:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, bytes: &str) {
        self.master.write_all(bytes.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `generation: N tokens` count of the stats line after byte `from`.
fn generated_after(text: &str, from: usize) -> usize {
    let line = &text[from..];
    let at = line.find("generation: ").expect("a stats line") + "generation: ".len();
    line[at..].split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn ctrl_c_stops_the_answer_and_the_next_prompt_is_answered() {
    locallm_models::default_model().expect("the default model");
    let dir = tempfile::tempdir().unwrap();
    let max = 1000;
    let n = max.to_string();
    let mut pty = Pty::spawn(&["chat", "--temp", "0", "-n", &n, "-c", "2048"]);
    let mut at = pty.wait_for(0, "/help for commands");
    at = pty.wait_for(at, "> ");

    // a long answer: let it stream a while, then Ctrl-C
    pty.send("Write a very long story about a dragon who learns to fly.\r");
    at = pty.wait_for(at, "learns to fly.");
    let answer_starts = pty.len().max(at);
    let started = Instant::now();
    while pty.len() < answer_starts + 60 {
        assert!(started.elapsed() < TIMEOUT, "no answer:\n{}", pty.text());
        std::thread::sleep(Duration::from_millis(20));
    }
    pty.send("\x03");
    at = pty.wait_for(at, "[stopped]");
    let stats_at = at;
    at = pty.wait_for(at, "TTFT");
    let stopped_after = generated_after(&pty.text(), stats_at);
    assert!(
        stopped_after < max,
        "the answer ran to its limit: {stopped_after}"
    );
    assert!(
        pty.child.try_wait().unwrap().is_none(),
        "Ctrl-C ended the chat"
    );

    // the session goes on: the next prompt is answered in full
    at = pty.wait_for(at, "> ");
    pty.send("What is the capital of France?\r");
    at = pty.wait_for(at, "capital of France?");
    let answer_at = at;
    at = pty.wait_for(at, "TTFT");
    let text = pty.text();
    assert!(
        text[answer_at..at].contains("Paris"),
        "{}",
        &text[answer_at..]
    );
    assert!(!text[answer_at..at].contains("[stopped]"));

    // /save writes both turns, the stopped answer as far as it went
    at = pty.wait_for(at, "> ");
    let saved = dir.path().join("chat.json");
    pty.send(&format!("/save {}\r", saved.display()));
    at = pty.wait_for(at, "[saved 4 messages");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let messages = json["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert!(!messages[1]["content"].as_str().unwrap().is_empty());
    assert!(messages[3]["content"].as_str().unwrap().contains("Paris"));

    // /system replaces the system message, /clear keeps only it
    at = pty.wait_for(at, "> ");
    pty.send("/system You answer in French.\r");
    at = pty.wait_for(at, "[system message set]");
    at = pty.wait_for(at, "> ");
    pty.send("/clear\r");
    at = pty.wait_for(at, "[conversation cleared]");
    at = pty.wait_for(at, "> ");
    pty.send(&format!("/save {}\r", saved.display()));
    at = pty.wait_for(at, "[saved 1 messages");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(
        json["messages"],
        serde_json::json!([{"role": "system", "content": "You answer in French."}])
    );

    // Ctrl-C with text on the line clears it; at an empty prompt it ends the chat
    at = pty.wait_for(at, "> ");
    pty.send("never sent");
    pty.wait_for(at, "never sent");
    pty.send("\x03");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        pty.child.try_wait().unwrap().is_none(),
        "Ctrl-C on a line ended the chat"
    );
    pty.send("\x03");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = pty.child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < TIMEOUT, "still running:\n{}", pty.text());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}: {}", pty.text());
    // the cleared line was never sent: two answers in all
    assert_eq!(pty.text().matches("TTFT").count(), 2, "{}", pty.text());
}
