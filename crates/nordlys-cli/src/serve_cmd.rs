//! `nordlys serve`: the server on a database, until Ctrl-C or SIGTERM (requests in flight are
//! finished); and `nordlys tokens`: the service accounts that may call the API.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use nordlys_app::SystemClock;
use nordlys_app::access::{self, AccessError, Scope};
use nordlys_store::Store;

use crate::open;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port, printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Demo mode: the development sign-in, with one-time codes printed on this console
    /// (refused unless --listen is a loopback address).
    #[arg(long)]
    pub demo_sign_in: bool,
    #[command(flatten)]
    pub oidc: OidcArgs,
    #[command(flatten)]
    pub staff_oidc: StaffOidcArgs,
    /// How many days after its due date a customer may postpone an invoice to.
    #[arg(long, env = "NORDLYS_POSTPONE_MAX_DAYS", default_value_t = 14)]
    pub postpone_max_days: i64,
    /// How many times a customer may postpone one invoice.
    #[arg(long, env = "NORDLYS_POSTPONE_PER_INVOICE", default_value_t = 1)]
    pub postpone_per_invoice: usize,
}

/// Sign-in of customers through an OpenID provider (BankID or ID-porten through a broker, or any
/// standards-compliant provider).
#[derive(Args)]
pub struct OidcArgs {
    /// The provider's issuer URL (its discovery document is read at start).
    #[arg(long, env = "NORDLYS_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The client id Nordlys is registered with at the provider.
    #[arg(long, env = "NORDLYS_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// The client secret (better given in the environment than on the command line).
    #[arg(
        long,
        env = "NORDLYS_OIDC_CLIENT_SECRET",
        hide_env_values = true,
        requires = "oidc_issuer"
    )]
    pub oidc_client_secret: Option<String>,
    /// Where the provider sends the browser back (default: http://LISTEN/auth/callback).
    #[arg(long, env = "NORDLYS_OIDC_REDIRECT_URL")]
    pub oidc_redirect_url: Option<String>,
    /// The ID token claim that names the customer.
    #[arg(long, env = "NORDLYS_OIDC_CLAIM", default_value = "sub")]
    pub oidc_claim: String,
    /// What the claim holds: the customer number, or an identity number (national identity,
    /// CPR, organisation or CVR number) to find the customer by.
    #[arg(
        long,
        env = "NORDLYS_OIDC_MATCH",
        value_enum,
        default_value = "customer-id"
    )]
    pub oidc_match: OidcMatch,
    /// Scopes to ask for besides openid (repeat), e.g. a broker's national identity scope.
    #[arg(
        long = "oidc-scope",
        env = "NORDLYS_OIDC_SCOPES",
        value_delimiter = ','
    )]
    pub oidc_scopes: Vec<String>,
    /// The sign-in button's text.
    #[arg(long, env = "NORDLYS_OIDC_LABEL", default_value = "BankID")]
    pub oidc_label: String,
}

/// Sign-in of staff to the back-office through an OpenID provider (Microsoft Entra ID, or any
/// standards-compliant provider). The claim's value must be the name of a staff user made with
/// `nordlys staff add`; anyone else is refused (and the refusal audited).
#[derive(Args)]
pub struct StaffOidcArgs {
    /// The staff provider's issuer URL, e.g. https://login.microsoftonline.com/TENANT/v2.0.
    #[arg(long, env = "NORDLYS_STAFF_OIDC_ISSUER")]
    pub staff_oidc_issuer: Option<String>,
    /// The client id Nordlys's back-office is registered with at the provider.
    #[arg(
        long,
        env = "NORDLYS_STAFF_OIDC_CLIENT_ID",
        requires = "staff_oidc_issuer"
    )]
    pub staff_oidc_client_id: Option<String>,
    /// The client secret (better given in the environment than on the command line).
    #[arg(
        long,
        env = "NORDLYS_STAFF_OIDC_CLIENT_SECRET",
        hide_env_values = true,
        requires = "staff_oidc_issuer"
    )]
    pub staff_oidc_client_secret: Option<String>,
    /// Where the provider sends the browser back (default: http://LISTEN/staff/auth/callback).
    #[arg(long, env = "NORDLYS_STAFF_OIDC_REDIRECT_URL")]
    pub staff_oidc_redirect_url: Option<String>,
    /// The ID token claim that names the staff user (Entra ID sends preferred_username; email
    /// is also common).
    #[arg(
        long,
        env = "NORDLYS_STAFF_OIDC_CLAIM",
        default_value = "preferred_username"
    )]
    pub staff_oidc_claim: String,
    /// The staff sign-in button's text.
    #[arg(
        long,
        env = "NORDLYS_STAFF_OIDC_LABEL",
        default_value = "Microsoft Entra ID"
    )]
    pub staff_oidc_label: String,
}

/// Scopes a staff sign-in asks for besides openid: the standard ones that carry
/// `preferred_username` and `email`.
const STAFF_OIDC_SCOPES: [&str; 2] = ["profile", "email"];

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OidcMatch {
    CustomerId,
    Identity,
}

