//! Fakes at the process edge for tests (feature `testing`): a local DNS server — Debian's
//! `dnsmasq`, on 127.0.0.1 and a free port, answering NAPTR records for an SML zone — and a local
//! SMP, a small HTTP/1.1 server on 127.0.0.1:0 serving SMP documents by path. Both stop when
//! dropped, also when a test fails.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::participant::ParticipantId;
use crate::smp::{BisDocument, service_group_url, service_metadata_url};

/// The SMP documents of `tests/fixtures`, for participant `0192:923609016`.
pub mod fixtures {
    pub const PARTICIPANT: &str = "0192:923609016";
    pub const SERVICE_GROUP: &str = include_str!("../tests/fixtures/service-group.xml");
    pub const INVOICE_METADATA: &str = include_str!("../tests/fixtures/invoice-metadata.xml");
    pub const CREDIT_NOTE_METADATA: &str =
        include_str!("../tests/fixtures/credit-note-metadata.xml");
    pub const DIRECTORY_BUSINESS_CARDS: &str =
        include_str!("../tests/fixtures/directory-businesscards.xml");
}

/// The dnsmasq binary: found, or installed with apt-get when running as root. `Err` says what
/// is missing, for a one-line skip message.
pub fn dnsmasq() -> Result<PathBuf, String> {
    let find = || {
        ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    };
    if let Some(path) = find() {
        return Ok(path);
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root || !Path::new("/usr/bin/apt-get").exists() {
        return Err(
            "dnsmasq is missing (Debian package dnsmasq; not root, so not installed)".into(),
        );
    }
    // One process installs; others wait for it (tests run in parallel).
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = find() {
        return Ok(path);
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "dnsmasq"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("apt-get")
            .args(["update", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        install();
    }
    find().ok_or_else(|| "dnsmasq is missing and `apt-get install -y dnsmasq` failed".into())
}

/// A dnsmasq answering for one SML zone: configured NAPTR records, NXDOMAIN for other names.
pub struct LocalDns {
    child: Child,
    pub address: SocketAddr,
    log: PathBuf,
}

impl LocalDns {
    /// Start dnsmasq for `zone` with a `Meta:SMP` NAPTR record per (host, SMP URL).
    pub fn start(zone: &str, records: &[(String, String)]) -> Result<LocalDns, String> {
        let binary = dnsmasq()?;
        let mut last_error = String::new();
        // A free port can be taken between the probe and dnsmasq's bind: try a few.
        for attempt in 0..5 {
            let port = free_port()?;
            let log = std::env::temp_dir().join(format!(
                "nordlys-dnsmasq-{}-{port}-{attempt}.log",
                std::process::id()
            ));
            let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
            let mut command = Command::new(&binary);
            command
                .arg("--keep-in-foreground")
                .arg("--conf-file=/dev/null")
                .arg("--no-resolv")
                .arg("--no-hosts")
                .arg("--no-poll")
                .arg("--pid-file=")
                .arg("--listen-address=127.0.0.1")
                .arg("--bind-interfaces")
                .arg(format!("--port={port}"))
                .arg("--log-facility=-")
                .arg(format!("--local=/{zone}/"));
            if is_root() {
                command.arg("--user=root");
            }
            for (host, url) in records {
                command.arg(format!(
                    "--naptr-record={host},100,10,U,Meta:SMP,!^.*$!{url}!"
                ));
            }
            let child = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
            let mut dns = LocalDns {
                child,
                address: SocketAddr::from(([127, 0, 0, 1], port)),
                log,
            };
            match dns.wait_ready() {
                Ok(()) => return Ok(dns),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(format!("dnsmasq exited ({status}): {}", log.trim()));
            }
            if TcpStream::connect_timeout(&self.address, Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("dnsmasq did not listen within 10 s".into())
    }
}

impl Drop for LocalDns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A port free for both UDP and TCP on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = udp.local_addr().map_err(|e| e.to_string())?.port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port on 127.0.0.1".into())
}

/// A UDP port on 127.0.0.1 that receives DNS queries and never answers.
pub struct SilentDns {
    socket: UdpSocket,
}

impl SilentDns {
    pub fn start() -> SilentDns {
        SilentDns {
            socket: UdpSocket::bind("127.0.0.1:0").expect("a UDP port on 127.0.0.1"),
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.socket.local_addr().expect("a bound socket")
    }
}

type Routes = Arc<Mutex<HashMap<String, (u16, String)>>>;

/// An SMP on 127.0.0.1: documents by request path, 404 for others; it records each request path.
pub struct LocalSmp {
    pub base_url: String,
    routes: Routes,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    address: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl LocalSmp {
    pub fn start() -> LocalSmp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a TCP port on 127.0.0.1");
        let address = listener.local_addr().expect("a bound listener");
        let routes: Routes = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (routes, requests, stop) = (routes.clone(), requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        answer(stream, &routes, &requests);
                    }
                }
            })
        };
        LocalSmp {
            base_url: format!("http://{address}"),
            routes,
            requests,
            stop,
            address,
            thread: Some(thread),
        }
    }

    /// Answer GET `path` (as sent: percent-encoded) with `status` and `body`.
    pub fn serve(&self, path: &str, status: u16, body: &str) {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_owned(), (status, body.to_owned()));
    }

    /// Serve the fixtures for `participant` (its id put in place of the fixtures' one): its
    /// ServiceGroup, and the invoice and credit-note metadata.
    pub fn serve_bis3(&self, participant: &ParticipantId) {
        let own = |xml: &str| xml.replace(fixtures::PARTICIPANT, participant.value());
        self.serve(
            &self.path(&service_group_url(&self.base_url, participant)),
            200,
            &own(fixtures::SERVICE_GROUP),
        );
        self.serve(
            &self.metadata_path(participant, BisDocument::Invoice),
            200,
            &own(fixtures::INVOICE_METADATA),
        );
        self.serve(
            &self.metadata_path(participant, BisDocument::CreditNote),
            200,
            &own(fixtures::CREDIT_NOTE_METADATA),
        );
    }

    /// The request path of `participant`'s metadata for `document`.
    pub fn metadata_path(&self, participant: &ParticipantId, document: BisDocument) -> String {
        self.path(&service_metadata_url(&self.base_url, participant, document))
    }

    fn path(&self, url: &str) -> String {
        url.strip_prefix(&self.base_url).unwrap_or(url).to_owned()
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for LocalSmp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(stream: TcpStream, routes: &Routes, requests: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Headers up to the empty line; a GET has no body.
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    if path.is_empty() {
        return;
    }
    requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.clone());
    let (status, body) = routes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&path)
        .cloned()
        .unwrap_or((404, "not found".into()));
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}
