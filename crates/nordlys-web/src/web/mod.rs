//! The self-service web for customers: server-rendered pages (askama) that work without
//! JavaScript, in nb, da and en, white-labelled from the issuer profile (name, logo, colours).
//! A signed-in customer sees only their own accounts, metering points and documents: any other
//! id answers 404 like one that does not exist. Every form carries the session's CSRF token.

mod chart;
pub mod oidc;
pub(crate) mod pages;
pub mod session;
mod staff;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use nordlys_core::model::Language;
use nordlys_documents::i18n::Localiser;
use nordlys_store::WebSubject;
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiPath;
use crate::problem::ApiError;
use session::{RequireSession, SignedIn};

/// The Fluent source of the web's texts in `language`.
pub fn web_source(language: Language) -> &'static str {
    match language {
        Language::Nb => include_str!("../../i18n/nb/web.ftl"),
        Language::Da => include_str!("../../i18n/da/web.ftl"),
        Language::En => include_str!("../../i18n/en/web.ftl"),
    }
}

pub const LANGUAGE_COOKIE: &str = "nordlys_lang";

/// The security headers of a page: no script at all, styles and images from this origin only.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The path of the one script: htmx, which updates parts of a page in place where a page asks
/// for it (`hx-*` attributes). Every page works without it. Versioned, so it is cached for good.
pub const HTMX_PATH: &str = "/static/htmx-2.0.11.min.js";

pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

pub struct LanguageLink {
    pub code: &'static str,
    pub name: &'static str,
    pub current: bool,
}

/// What every page shows around its content.
pub struct Frame {
    pub lang: &'static str,
    pub language: Language,
    texts: Arc<Localiser>,
    pub brand_name: String,
    pub has_logo: bool,
    pub signed_in: bool,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub languages: Vec<LanguageLink>,
    /// The current path, URL-safe, for the language links to come back to.
    pub path: String,
}

impl Frame {
    /// The text `id` in the page's language.
    pub fn t(&self, id: &str) -> String {
        self.texts
            .text(self.language, id, &[])
            .unwrap_or_else(|_| id.to_owned())
    }

    /// The text `id` with its arguments.
    pub fn tv(&self, id: &str, args: &[(&str, &str)]) -> String {
        self.texts
            .text(self.language, id, args)
            .unwrap_or_else(|_| id.to_owned())
    }
}

fn language_of_code(code: &str) -> Option<Language> {
    match code {
        "nb" | "no" | "nn" => Some(Language::Nb),
        "da" => Some(Language::Da),
        "en" => Some(Language::En),
        _ => None,
    }
}

/// The page language: the visitor's choice (cookie), else the account's, else the browser's.
fn choose_language(headers: &HeaderMap, preferred: Option<Language>) -> Language {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == LANGUAGE_COOKIE)
        .and_then(|(_, value)| language_of_code(value));
    cookie.or(preferred).unwrap_or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .filter_map(|part| part.split(';').next())
                    .filter_map(|tag| language_of_code(tag.trim().split('-').next().unwrap_or("")))
                    .next()
            })
            .unwrap_or(Language::Nb)
    })
}

/// `text` made safe for a query value.
fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl AppState {
    /// The frame of a page at `path` (`current`: the nav entry to mark).
    pub(crate) async fn frame(
        &self,
        headers: &HeaderMap,
        signed_in: Option<&SignedIn>,
        preferred: Option<Language>,
        path: &str,
        current: &str,
    ) -> Frame {
        let language = choose_language(headers, preferred);
        let (brand_name, has_logo) = self.brand().await;
        let texts = Arc::clone(&self.web_texts);
        let label = |id: &str| {
            texts
                .text(language, id, &[])
                .unwrap_or_else(|_| id.to_owned())
        };
        let customer_nav: &[(&'static str, &str)] = &[
            ("/", "nav-overview"),
            ("/consumption", "nav-consumption"),
            ("/peaks", "nav-peaks"),
            ("/prices", "nav-prices"),
            ("/compare", "nav-compare"),
            ("/invoices", "nav-invoices"),
            ("/settings", "nav-settings"),
            ("/move", "nav-move"),
            ("/privacy", "nav-privacy"),
        ];
        let staff_nav: &[(&'static str, &str)] = &[
            ("/staff", "nav-staff-search"),
            ("/staff/work-orders", "nav-staff-orders"),
            ("/staff/runs", "nav-staff-runs"),
            ("/staff/corrections", "nav-staff-corrections"),
            ("/staff/audit", "nav-staff-audit"),
        ];
        let items = if signed_in.is_some_and(|s| s.staff().is_some()) {
            staff_nav
        } else {
            customer_nav
        };
        let nav = items
            .iter()
            .map(|&(href, id)| NavItem {
                href,
                label: label(id),
                current: href == current,
            })
            .collect();
        Frame {
            lang: language.code(),
            language,
            texts: Arc::clone(&self.web_texts),
            brand_name,
            has_logo,
            signed_in: signed_in.is_some(),
            csrf: signed_in
                .map(|s| s.session.csrf_token.clone())
                .unwrap_or_default(),
            nav,
            languages: [("nb", "Norsk"), ("da", "Dansk"), ("en", "English")]
                .into_iter()
                .map(|(code, name)| LanguageLink {
                    code,
                    name,
                    current: code == language.code(),
                })
                .collect(),
            path: url_escape(path),
        }
    }

    /// The utility's name and whether it has a logo, from the issuer profile.
    async fn brand(&self) -> (String, bool) {
        match self.store.issuer_profile(None).await {
            Ok(Some(stored)) => {
                match nordlys_app::documents::parse_issuer_profile(&stored.body, stored.version) {
                    Ok(profile) => (
                        profile
                            .sellers
                            .values()
                            .next()
                            .map(|s| s.name.clone())
                            .unwrap_or_else(|| "Nordlys".to_owned()),
                        profile.branding.logo_svg.is_some(),
                    ),
                    Err(_) => ("Nordlys".to_owned(), false),
                }
            }
            _ => ("Nordlys".to_owned(), false),
        }
    }
}

/// A rendered page with the page security headers.
pub(crate) fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            response
        }
        Err(error) => ApiError::internal(&error).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub page: Frame,
    pub title: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    page: Frame,
    title: String,
    message: Option<String>,
    code_for: Option<String>,
    /// The OpenID provider's button, if one is configured.
    oidc_button: Option<String>,
    demo: bool,
}

