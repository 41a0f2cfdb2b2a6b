//! A loopback HTTP proxy in front of the test hub that can cut a request or a
//! response after any number of bytes, send a request twice, and keep a copy of every
//! response body. One request per connection; it answers with `Connection: close`.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Forward faithfully.
    Pass,
    /// Forward only this many bytes of the request to the hub, then hang up on both.
    CutRequest(usize),
    /// Forward all but the last this many bytes of the request.
    CutRequestEnd(usize),
    /// Forward the request whole, but return only this many bytes of the response.
    CutResponse(usize),
    /// Forward the request whole, but return all but the last this many bytes.
    CutResponseEnd(usize),
    /// Send the request to the hub twice; return the second response.
    Twice,
}

pub struct Proxy {
    pub url: String,
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    wire: Arc<Mutex<Vec<(usize, usize)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("address");
        let mode = Arc::new(Mutex::new(Mode::Pass));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let wire = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (mode, bodies, wire, stop) =
                (mode.clone(), bodies.clone(), wire.clone(), stop.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let current = *mode.lock().unwrap();
                    if let Some((body, sizes)) = handle(client, target, current) {
                        bodies.lock().unwrap().push(body);
                        wire.lock().unwrap().push(sizes);
                    }
                }
            })
        };
        Self {
            url: format!("http://{addr}"),
            addr,
            mode,
            bodies,
            wire,
            stop,
            thread: Some(thread),
        }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Bytes of each whole HTTP request and response (head and body) that went
    /// through, as the client and the hub wrote them.
    pub fn wire_sizes(&self) -> Vec<(usize, usize)> {
        self.wire.lock().unwrap().clone()
    }

    /// Every response body the hub sent through this proxy, whole.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one HTTP message (head + Content-Length body) from `stream`.
pub fn read_message(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.truncate(head_end + length);
    Some(buf)
}

/// Sends one request to the hub on a fresh connection and reads its whole response.
pub fn exchange(target: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let mut hub = TcpStream::connect(target).ok()?;
    hub.write_all(request).ok()?;
    read_message(&mut hub)
}

/// Returns the response body the hub produced, if it produced one, and the sizes of
/// the request and response messages.
fn handle(
    mut client: TcpStream,
    target: SocketAddr,
    mode: Mode,
) -> Option<(Vec<u8>, (usize, usize))> {
    let request = read_message(&mut client)?;
    let request_cut = match mode {
        Mode::CutRequest(n) => Some(n),
        Mode::CutRequestEnd(k) => Some(request.len().saturating_sub(k)),
        _ => None,
    };
    if let Some(n) = request_cut {
        let mut hub = TcpStream::connect(target).ok()?;
        let _ = hub.write_all(&request[..n.min(request.len())]);
        let _ = hub.shutdown(Shutdown::Both);
        let _ = client.shutdown(Shutdown::Both);
        return None;
    }
    if mode == Mode::Twice {
        exchange(target, &request)?;
    }
    let response = exchange(target, &request)?;
    let body = response[head_end(&response)?..].to_vec();
    let out = closing(&response)?;
    let n = match mode {
        Mode::CutResponse(n) => n.min(out.len()),
        Mode::CutResponseEnd(k) => out.len().saturating_sub(k),
        _ => out.len(),
    };
    let _ = client.write_all(&out[..n]);
    let _ = client.shutdown(Shutdown::Both);
    Some((body, (request.len(), response.len())))
}

/// Where the body of an HTTP message starts.
pub fn head_end(message: &[u8]) -> Option<usize> {
    Some(message.windows(4).position(|w| w == b"\r\n\r\n")? + 4)
}

/// The response with `Connection: close` added, so the client does not reuse a
/// connection the proxy is about to close.
pub fn closing(response: &[u8]) -> Option<Vec<u8>> {
    let status_end = response.windows(2).position(|w| w == b"\r\n")? + 2;
    let mut out = response[..status_end].to_vec();
    out.extend_from_slice(b"connection: close\r\n");
    out.extend_from_slice(&response[status_end..]);
    Some(out)
}
