//! The seam from a source to what the engine sees. [`Source::open`] takes what a user names —
//! a directory holding a root file system, or an image reference — and [`Source::each`] turns
//! it into one [`View`] per selected platform: the layers scanned (keeping the bodies [`Keep`]
//! names, within [`MAX_BODY`]), the config's environment, and the merged layers as a
//! `RootView` ([`ImageRoot`]). `inspect`, `verify`, `check-config` and `dockerfile` read
//! sources only through here; `bake`, which also writes, opens its image itself and scans each
//! platform with [`scan`]. Only this module knows both the layered image and `RootView`.

use std::path::{Path, PathBuf};

use trustbake_image::registry::{Access, Session};
use trustbake_image::{
    Image, ImageRef, LayeredRoot, Node, NodeKind, Platform, PlatformImage, ScanCache, ScanOptions,
};
use trustbake_store::{Entry, Env, Meta, RootView, StoreError};

use crate::error::Error;
use crate::root::DirRoot;

/// What a user names as the thing to look at.
pub(crate) enum Source {
    /// A directory holding an unpacked root file system.
    Dir(PathBuf),
    /// An image, opened (its manifests and configs read, no layer yet).
    Image {
        /// The reference as parsed.
        reference: ImageRef,
        /// The image (boxed: a directory is a path).
        image: Box<Image>,
    },
}

/// Which file bodies a scan keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// What the engine reads: its own paths and the files the environment names for it.
    Engine,
    /// What the TLS clients' models read (the engine's paths, the trust variables' files, the
    /// libraries and entrypoint they look at).
    Consumers,
}

/// One platform of a source, as the engine sees it.
pub(crate) struct View<'a> {
    /// The platform's image; `None` for a directory.
    pub(crate) platform: Option<&'a PlatformImage>,
    /// The config's `Env` with the caller's variables laid over it.
    pub(crate) env: Env,
    /// The merged layers; `None` for a directory.
    pub(crate) layers: Option<&'a LayeredRoot>,
    /// The root the engine reads.
    pub(crate) root: &'a dyn RootView,
}

impl View<'_> {
    /// The platform's name (`linux/amd64`), when the source is an image that names one.
    pub(crate) fn label(&self) -> Option<String> {
        self.platform
            .and_then(|p| p.platform.as_ref())
            .map(ToString::to_string)
    }
}

impl Source {
    /// A directory when `source` has no `:` and is one; otherwise an image reference, opened
    /// with `access` (read only).
    pub(crate) fn open(source: &str, access: &Access) -> Result<Self, Error> {
        let dir = Path::new(source);
        if !source.contains(':') && dir.is_dir() {
            return Ok(Source::Dir(dir.to_path_buf()));
        }
        Source::image(source, access)
    }

    /// `source` as an image reference, opened with `access` (read only).
    pub(crate) fn image(source: &str, access: &Access) -> Result<Self, Error> {
        let session = Session::new(access.clone(), Access::default());
        let reference = ImageRef::parse(source)?;
        let image = trustbake_image::open_in(&reference, &session)?;
        Ok(Source::Image {
            reference,
            image: Box::new(image),
        })
    }

    /// The reference, for an image.
    pub(crate) fn reference(&self) -> Option<&ImageRef> {
        match self {
            Source::Dir(_) => None,
            Source::Image { reference, .. } => Some(reference),
        }
    }

    /// Calls `f` with a view of each platform `platform` selects (the directory's one root),
    /// `env` laid over each config's `Env`, keeping the bodies `keep` names. One platform is
    /// scanned at a time.
    pub(crate) fn each(
        &self,
        platform: Option<&Platform>,
        env: &Env,
        keep: Keep,
        f: &mut dyn FnMut(View<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match self {
            Source::Dir(dir) => {
                let root = DirRoot::new(dir);
                f(View {
                    platform: None,
                    env: env.clone(),
                    layers: None,
                    root: &root,
                })
            }
            Source::Image { image, .. } => {
                for p in image.select(platform)? {
                    platform_view(image, p, env, keep, &mut *f)?;
                }
                Ok(())
            }
        }
    }

    /// `f` on the first platform `platform` selects (`None` when it selects none); the
    /// directory's root for a directory.
    pub(crate) fn first<T>(
        &self,
        platform: Option<&Platform>,
        env: &Env,
        keep: Keep,
        f: impl FnOnce(View<'_>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        let mut f = Some(f);
        let mut out = None;
        let mut once = |view: View<'_>| match f.take() {
            Some(f) => f(view).map(|t| out = Some(t)),
            None => Ok(()),
        };
        match self {
            Source::Dir(_) => self.each(platform, env, keep, &mut once)?,
            Source::Image { image, .. } => {
                if let Some(p) = image.select(platform)?.first() {
                    platform_view(image, p, env, keep, &mut once)?;
                }
            }
        }
        Ok(out)
    }
}

/// `f` on one platform of `image`, scanned.
fn platform_view(
    image: &Image,
    p: &PlatformImage,
    env: &Env,
    keep: Keep,
    f: &mut dyn FnMut(View<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut merged = config_env(p);
    merged.extend(env.clone());
    let layers = match keep {
        Keep::Engine => scan(image, p, &engine_reads(&merged), None, None)?,
        Keep::Consumers => {
            let wanted = trustbake_store::consumer_reads(&merged);
            scan(image, p, &wanted, None, None)?
        }
    };
    f(View {
        platform: Some(p),
        env: merged,
        layers: Some(&layers),
        root: &ImageRoot(&layers),
    })
}

/// The engine's own paths and the files `env` names for it: what a bake's scan keeps.
pub(crate) fn engine_reads(env: &Env) -> impl Fn(&str) -> bool + Sync + use<> {
    let extra = trustbake_store::env_reads(env);
    move |path: &str| trustbake_store::paths::reads(path) || extra.contains(path)
}

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
            tee,
            cache,
            ..ScanOptions::keeping(wanted, MAX_BODY)
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
