//! The seam from a source to what the engine sees: one platform's layers scanned (keeping the
//! bodies a command's wanted set names, within [`MAX_BODY`]), its config's environment, and the
//! merged layers as a `RootView` ([`ImageRoot`]). Every command that reads an image goes
//! through here; none reaches into another command.

use trustbake_image::{LayeredRoot, Node, NodeKind, PlatformImage, ScanCache, ScanOptions};
use trustbake_store::{Entry, Env, Meta, RootView, StoreError};

use crate::error::Error;

/// Largest file body kept in memory while scanning: the largest the engine reads.
pub(crate) const MAX_BODY: u64 = trustbake_store::paths::MAX_READ;

/// One platform's layers scanned, keeping the bodies of the files `wanted` names (up to
/// [`MAX_BODY`]).
pub(crate) fn scan(
    image: &trustbake_image::Image,
    platform: &PlatformImage,
    wanted: &(dyn Fn(&str) -> bool + Sync),
    tee: Option<&trustbake_image::TeeUploads>,
    cache: Option<&ScanCache>,
) -> Result<LayeredRoot, Error> {
    Ok(LayeredRoot::scan(
        image,
        platform,
        &ScanOptions {
            wanted,
            max_body: MAX_BODY,
            max_inflated: u64::MAX,
            tee,
            cache,
        },
    )?)
}

/// A platform's environment: its config's `Env`.
pub(crate) fn config_env(platform: &PlatformImage) -> Env {
    let mut env = Env::new();
    let vars = platform
        .config
        .value()
        .config
        .as_ref()
        .and_then(|c| c.env.as_ref());
    for var in vars.into_iter().flatten() {
        if let Some((k, v)) = var.split_once('=') {
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    env
}

/// The merged layers of an image, seen by the engine.
pub(crate) struct ImageRoot<'a>(pub(crate) &'a LayeredRoot);

fn meta(node: &Node) -> Meta {
    Meta {
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
        mtime: node.mtime,
    }
}

impl RootView for ImageRoot<'_> {
    fn entry(&self, path: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.0.node(path).and_then(|node| match &node.kind {
            NodeKind::File => Some(Entry::File {
                meta: meta(node),
                size: node.size,
            }),
            NodeKind::Dir => Some(Entry::Dir { meta: meta(node) }),
            NodeKind::Symlink(target) => Some(Entry::Symlink {
                meta: meta(node),
                target: target.clone(),
            }),
            NodeKind::Other => None,
        }))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, StoreError> {
        let node = self.0.node(path);
        match (node, node.and_then(|n| n.body.as_ref())) {
            (_, Some(body)) => Ok(body.as_ref().clone()),
            (Some(n), None) if n.size > MAX_BODY => Err(StoreError::TooLarge {
                path: path.to_owned(),
                size: n.size,
                limit: MAX_BODY,
            }),
            // Only the engine's own paths are kept (trustbake_store::paths::reads): a path
            // missing there is a bug, said as such.
            _ => Err(StoreError::Read {
                path: path.to_owned(),
                reason: "trustbake did not keep this file while scanning the layers (a path missing from trustbake_store::paths::reads)".to_owned(),
            }),
        }
    }

    fn list(&self, path: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.0.list(path))
    }
}
