//! One integration-test binary for nordlys-rating (matklad, "Delete Cargo Integration Tests").

mod bounds;
mod examples;
mod fri_nettleie;
mod peppol;
mod properties;
mod schemes;
mod support;
mod urdb;
mod validation;
mod worked;
