//! Reaching registries: how each side is reached (`Access`: credentials, certificates, TLS,
//! `Limits`), what can go wrong, and the transfer progress a caller may watch.

pub use trustbake_image::registry::{
    Access, Action, CredentialSource, Credentials, Limits, Progress, ProgressFn, RegistryError,
    Role,
};
