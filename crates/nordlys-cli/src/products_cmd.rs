//! `nordlys products validate`: check product files without storing them.

use crate::support::read_products;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ProductsWhat {
    /// Parse and validate product files (.toml Nordlys, .yml fri-nettleie); store nothing.
    Validate {
        /// Product files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn products(what: ProductsWhat) -> Result<()> {
    let ProductsWhat::Validate { files } = what;
    let mut failed = 0;
    for path in &files {
        match read_products(path) {
            Ok(products) => {
                for p in products {
                    println!(
                        "{}: {} ({}, {} components) is valid",
                        path.display(),
                        p.code,
                        p.name,
                        p.components.len()
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("{e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} files have invalid products", files.len());
    }
    Ok(())
}
