//! The server as a client sees it: a real server on a free loopback port over a real database
//! (the suite's backend: SQLite, or PostgreSQL when `NORDLYS_TEST_POSTGRES_URL` names one),
//! called over HTTP.

mod api;
mod backoffice;
mod bad_input;
mod web;
mod work_orders;
mod writes;

use std::sync::{Arc, OnceLock};

use nordlys_app::access::{Scope, create_token};
use nordlys_app::billing::{BillingPolicy, settle};
use nordlys_app::demo::{DemoConfig, build_demo};
use nordlys_app::{FixedClock, NoProgress, SystemClock};
use nordlys_core::time::LocalPeriod;
use nordlys_rating::Statutory;
use nordlys_store::Store;
use serde_json::Value;

/// A running server and the tokens to call it with.
pub struct TestServer {
    pub base: String,
    pub store: Store,
    /// Scopes read, write, billing and personal_data.
    pub admin: String,
    /// Scope read only.
    pub reader: String,
    /// One-time codes the development sign-in handed out: (customer, code).
    pub codes: Arc<std::sync::Mutex<Vec<(String, String)>>>,
    runtime: Arc<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

pub fn runtime() -> Arc<tokio::runtime::Runtime> {
    Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(32 * 1024 * 1024)
            .enable_all()
            .build()
            .unwrap(),
    )
}

impl TestServer {
    /// A demo utility of `customers` customers and January 2025, settled when `bill`.
    pub fn start(customers: usize, bill: bool) -> TestServer {
        Self::start_with(customers, bill, false)
    }

    /// As `start`, with the development sign-in of demo mode when `demo`.
    pub fn start_with(customers: usize, bill: bool, demo: bool) -> TestServer {
        let codes: Arc<std::sync::Mutex<Vec<(String, String)>>> = Default::default();
        let sink_codes = Arc::clone(&codes);
        let runtime = runtime();
        let dir = tempfile::tempdir().unwrap();
        let (base, store, admin, reader) = runtime.block_on(async {
            let db = nordlys_store::testing::fresh_database(dir.path()).await;
            let store = Store::open(&db).await.unwrap();
            let month = LocalPeriod::parse_month("2025-01").unwrap();
            let clock = FixedClock(jiff::Timestamp::from_second(1_738_800_000).unwrap());
            let config = DemoConfig {
                metering_points: customers,
                first_month: month,
                months: 1,
                seed: 11,
            };
            build_demo(&store, &config, &clock, Arc::new(NoProgress))
                .await
                .unwrap();
            if bill {
                settle(
                    &store,
                    month,
                    None,
                    &BillingPolicy::default(),
                    Arc::new(Statutory::default()),
                    &clock,
                    Arc::new(NoProgress),
                    false,
                )
                .await
                .unwrap();
            }
            let admin = create_token(&store, "admin", &Scope::ALL, &SystemClock)
                .await
                .unwrap()
                .secret;
            let reader = create_token(&store, "reader", &[Scope::Read], &SystemClock)
                .await
                .unwrap()
                .secret;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let mut options = nordlys_web::ServerOptions::default();
            if demo {
                options.demo_sign_in = Some(Arc::new(move |who: &str, code: &str| {
                    sink_codes
                        .lock()
                        .unwrap()
                        .push((who.to_owned(), code.to_owned()));
                }));
            }
            let state =
                nordlys_web::AppState::with_options(store.clone(), Arc::new(SystemClock), options);
            tokio::spawn(nordlys_web::serve(listener, state, std::future::pending()));
            (base, store, admin, reader)
        });
        TestServer {
            base,
            store,
            admin,
            reader,
            codes,
            runtime,
            _dir: dir,
        }
    }

    /// Run `future` on the server's runtime (for reads of the store).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The GSRN of a metering point of `s` read hourly.
pub fn hourly_point(s: &TestServer) -> String {
    let points = get_json(&s.url("/api/v1/metering-points?limit=50"), &s.reader);
    points["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["resolution"] == "PT60M")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The demo of 40 customers, billed, shared by the tests that only read.
pub fn shared() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| TestServer::start(40, true))
}

/// An HTTP client that returns every status as a response.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// Status, headers and body of a GET with `token` (none: anonymous).
pub fn get(url: &str, token: Option<&str>) -> (u16, ureq::http::HeaderMap, Vec<u8>) {
    let mut request = agent().get(url);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    (status, headers, body)
}

/// A GET that must answer 200 with JSON.
pub fn get_json(url: &str, token: &str) -> Value {
    let (status, _, body) = get(url, Some(token));
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// A POST of `body` with `content_type`, a token and extra headers.
pub fn post(
    url: &str,
    token: &str,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, ureq::http::HeaderMap, Value) {
    let mut request = agent()
        .post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", content_type);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send(body).unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.body_mut().read_to_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, value)
}

/// The problem document of an error answer, checked for what every problem carries.
pub fn problem(status: u16, headers: &ureq::http::HeaderMap, body: &[u8]) -> Value {
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{status}: {}",
        String::from_utf8_lossy(body)
    );
    let problem: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(problem["status"], status);
    let request_id = headers.get("x-request-id").unwrap().to_str().unwrap();
    assert_eq!(problem["request_id"], request_id);
    assert!(problem["code"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    problem
}
