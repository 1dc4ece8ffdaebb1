//! The inner crates' types that are part of the library's contract: the version map's names
//! (product, version, component, what an image's name says) and the trust-store engine's
//! (store and client kinds, an image's environment, a CA to distrust).

pub use trustbake_image::ImageError;
pub use trustbake_store::{ConsumerKind, Env, Removal, StoreKind};
pub use trustbake_targets::{Component, ImageName, Naming, Product, Version};
