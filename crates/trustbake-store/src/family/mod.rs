//! An OS family: the trust store one update tool keeps (`update-ca-trust`,
//! `update-ca-certificates`), behind one interface — is this root's store mine and which outputs
//! does it have, what would the tool write for new CAs and without distrusted ones, what does
//! each store hold. Each family is one module with its paths inside it; [`FAMILIES`] is the
//! list the engine, detection and inspection go through. Adding a family is one new module and
//! one entry in that list (see ARCHITECTURE.md, "How to add an OS family").

pub(crate) mod alpine;
mod conf;
pub(crate) mod debian;
pub(crate) mod distroless;
mod mirror;
mod p11;
pub(crate) mod rhel;
mod store;
pub(crate) mod suse;

use trustbake_targets::OsFamily;

pub(crate) use store::{OsStore, bundle, keystore};

/// Every OS family, in the order a root's own family is chosen when it holds two.
pub(crate) const FAMILIES: [&dyn OsStore; 5] = [
    &rhel::Rhel,
    &suse::Suse,
    &alpine::Alpine,
    &distroless::Distroless,
    &debian::Debian,
];

/// The family named `family`.
pub(crate) fn family_of(family: OsFamily) -> &'static dyn OsStore {
    FAMILIES
        .iter()
        .copied()
        .find(|f| f.family() == family)
        .unwrap_or(FAMILIES[0])
}

/// Where the distrusted CAs of the root's p11-kit family go: SUSE's `/etc/pki/trust/blocklist`,
/// or RHEL's blocklist for its release (`blocklist/` on EL9, `blacklist/` on EL7 and EL8).
pub fn blocklist_dir(
    view: &dyn crate::view::RootView,
    layout: &crate::layout::Layout,
) -> Result<&'static str, crate::error::StoreError> {
    match layout.family {
        OsFamily::Suse => suse::blocklist_dir(view),
        _ => rhel::blocklist_dir(view, layout),
    }
}
