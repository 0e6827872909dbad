//! `nordlys issuer set FILE | show`: the issuer's profile (seller per market, branding, e-mail
//! sender) that every document is rendered with, stored versioned in the database.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use nordlys_app::SystemClock;
use nordlys_app::documents::{parse_issuer_profile, set_issuer_profile};
use nordlys_store::Upsert;

use crate::open;

#[derive(Subcommand)]
pub enum IssuerWhat {
    /// Check a profile (TOML, see docs/documents.md) and store it; a changed profile is a new
    /// version, and documents already rendered keep the bytes they were rendered with.
    Set {
        /// The profile file.
        file: PathBuf,
    },
    /// Print the stored profile (the latest version, or `--version N`).
    Show {
        #[arg(long)]
        version: Option<i64>,
    },
}

pub async fn issuer(db: &str, what: IssuerWhat) -> Result<()> {
    match what {
        IssuerWhat::Set { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let store = open(db).await?;
            let result =
                set_issuer_profile(&store, &text, &file.display().to_string(), &SystemClock).await;
            store.close().await;
            let (upsert, profile) =
                result.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let markets: Vec<&str> = profile.sellers.keys().map(|m| m.code()).collect();
            let what = match upsert {
                Upsert::Unchanged => "unchanged",
                Upsert::Inserted => "set",
                Upsert::Updated => "changed",
            };
            println!(
                "issuer profile {what}: version {}, sellers for {}",
                profile.version,
                markets.join(", ")
            );
        }
        IssuerWhat::Show { version } => {
            let store = open(db).await?;
            let stored = store.issuer_profile(version).await?;
            store.close().await;
            let Some(stored) = stored else {
                match version {
                    Some(version) => {
                        bail!("--version {version}: no issuer profile has this version")
                    }
                    None => bail!("no issuer profile is set (`nordlys issuer set FILE`)"),
                }
            };
            parse_issuer_profile(&stored.body, stored.version)?;
            println!("# version {}", stored.version);
            print!("{}", stored.body);
        }
    }
    Ok(())
}
