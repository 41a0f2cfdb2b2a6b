//! A stand-in UnifiedPush distributor (the push server part of ntfy, say): a plain
//! HTTP server on loopback that records every request it gets, whole, and answers
//! with a status the test chooses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as it arrived: the request line, headers and body, raw.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub raw: Vec<u8>,
    pub body: Vec<u8>,
}

pub struct Distributor {
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Distributor {
    /// Answers every request with `status` (201 is what UnifiedPush servers send).
    pub fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    if let Some(request) = read_request(&stream) {
                        log.lock().expect("log").push(request);
                    }
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                });
            }
        });
        Self { base, received }
    }

    /// The endpoint URL a device registers.
    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/up/{name}", self.base)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("log").clone()
    }

    /// The requests to `endpoint`'s path so far.
    pub fn to(&self, endpoint: &str) -> Vec<Received> {
        let path = endpoint.trim_start_matches(&self.base);
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Waits (up to a minute) until `endpoint` has received `count` requests.
    pub fn wait_for(&self, endpoint: &str, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.to(endpoint);
            if got.len() >= count || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn read_request(stream: &std::net::TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut raw = Vec::new();
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    raw.extend_from_slice(line.as_bytes());
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        raw.extend_from_slice(line.as_bytes());
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    raw.extend_from_slice(&body);
    Some(Received { path, raw, body })
}
