//! Sign-in through an OpenID provider (OpenID Connect, authorization code flow with PKCE), for
//! customers (BankID and ID-porten through their brokers) and for staff (Microsoft Entra ID), or
//! any standards-compliant provider, configured by issuer URL, client id and secret. Each
//! provider is discovered when the server starts. The claim that names the person is
//! configurable: for a customer the customer number itself, or an identity number (e.g. a BankID
//! broker's national identity number claim) matched against the customers' identities; for staff
//! the name of an existing staff user (`preferred_username` by default). State, nonce and PKCE
//! verifier are kept in the store (by the hash of the audience and the state) until the callback
//! of that audience uses them, once, so any instance of the server can take the callback.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use nordlys_store::WebSubject;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::Deserialize;

use super::session;
use crate::AppState;

/// How the claim names the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerMatch {
    /// The claim is the customer number.
    CustomerId,
    /// The claim is an identity number (national identity, CPR, organisation, CVR).
    Identity,
}

/// Who signs in through a provider, and how its claim names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcAudience {
    /// Customers, to the self-service web (callback `/auth/callback`).
    Customer(CustomerMatch),
    /// The utility's staff, to the back-office (callback `/staff/auth/callback`): the claim is
    /// the name of a staff user made with `nordlys staff add`.
    Staff,
}

impl OidcAudience {
    /// The prefix that keeps one audience's pending logins from another's callback.
    fn code(self) -> &'static str {
        match self {
            OidcAudience::Customer(_) => "customer",
            OidcAudience::Staff => "staff",
        }
    }
}

/// What the server is told about an OpenID provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where the provider sends the browser back: `https://…/auth/callback` for customers,
    /// `https://…/staff/auth/callback` for staff.
    pub redirect_url: String,
    /// The ID token claim that names the person, e.g. `sub`, a broker's `nnin`, or Entra ID's
    /// `preferred_username`.
    pub claim: String,
    pub audience: OidcAudience,
    /// Scopes to ask for besides `openid` (e.g. a broker's national identity scope).
    pub scopes: Vec<String>,
    /// The button's text: "BankID", "ID-porten", "Microsoft Entra ID" …
    pub label: String,
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A discovered provider, ready to sign customers or staff in.
pub struct OidcProvider {
    config: OidcConfig,
    client: Client,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OidcHttpError(String);

/// The provider's HTTP calls (discovery, JWKS, token): ureq off the async threads, no redirects
/// followed, a time limit on each.
async fn http_client(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, OidcHttpError> {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(15)))
            .build()
            .into();
        let response = agent
            .run(request)
            .map_err(|e| OidcHttpError(e.to_string()))?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| OidcHttpError(e.to_string()))?;
        Ok(openidconnect::HttpResponse::from_parts(parts, bytes))
    })
    .await
    .map_err(|e| OidcHttpError(e.to_string()))?
}

impl OidcProvider {
    /// Discover the provider at the configured issuer.
    pub async fn discover(config: OidcConfig) -> Result<OidcProvider, String> {
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| format!("issuer {:?}: {e}", config.issuer))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http_client)
            .await
            .map_err(|e| {
                format!(
                    "the OpenID provider at {} cannot be discovered: {e}",
                    config.issuer
                )
            })?;
        let redirect = RedirectUrl::new(config.redirect_url.clone())
            .map_err(|e| format!("redirect URL {:?}: {e}", config.redirect_url))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        Ok(OidcProvider { config, client })
    }

    pub fn label(&self) -> &str {
        &self.config.label
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The ID token claim that names the person.
    pub fn claim(&self) -> &str {
        &self.config.claim
    }
}

/// The key a pending login is kept by: the hash of its audience and its state.
fn login_key(audience: OidcAudience, csrf: &str) -> String {
    session::sha256_hex(&format!("{}:{csrf}", audience.code()))
}

/// Start a customer's sign-in: to the provider, with state, nonce and a PKCE challenge.
pub async fn start(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match state.options.oidc.as_ref() {
        Some(provider) => redirect_to_provider(&state, provider).await,
        None => super::not_found_page(&state, &headers).await,
    }
}

/// Send the browser to `provider` with a new state, nonce and PKCE challenge, kept in the store.
pub(crate) async fn redirect_to_provider(state: &AppState, provider: &OidcProvider) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = provider.client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in &provider.config.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();
    let expires = state.clock.now().as_microsecond() + 10 * 60 * 1_000_000;
    if let Err(error) = state
        .store
        .create_oidc_login(
            &login_key(provider.config.audience, csrf.secret()),
            nonce.secret(),
            verifier.secret(),
            expires,
        )
        .await
    {
        return crate::problem::ApiError::from(error).into_response();
    }
    Redirect::to(url.as_str()).into_response()
}