#[derive(Subcommand)]
pub enum StaffWhat {
    /// Add a staff member of the back-office; the password is read from standard input (one
    /// line, at least 12 characters), the TOTP secret for the authenticator app is printed once.
    Add {
        /// The staff member's user name (letters, digits, '-', '_', '.', '@'); to sign in through
        /// the staff OpenID provider, exactly the value of its claim (`--staff-oidc-claim`).
        name: String,
    },
}

#[derive(Subcommand)]
pub enum TokensWhat {
    /// Make a token for a service account; its secret is printed once and never stored.
    Create {
        /// The service account's name (letters, digits, '-', '_', '.').
        name: String,
        /// What it may do: read, write, billing, personal_data (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// The tokens, without their secrets.
    List,
    /// Revoke a token: requests with it are refused within 5 seconds.
    Revoke {
        /// The token's name (`nordlys tokens list`).
        name: String,
    },
}

/// Serve `store` on `listen` until Ctrl-C or SIGTERM; `demo_sign_in`: the development sign-in.
pub async fn serve_store(store: Store, listen: &str, demo_sign_in: bool) -> Result<()> {
    let options = nordlys_web::ServerOptions::default();
    serve_with(store, listen, demo_sign_in, options).await
}

/// What one OpenID provider's flags say, before the secret and client id are checked.
struct ProviderFlags<'a> {
    /// The flags' prefix, for messages: `--oidc` or `--staff-oidc`.
    flag: &'static str,
    env: &'static str,
    issuer: &'a Option<String>,
    client_id: &'a Option<String>,
    client_secret: &'a Option<String>,
    redirect_url: Option<String>,
    callback_path: &'static str,
    claim: &'a str,
    audience: nordlys_web::web::oidc::OidcAudience,
    scopes: Vec<String>,
    label: &'a str,
}

/// The OpenID provider the flags name, discovered (`None` without an issuer).
async fn discover(
    flags: ProviderFlags<'_>,
    listen: &str,
) -> Result<Option<Arc<nordlys_web::web::oidc::OidcProvider>>> {
    let Some(issuer) = flags.issuer else {
        return Ok(None);
    };
    let (Some(client_id), Some(client_secret)) = (flags.client_id, flags.client_secret) else {
        let (flag, env) = (flags.flag, flags.env);
        bail!(
            "{flag}-issuer needs {flag}-client-id and {flag}-client-secret (or {env}_CLIENT_ID and {env}_CLIENT_SECRET)"
        );
    };
    let config = nordlys_web::web::oidc::OidcConfig {
        issuer: issuer.clone(),
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
        redirect_url: flags
            .redirect_url
            .unwrap_or_else(|| format!("http://{listen}{}", flags.callback_path)),
        claim: flags.claim.to_owned(),
        audience: flags.audience,
        scopes: flags.scopes,
        label: flags.label.to_owned(),
    };
    let provider = nordlys_web::web::oidc::OidcProvider::discover(config)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", flags.flag))?;
    Ok(Some(Arc::new(provider)))
}

/// The customers' OpenID provider (`--oidc-…`).
async fn oidc_provider(
    args: &OidcArgs,
    listen: &str,
) -> Result<Option<Arc<nordlys_web::web::oidc::OidcProvider>>> {
    use nordlys_web::web::oidc::{CustomerMatch, OidcAudience};
    let flags = ProviderFlags {
        flag: "--oidc",
        env: "NORDLYS_OIDC",
        issuer: &args.oidc_issuer,
        client_id: &args.oidc_client_id,
        client_secret: &args.oidc_client_secret,
        redirect_url: args.oidc_redirect_url.clone(),
        callback_path: "/auth/callback",
        claim: &args.oidc_claim,
        audience: OidcAudience::Customer(match args.oidc_match {
            OidcMatch::CustomerId => CustomerMatch::CustomerId,
            OidcMatch::Identity => CustomerMatch::Identity,
        }),
        scopes: args.oidc_scopes.clone(),
        label: &args.oidc_label,
    };
    discover(flags, listen).await
}

/// The staff's OpenID provider (`--staff-oidc-…`).
async fn staff_oidc_provider(
    args: &StaffOidcArgs,
    listen: &str,
) -> Result<Option<Arc<nordlys_web::web::oidc::OidcProvider>>> {
    let flags = ProviderFlags {
        flag: "--staff-oidc",
        env: "NORDLYS_STAFF_OIDC",
        issuer: &args.staff_oidc_issuer,
        client_id: &args.staff_oidc_client_id,
        client_secret: &args.staff_oidc_client_secret,
        redirect_url: args.staff_oidc_redirect_url.clone(),
        callback_path: "/staff/auth/callback",
        claim: &args.staff_oidc_claim,
        audience: nordlys_web::web::oidc::OidcAudience::Staff,
        scopes: STAFF_OIDC_SCOPES.map(str::to_owned).to_vec(),
        label: &args.staff_oidc_label,
    };
    discover(flags, listen).await
}

