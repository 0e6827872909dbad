//! Integration tests of the store on real databases: SQLite files, and PostgreSQL when
//! `NORDLYS_TEST_POSTGRES_URL` names a server (see `nordlys_store::testing`).

mod copy;
mod explanations;
mod locks;
mod migration;
mod peppol;