/// What the provider sends back to a callback.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The claim `name` of a verified ID token, read from its payload.
fn claim_of(id_token: &str, name: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    match claims.get(name)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Why a callback does not sign in: the status, the message of the sign-in page, and what the
/// log says.
pub(crate) struct Refusal(pub StatusCode, pub &'static str, pub String);

fn refused(status: StatusCode, reason: impl std::fmt::Display) -> Refusal {
    Refusal(status, "signin-oidc-failed", reason.to_string())
}

/// The message of a verified answer without the configured claim: the person cannot be named.
pub(crate) const CLAIM_MISSING: &str = "signin-oidc-unknown";

/// The refusal of a person the provider knows but Nordlys does not.
pub(crate) fn unknown(reason: &str) -> Refusal {
    Refusal(
        StatusCode::FORBIDDEN,
        "signin-oidc-unknown",
        reason.to_owned(),
    )
}

/// The value of the configured claim in the provider's answer: check state (of this provider's
/// audience), exchange the code with the PKCE verifier, verify the ID token (signature, issuer,
/// audience, expiry, nonce), read the claim.
pub(crate) async fn verified_claim(
    state: &AppState,
    provider: &OidcProvider,
    answer: Callback,
) -> Result<String, Refusal> {
    let (Some(code), Some(csrf)) = (answer.code, answer.state) else {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            answer.error.as_deref().unwrap_or("no code or state"),
        ));
    };
    let now_us = state.clock.now().as_microsecond();
    let (nonce, verifier) = state
        .store
        .take_oidc_login(&login_key(provider.config.audience, &csrf), now_us)
        .await
        .map_err(|e| refused(StatusCode::SERVICE_UNAVAILABLE, e))?
        .ok_or_else(|| refused(StatusCode::BAD_REQUEST, "unknown, used or expired state"))?;
    let tokens = provider
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| refused(StatusCode::BAD_GATEWAY, e))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http_client)
        .await
        .map_err(|e| refused(StatusCode::BAD_GATEWAY, e))?;
    let id_token = openidconnect::TokenResponse::id_token(&tokens)
        .ok_or_else(|| refused(StatusCode::BAD_GATEWAY, "no ID token"))?;
    id_token
        .claims(&provider.client.id_token_verifier(), &Nonce::new(nonce))
        .map_err(|e| refused(StatusCode::BAD_REQUEST, e))?;
    claim_of(&id_token.to_string(), &provider.config.claim).ok_or_else(|| {
        Refusal(
            StatusCode::FORBIDDEN,
            CLAIM_MISSING,
            format!("the ID token has no claim {}", provider.config.claim),
        )
    })
}

/// The customer the provider's answer signs in: the verified claim, then the customer it names.
async fn customer_of(
    state: &AppState,
    provider: &OidcProvider,
    answer: Callback,
) -> Result<String, Refusal> {
    let value = verified_claim(state, provider, answer).await?;
    let found = match provider.config.audience {
        OidcAudience::Staff => return Err(unknown("a staff provider signs in no customer")),
        OidcAudience::Customer(CustomerMatch::CustomerId) => state
            .store
            .customer(&value)
            .await
            .map(|c| c.map(|c| c.customer_id)),
        OidcAudience::Customer(CustomerMatch::Identity) => {
            state.store.customer_id_by_identity(&value).await
        }
    };
    found
        .map_err(|e| refused(StatusCode::SERVICE_UNAVAILABLE, e))?
        .ok_or_else(|| unknown("no customer matches the claim"))
}

/// The provider sends the browser back here.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(answer): Query<Callback>,
) -> Response {
    let Some(provider) = state.options.oidc.as_ref() else {
        return super::not_found_page(&state, &headers).await;
    };
    match customer_of(&state, provider, answer).await {
        Ok(customer) => {
            tracing::info!(customer = %customer, provider = %provider.config.issuer, "signed in (OpenID Connect)");
            let subject = WebSubject {
                kind: "customer".to_owned(),
                subject: customer,
            };
            session::signed_in_response(&state, &subject).await
        }
        Err(Refusal(status, message, reason)) => {
            tracing::warn!(%reason, "OpenID sign-in refused");
            super::sign_in_page(&state, &headers, status, Some(message), None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_read_from_the_token_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"abc","nnin":"01010012345","n":5}"#);
        let token = format!("x.{payload}.y");
        assert_eq!(claim_of(&token, "nnin").as_deref(), Some("01010012345"));
        assert_eq!(claim_of(&token, "n").as_deref(), Some("5"));
        assert_eq!(claim_of(&token, "missing"), None);
    }
}