pub(crate) async fn sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    message_id: Option<&str>,
    code_for: Option<String>,
) -> Response {
    let page = state.frame(headers, None, None, "/signin", "").await;
    let title = page.t("signin-title");
    let message = message_id.map(|id| page.t(id));
    let oidc_button = state
        .options
        .oidc
        .as_ref()
        .map(|p| page.tv("signin-oidc", &[("provider", p.label())]));
    html(
        status,
        &SignInPage {
            page,
            title,
            message,
            code_for,
            oidc_button,
            demo: state.options.demo_sign_in.is_some(),
        },
    )
}

async fn get_sign_in(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if state.options.demo_sign_in.is_none() && state.options.oidc.is_none() {
        return not_found_page(&state, &headers).await;
    }
    sign_in_page(&state, &headers, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
struct WhoForm {
    who: String,
}

#[derive(Deserialize)]
struct CodeForm {
    who: String,
    code: String,
}

fn client_ip(headers: &HeaderMap) -> Option<std::net::IpAddr> {
    // Behind no proxy here: the loopback peer; a proxy in front is trusted to set this.
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
}

async fn post_sign_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<WhoForm>,
) -> Response {
    let Some(sink) = state.options.demo_sign_in.clone() else {
        return not_found_page(&state, &headers).await;
    };
    let who = form.who.trim().to_owned();
    if !state.sign_in_limiter.allow(client_ip(&headers), &who) {
        return sign_in_page(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some("signin-limited"),
            None,
        )
        .await;
    }
    let known = who.len() <= 64 && matches!(state.store.customer(&who).await, Ok(Some(_)));
    if !known {
        return sign_in_page(
            &state,
            &headers,
            StatusCode::OK,
            Some("signin-unknown"),
            None,
        )
        .await;
    }
    let code = session::random_code();
    let subject = WebSubject {
        kind: "customer".to_owned(),
        subject: who.clone(),
    };
    let expires = state.clock.now().as_microsecond() + session::CODE_MINUTES * 60_000_000;
    if let Err(error) = state
        .store
        .create_sign_in_code(
            &session::sha256_hex(&format!("{who}:{code}")),
            &subject,
            expires,
        )
        .await
    {
        return ApiError::from(error).into_response();
    }
    sink(&who, &code);
    sign_in_page(&state, &headers, StatusCode::OK, None, Some(who)).await
}

async fn post_sign_in_verify(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    if state.options.demo_sign_in.is_none() {
        return not_found_page(&state, &headers).await;
    }
    let who = form.who.trim().to_owned();
    if !state.sign_in_limiter.allow(client_ip(&headers), &who) {
        return sign_in_page(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some("signin-limited"),
            Some(who),
        )
        .await;
    }
    let subject = WebSubject {
        kind: "customer".to_owned(),
        subject: who.clone(),
    };
    let now_us = state.clock.now().as_microsecond();
    let code_hash = session::sha256_hex(&format!("{who}:{}", form.code.trim()));
    match state
        .store
        .use_sign_in_code(&code_hash, &subject, now_us)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return sign_in_page(
                &state,
                &headers,
                StatusCode::UNAUTHORIZED,
                Some("signin-failed"),
                Some(who),
            )
            .await;
        }
        Err(error) => return ApiError::from(error).into_response(),
    }
    tracing::info!(customer = %who, "signed in (development sign-in)");
    session::signed_in_response(&state, &subject).await
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub csrf: String,
}

