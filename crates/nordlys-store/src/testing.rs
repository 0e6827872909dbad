//! Where tests put their databases: the conformance suite runs every store-, app- and
//! CLI-level test on SQLite and, when `NORDLYS_TEST_POSTGRES_URL` names a PostgreSQL server
//! (`scripts/pg-cluster.sh` starts a throwaway one), on PostgreSQL too, each test in a database
//! of its own. Not for production use: it creates databases.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AnyConnection, Connection};

/// The variable that selects PostgreSQL for the tests: a URL whose user may create databases.
pub const POSTGRES_URL_VARIABLE: &str = "NORDLYS_TEST_POSTGRES_URL";

/// The PostgreSQL server the tests are to use, if one is configured.
pub fn postgres_server() -> Option<String> {
    std::env::var(POSTGRES_URL_VARIABLE)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A new, empty database for one test: on the configured PostgreSQL server a database created
/// for it (its URL is returned), else a SQLite file `test.db` in `dir`.
pub async fn fresh_database(dir: &Path) -> String {
    match postgres_server() {
        Some(server) => create_postgres_database(&server).await,
        None => dir.join("test.db").display().to_string(),
    }
}

/// A copy of the test database at `from` (made by [`fresh_database`], with no process using
/// it): a copied SQLite file `test.db` in `dir`, or a PostgreSQL database created from it as a
/// template.
pub async fn copy_database(from: &str, dir: &Path) -> String {
    match postgres_server() {
        Some(server) => {
            let source = from.rsplit('/').next().unwrap_or(from);
            let source = source.split('?').next().unwrap_or(source).to_owned();
            create_postgres_database_from(&server, Some(&source)).await
        }
        None => {
            let to = dir.join("test.db");
            std::fs::copy(from, &to).unwrap_or_else(|e| panic!("cannot copy {from}: {e}"));
            to.display().to_string()
        }
    }
}

/// Create a database with a name of its own on `server`; returns its URL.
pub async fn create_postgres_database(server: &str) -> String {
    create_postgres_database_from(server, None).await
}

async fn create_postgres_database_from(server: &str, template: Option<&str>) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    sqlx::any::install_default_drivers();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "nordlys_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = AnyConnection::connect(server)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL_VARIABLE}={server}: cannot connect: {e}"));
    let template = template.map_or(String::new(), |t| format!(" TEMPLATE \"{t}\""));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name}{template}"
    )))
    .execute(&mut admin)
    .await
    .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let _ = admin.close().await;
    with_database(server, &name)
}

/// `server` (a PostgreSQL URL) naming database `name` instead of its own.
pub fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            super::with_database("postgres://u@127.0.0.1:5433/postgres", "t1"),
            "postgres://u@127.0.0.1:5433/t1"
        );
        assert_eq!(
            super::with_database("postgres://u@h:1?sslmode=disable", "t1"),
            "postgres://u@h:1/t1?sslmode=disable"
        );
    }
}
