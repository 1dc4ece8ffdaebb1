//! Server chains and the certificates a check is given: read from files, fetched from a
//! server, or modelled from the charts' runtime mount — and why a client refuses one.

pub use trustbake_certs::{Chain, Failure};

pub use crate::load::read_certificates;
pub use crate::verify::{fetch_chain, load_chain, load_runtime_certs, parse_url};