/// Serve with `options` (its providers discovered, its rules checked); `demo_sign_in` adds the
/// development sign-in.
async fn serve_with(
    store: Store,
    listen: &str,
    demo_sign_in: bool,
    mut options: nordlys_web::ServerOptions,
) -> Result<()> {
    let address: SocketAddr = listen.parse().with_context(|| {
        format!("--listen {listen:?}: give an address and port, e.g. 127.0.0.1:8080")
    })?;
    if demo_sign_in && !address.ip().is_loopback() {
        bail!(
            "--demo-sign-in lets anyone sign in as any customer: it runs only on a loopback address (127.0.0.1 or ::1), not on {address}"
        );
    }
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener.local_addr()?;
    println!(
        "Nordlys serves http://{bound} (API: http://{bound}/api/v1, OpenAPI: http://{bound}/api/openapi.json)"
    );
    if let Some(provider) = &options.oidc {
        println!("Sign-in with {} at http://{bound}/signin", provider.label());
    }
    if let Some(provider) = &options.staff_oidc {
        println!(
            "Staff sign-in with {} at http://{bound}/staff/signin",
            provider.label()
        );
    }
    if demo_sign_in {
        println!(
            "Demo mode: development sign-in at http://{bound}/signin; the one-time codes are printed here."
        );
        options.demo_sign_in = Some(Arc::new(|who: &str, code: &str| {
            println!("sign-in code for {who}: {code} (valid 10 minutes)");
        }));
    }
    let state = nordlys_web::AppState::with_options(store.clone(), Arc::new(SystemClock), options);
    nordlys_web::serve(listener, state, shutdown_signal())
        .await
        .context("the server stopped")?;
    eprintln!("stopped");
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

pub async fn serve(db: &str, args: ServeArgs) -> Result<()> {
    let store = open(db).await?;
    let oidc = oidc_provider(&args.oidc, &args.listen).await?;
    let staff_oidc = staff_oidc_provider(&args.staff_oidc, &args.listen).await?;
    if !(1..=90).contains(&args.postpone_max_days) {
        bail!(
            "--postpone-max-days {}: give 1 to 90 days",
            args.postpone_max_days
        );
    }
    let rules = nordlys_app::work_orders::PostponeRules {
        max_days: args.postpone_max_days,
        per_invoice: args.postpone_per_invoice,
    };
    let options = nordlys_web::ServerOptions {
        oidc,
        staff_oidc,
        postpone_rules: rules,
        ..Default::default()
    };
    serve_with(store, &args.listen, args.demo_sign_in, options).await
}

fn access_error(error: AccessError) -> anyhow::Error {
    match error {
        AccessError::Invalid(e) => anyhow::anyhow!("{} {:?}: {}", e.field, e.value, e.rule),
        AccessError::Store(nordlys_store::StoreError::Rejected(e)) => {
            anyhow::anyhow!("{} {:?}: {}", e.field, e.value, e.rule)
        }
        AccessError::Store(e) => e.into(),
    }
}

/// Make a token and return its secret.
pub async fn create_token(store: &Store, name: &str, scopes: &[Scope]) -> Result<String> {
    let made = access::create_token(store, name, scopes, &SystemClock)
        .await
        .map_err(access_error)?;
    Ok(made.secret)
}

pub async fn tokens(db: &str, what: TokensWhat) -> Result<()> {
    let store = open(db).await?;
    match what {
        TokensWhat::Create { name, scopes } => {
            let scopes = scopes
                .iter()
                .flat_map(|s| s.split(','))
                .map(|s| Scope::parse(s.trim()).map_err(|e| crate::flag_error("--scope", e)))
                .collect::<Result<Vec<_>>>()?;
            let secret = create_token(&store, &name, &scopes).await?;
            println!("{secret}");
            eprintln!(
                "token {name:?} made; its secret above is shown this once (send it as Authorization: Bearer …)"
            );
        }
        TokensWhat::List => {
            println!(
                "{:<24}  {:<16}  {:<32}  {:<25}  status",
                "name", "prefix", "scopes", "created"
            );
            for t in store.api_tokens().await? {
                let created = jiff::Timestamp::from_microsecond(t.created_at_us)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                println!(
                    "{:<24}  {:<16}  {:<32}  {:<25}  {}",
                    t.name,
                    t.prefix,
                    t.scopes.join(","),
                    created,
                    if t.revoked_at_us.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        TokensWhat::Revoke { name } => {
            let revoked = access::revoke_token(&store, &name, &SystemClock)
                .await
                .map_err(access_error)?;
            if revoked {
                println!("token {name:?} revoked");
            } else {
                bail!("token {name:?} was revoked already");
            }
        }
    }
    store.close().await;
    Ok(())
}

pub async fn staff(db: &str, what: StaffWhat) -> Result<()> {
    let store = open(db).await?;
    match what {
        StaffWhat::Add { name } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let made = nordlys_app::staff::add_staff(&store, &name, password, &SystemClock)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", made.otpauth_url);
            eprintln!(
                "staff member {name:?} added; enter the TOTP secret {} (or the otpauth URL above) in an authenticator app: it is shown this once",
                made.totp_secret
            );
        }
    }
    store.close().await;
    Ok(())
}