async fn post_sign_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RequireSession(signed_in): RequireSession,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !signed_in.csrf_ok(&form.csrf) {
        return csrf_page(&state, &headers, &signed_in).await;
    }
    let now_us = state.clock.now().as_microsecond();
    if let Err(error) = state
        .store
        .end_web_session(&signed_in.session_id_sha256, now_us)
        .await
    {
        return ApiError::from(error).into_response();
    }
    let mut response = Redirect::to("/signin").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::cleared_cookie());
    response
}

pub(crate) async fn not_found_page(state: &AppState, headers: &HeaderMap) -> Response {
    let page = state.frame(headers, None, None, "/", "").await;
    let title = page.t("error-title");
    let message = page.t("error-not-found");
    html(
        StatusCode::NOT_FOUND,
        &ErrorPage {
            page,
            title,
            message,
        },
    )
}

pub(crate) async fn csrf_page(
    state: &AppState,
    headers: &HeaderMap,
    signed_in: &SignedIn,
) -> Response {
    let page = state.frame(headers, Some(signed_in), None, "/", "").await;
    let title = page.t("error-title");
    let message = page.t("error-csrf");
    html(
        StatusCode::FORBIDDEN,
        &ErrorPage {
            page,
            title,
            message,
        },
    )
}

#[derive(Deserialize)]
struct BackQuery {
    back: Option<String>,
}

/// Choose the page language, and go back where the visitor was.
async fn choose_language_link(
    ApiPath(code): ApiPath<String>,
    axum::extract::Query(query): axum::extract::Query<BackQuery>,
) -> Response {
    let Some(language) = language_of_code(&code) else {
        return ApiError::not_found("no such language").into_response();
    };
    let back = query
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{LANGUAGE_COOKIE}={}; Path=/; Secure; SameSite=Lax; Max-Age=31536000",
        language.code()
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

/// htmx 2.0.11 as published on npm (`htmx.org`, licence 0BSD: `static/vendor/htmx-LICENSE`).
async fn htmx_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        include_str!("../../static/vendor/htmx-2.0.11.min.js"),
    )
        .into_response()
}

/// The brand's colours as CSS variables (from the issuer profile).
async fn brand_css(State(state): State<Arc<AppState>>) -> Response {
    let css = match state.store.issuer_profile(None).await {
        Ok(Some(stored)) => {
            nordlys_app::documents::parse_issuer_profile(&stored.body, stored.version)
                .map(|p| {
                    let c = |c: nordlys_documents::model::Colour| {
                        format!("#{:02x}{:02x}{:02x}", c.red, c.green, c.blue)
                    };
                    format!(
                        ":root {{ --primary: {}; --accent: {}; }}\n",
                        c(p.branding.primary_colour),
                        c(p.branding.accent_colour)
                    )
                })
                .unwrap_or_default()
        }
        _ => String::new(),
    };
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], css).into_response()
}

/// The brand's logo, served as an image (an SVG loaded as an image runs no script).
async fn brand_logo(State(state): State<Arc<AppState>>) -> Response {
    let logo = match state.store.issuer_profile(None).await {
        Ok(Some(stored)) => {
            nordlys_app::documents::parse_issuer_profile(&stored.body, stored.version)
                .ok()
                .and_then(|p| p.branding.logo_svg)
        }
        _ => None,
    };
    match logo {
        Some(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
            ],
            svg,
        )
            .into_response(),
        None => ApiError::not_found("no logo").into_response(),
    }
}

/// The routes of the self-service web.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/signin", get(get_sign_in).post(post_sign_in))
        .route("/signin/verify", post(post_sign_in_verify))
        .route("/signin/oidc", get(oidc::start))
        .route("/auth/callback", get(oidc::callback))
        .route("/signout", post(post_sign_out))
        .route("/lang/{code}", get(choose_language_link))
        .route("/static/app.css", get(stylesheet))
        .route(HTMX_PATH, get(htmx_script))
        .route("/brand.css", get(brand_css))
        .route("/brand/logo.svg", get(brand_logo))
        .merge(pages::routes())
        .merge(staff::routes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_web_text_exists_in_every_language_and_parses() {
        Localiser::from_sources(web_source).expect("the web texts parse");
        let reference = Localiser::message_ids_of(web_source(Language::En));
        assert!(reference.len() > 80, "{reference:?}");
        for language in nordlys_documents::i18n::LANGUAGES {
            let ids = Localiser::message_ids_of(web_source(language));
            assert_eq!(ids, reference, "{language:?} differs from en");
        }
    }

    #[test]
    fn the_language_is_the_visitors_choice_then_the_accounts_then_the_browsers() {
        let mut headers = HeaderMap::new();
        assert_eq!(choose_language(&headers, None), Language::Nb);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("da-DK,da;q=0.9,en;q=0.8"),
        );
        assert_eq!(choose_language(&headers, None), Language::Da);
        assert_eq!(choose_language(&headers, Some(Language::En)), Language::En);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; nordlys_lang=nb"),
        );
        assert_eq!(choose_language(&headers, Some(Language::En)), Language::Nb);
    }
}
