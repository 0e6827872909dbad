//! Documents as sent: the issuer's profile (`issuer`), an issued document assembled with its
//! parties and consumption for rendering (`assemble`), renditions kept as first rendered
//! (`render`), and delivery (`deliver`).

mod assemble;
mod deliver;
mod issuer;
mod render;

pub use assemble::{AssembleError, assemble_document};
pub use deliver::{DeliveryConfig, DeliveryError, SendReport, send_documents};
pub use issuer::{
    IssuerProfile, ProfileError, SetProfileError, parse_issuer_profile, set_issuer_profile,
};
pub use render::{RenderContext, RenderError, Renditions, renditions};
