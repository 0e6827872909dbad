//! Products as data: reading product files (Nordlys TOML, fri-nettleie YAML), storing them
//! versioned by code, and loading the current versions for rating.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Instant;

use nordlys_core::model::ContractRole;
use nordlys_rating::{Product, fri_nettleie::import_fri_nettleie, parse_product_toml};
use nordlys_store::{ImportCounts, Store, StoreError};

use crate::Clock;
use crate::import::{ImportError, ImportKind, ImportReport, RowError};

/// Product file formats Nordlys reads, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductFormat {
    /// Nordlys's own TOML (`docs/products.md`), one product per file.
    Toml,
    /// fri-nettleie YAML: one grid company's tariffs, one product per customer group.
    FriNettleie,
    /// OpenEI URDB JSON (`{"items": [...]}` or one rate); its hours are in a zone the caller names.
    Urdb,
}

/// The zone of a URDB rate's schedules when the caller names none.
pub const DEFAULT_URDB_TIME_ZONE: &str = "UTC";

impl ProductFormat {
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "toml" => Some(ProductFormat::Toml),
            "yml" | "yaml" => Some(ProductFormat::FriNettleie),
            "json" => Some(ProductFormat::Urdb),
            _ => None,
        }
    }

    /// How the store records the format (with what re-reading the body needs).
    pub fn stored_name(self, file_stem: &str, urdb_time_zone: &str) -> String {
        match self {
            ProductFormat::Toml => "toml".to_owned(),
            ProductFormat::FriNettleie => format!("fri-nettleie:{file_stem}"),
            ProductFormat::Urdb => format!("urdb:{urdb_time_zone}"),
        }
    }
}

/// Parse and validate every product in a file. Errors say which file, product, component and field.
pub fn parse_product_file(
    format: ProductFormat,
    file_stem: &str,
    source: &str,
    text: &str,
) -> Result<Vec<Product>, String> {
    parse_product_file_in(format, file_stem, source, text, DEFAULT_URDB_TIME_ZONE)
}

/// [`parse_product_file`] with the zone of URDB schedules named.
pub fn parse_product_file_in(
    format: ProductFormat,
    file_stem: &str,
    source: &str,
    text: &str,
    urdb_time_zone: &str,
) -> Result<Vec<Product>, String> {
    match format {
        ProductFormat::Toml => parse_product_toml(text)
            .map(|p| vec![p])
            .map_err(|e| format!("{source}: {e}")),
        ProductFormat::FriNettleie => {
            import_fri_nettleie(file_stem, text).map_err(|e| e.to_string())
        }
        ProductFormat::Urdb => {
            nordlys_rating::openei_urdb::import_urdb(source, text, urdb_time_zone)
                .map_err(|e| e.to_string())
        }
    }
}

/// Parse one stored product body back into the product with `code`.
fn parse_stored(format: &str, body: &str, code: &str) -> Result<Product, String> {
    let products = match format.split_once(':') {
        None if format == "toml" => parse_product_file(ProductFormat::Toml, "", code, body)?,
        Some(("fri-nettleie", stem)) => {
            parse_product_file(ProductFormat::FriNettleie, stem, code, body)?
        }
        Some(("urdb", zone)) => parse_product_file_in(ProductFormat::Urdb, "", code, body, zone)?,
        _ => return Err(format!("product {code}: unknown stored format {format:?}")),
    };
    products
        .into_iter()
        .find(|p| p.code == code)
        .ok_or_else(|| format!("product {code} is missing from its stored file"))
}

/// Import the products of one file; the file is all-or-nothing. URDB schedules are read in
/// `urdb_time_zone` (the other formats name their zone themselves).
pub async fn import_products(
    store: &Store,
    path: &Path,
    text: &str,
    urdb_time_zone: &str,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let source = path.display().to_string();
    let rejected = |message: String| {
        ImportError::rejected(&source, vec![RowError::new(0, "product", message)], false)
    };
    let format = ProductFormat::from_path(path).ok_or_else(|| {
        rejected(
            "product files are .toml (Nordlys), .yml/.yaml (fri-nettleie) or .json (OpenEI URDB)"
                .to_owned(),
        )
    })?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("product");
    let products =
        parse_product_file_in(format, stem, &source, text, urdb_time_zone).map_err(rejected)?;
    let mut tx = store
        .begin_import(ImportKind::Products.code(), &source, clock.now())
        .await?;
    let mut counts = ImportCounts::default();
    for product in &products {
        counts.record(
            tx.upsert_product(
                &product.code,
                &format.stored_name(stem, urdb_time_zone),
                &source,
                text,
            )
            .await?,
        );
    }
    tx.commit(counts).await?;
    Ok(ImportReport {
        kind: ImportKind::Products,
        source,
        rows: counts.rows,
        inserted: counts.inserted,
        updated: counts.updated,
        unchanged: counts.unchanged,
        elapsed: started.elapsed(),
    })
}

/// The current version of every stored product, by code.
pub async fn load_products(store: &Store) -> Result<HashMap<String, Product>, LoadProductsError> {
    let mut out = HashMap::new();
    for stored in store.products().await? {
        let product = parse_stored(&stored.format, &stored.body, &stored.code)
            .map_err(LoadProductsError::Invalid)?;
        out.insert(stored.code, product);
    }
    Ok(out)
}

/// The supplier products the utility offers: those of `products` that its supplier contracts
/// bill with (what the comparison rates and a customer moving in may choose).
pub async fn offered_supplier_codes(
    store: &Store,
    products: &HashMap<String, Product>,
) -> Result<BTreeSet<String>, StoreError> {
    Ok(store
        .product_codes_of_role(ContractRole::Supplier)
        .await?
        .into_iter()
        .filter(|code| products.contains_key(code))
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum LoadProductsError {
    #[error("a stored product no longer reads: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The latest version of every stored product, parsed, and the version numbers read with them
/// (recorded with each settlement).
pub async fn load_products_with_versions(
    store: &Store,
) -> Result<(HashMap<String, Product>, HashMap<String, i64>), LoadProductsError> {
    let mut products = HashMap::new();
    let mut versions = HashMap::new();
    for stored in store.products().await? {
        let product = parse_stored(&stored.format, &stored.body, &stored.code)
            .map_err(LoadProductsError::Invalid)?;
        versions.insert(stored.code.clone(), stored.version);
        products.insert(stored.code, product);
    }
    Ok((products, versions))
}
