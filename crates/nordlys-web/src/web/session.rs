//! Sessions of the web: a random id in a `Secure; HttpOnly; SameSite=Lax` cookie (the store
//! keeps its SHA-256), a CSRF token per session that every form carries, and the development
//! sign-in of demo mode — a one-time code printed on the server's console, refused unless the
//! server runs in demo mode on a loopback address. Sign-in attempts are rate-limited per client
//! address and per subject.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use nordlys_store::{WebSession, WebSubject};
use rand::RngExt;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::problem::ApiError;

pub const SESSION_COOKIE: &str = "nordlys_session";
/// How long a session lasts without signing in again.
pub const SESSION_HOURS: i64 = 8;
/// How long a one-time code is valid.
pub const CODE_MINUTES: i64 = 10;
/// Sign-in attempts allowed per client address and per subject in a window.
const ATTEMPTS_PER_WINDOW: usize = 10;
const ATTEMPT_WINDOW: Duration = Duration::from_secs(60);

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// A six-digit one-time code.
pub fn random_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The `Set-Cookie` of a new session.
pub fn session_cookie(id: &str) -> HeaderValue {
    let value = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age={}",
        SESSION_HOURS * 3600
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""))
}

/// The `Set-Cookie` that ends a session in the browser.
pub fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_static("nordlys_session=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0")
}

/// The signed-in user of a page, and the session's CSRF token for its forms.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session_id_sha256: String,
    pub session: WebSession,
}

impl SignedIn {
    pub fn customer_id(&self) -> Option<&str> {
        (self.session.subject.kind == "customer").then_some(self.session.subject.subject.as_str())
    }

    pub fn staff(&self) -> Option<&str> {
        (self.session.subject.kind == "staff").then_some(self.session.subject.subject.as_str())
    }

    /// Whether a form's CSRF token is this session's (compared in constant time).
    pub fn csrf_ok(&self, token: &str) -> bool {
        let expected = self.session.csrf_token.as_bytes();
        let given = token.as_bytes();
        expected.len() == given.len()
            && expected
                .iter()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// A page that needs a signed-in user: without a live session, the browser is sent to sign in.
pub struct RequireSession(pub SignedIn);

impl FromRequestParts<Arc<AppState>> for RequireSession {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let Some(id) = cookie(parts, SESSION_COOKIE) else {
            return Err(axum::response::Redirect::to("/signin").into_response());
        };
        let id_sha256 = sha256_hex(id);
        let now_us = state.clock.now().as_microsecond();
        match state.store.web_session(&id_sha256, now_us).await {
            Ok(Some(session)) => Ok(RequireSession(SignedIn {
                session_id_sha256: id_sha256,
                session,
            })),
            Ok(None) => Err(axum::response::Redirect::to("/signin").into_response()),
            Err(error) => Err(ApiError::from(error).into_response()),
        }
    }
}

/// Start a session for `subject`: the cookie value to set.
pub async fn start_session(state: &AppState, subject: &WebSubject) -> Result<String, ApiError> {
    let id = random_hex(32);
    let now_us = state.clock.now().as_microsecond();
    state
        .store
        .create_web_session(
            &sha256_hex(&id),
            subject,
            &random_hex(24),
            now_us,
            now_us + SESSION_HOURS * 3_600_000_000,
        )
        .await?;
    Ok(id)
}

/// Start a session for `subject` and send the browser to its overview with the cookie.
pub async fn signed_in_response(
    state: &AppState,
    subject: &WebSubject,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match start_session(state, subject).await {
        Ok(id) => {
            let mut response = axum::response::Redirect::to("/").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&id));
            response
        }
        Err(error) => error.into_response(),
    }
}

/// Sign-in attempts per key (client address, subject) in the current window.
#[derive(Default)]
pub struct SignInLimiter {
    attempts: Mutex<HashMap<String, Vec<Instant>>>,
}

impl SignInLimiter {
    /// Count an attempt for each key; `false` if any key has used up its window.
    pub fn allow(&self, client: Option<IpAddr>, subject: &str) -> bool {
        let Ok(mut attempts) = self.attempts.lock() else {
            return false;
        };
        if attempts.len() > 100_000 {
            attempts.clear();
        }
        let keys = [
            format!("ip:{}", client.map_or("-".to_owned(), |c| c.to_string())),
            format!("subject:{subject}"),
        ];
        let mut allowed = true;
        for key in keys {
            let list = attempts.entry(key).or_default();
            list.retain(|at| at.elapsed() < ATTEMPT_WINDOW);
            if list.len() >= ATTEMPTS_PER_WINDOW {
                allowed = false;
            } else {
                list.push(Instant::now());
            }
        }
        allowed
    }
}
