//! Baking an image: open the base, look inside each platform through its layers, plan the
//! trust stores with the same engine `apply` uses, turn the plan into one layer, and write the
//! new image — or, for a dry run, say what would be written and the digests it would have.

use serde::Serialize;
use trustbake_certs::Certificate;
use trustbake_image::{
    Append, AppendOptions, ImageRef, LayerEntry, LayerEntryKind, LayeredRoot, Node, NodeKind,
    Platform, ScanOptions,
};
use trustbake_store::{Content, Entry, Meta, Plan, Report, RootView, StoreError};
use trustbake_targets::VersionMap;

use crate::{Error, Intake};

/// Largest file body kept in memory while scanning (trust bundles are far smaller).
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// What to bake.
#[derive(Clone)]
pub struct BakeRequest<'a> {
    /// Source image reference (`oci:…`, `oci-archive:…`, `docker-archive:…`).
    pub from: &'a str,
    /// Destination image reference.
    pub to: &'a str,
    /// The validated CAs.
    pub cas: &'a Intake,
    /// Product and version, to compare the map with what the image holds.
    pub target: Option<(&'a str, &'a str)>,
    /// Only this platform (`os/arch[/variant]`).
    pub platform: Option<&'a str>,
    /// Write nothing.
    pub dry_run: bool,
    /// Also patch pip's vendored certifi.
    pub include_vendored: bool,
    /// `SOURCE_DATE_EPOCH`: the time of the new config, history entry and layer entries; when
    /// `None`, the base image's `created` (never the clock).
    pub source_date_epoch: Option<i64>,
    /// Told what is happening (platforms and layers scanned, bytes, writing), for a progress
    /// display; the library itself never prints.
    pub progress: Option<&'a (dyn Fn(&str) + Sync)>,
}

/// What a bake did (or would do), per platform.
#[derive(Debug, Clone, Serialize)]
pub struct BakeOutcome {
    /// The source.
    pub from: String,
    /// The destination.
    pub to: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The digest of what the destination names (index or manifest).
    pub digest: String,
    /// Whether every platform already trusted every CA (no layer added).
    pub nothing_to_add: bool,
    /// Per platform.
    pub platforms: Vec<PlatformOutcome>,
}

/// One platform of a bake.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformOutcome {
    /// `os/arch[/variant]`, when known.
    pub platform: Option<String>,
    /// The new manifest's digest.
    pub manifest: String,
    /// The new config's digest.
    pub config: String,
    /// The new layer, if one was added: digest, size, diff ID.
    pub layer: Option<LayerSummary>,
    /// The entries of the new layer.
    pub entries: Vec<EntrySummary>,
    /// Detection and per-store outcome.
    pub report: Report,
}

/// The added layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    /// Blob digest.
    pub digest: String,
    /// Blob size.
    pub size: u64,
    /// Uncompressed digest.
    pub diff_id: String,
}

/// One entry of the added layer.
#[derive(Debug, Clone, Serialize)]
pub struct EntrySummary {
    /// Absolute path.
    pub path: String,
    /// `file`, `symlink` or `dir`.
    pub kind: &'static str,
    /// File size.
    pub size: Option<usize>,
    /// Link target.
    pub target: Option<String>,
    /// Mode, octal.
    pub mode: String,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// Bakes `request.cas` into the image: see the crate docs.
pub fn bake(request: &BakeRequest<'_>) -> Result<BakeOutcome, Error> {
    let from = ImageRef::parse(request.from)?;
    let to = ImageRef::parse(request.to)?;
    let image = trustbake_image::open(&from)?;
    let platform: Option<Platform> = request.platform.map(str::parse).transpose()?;
    let selected = image.select(platform.as_ref())?;
    let map = VersionMap::builtin();
    let resolved = match request.target {
        Some((product, version)) => Some(map.resolve(product.parse()?, &version.parse()?)?),
        None => None,
    };
    let certs: Vec<Certificate> = request
        .cas
        .cas()
        .iter()
        .map(|ca| ca.certificate.clone())
        .collect();
    let mut appends = Vec::new();
    let mut details = Vec::new();
    let tell = |message: String| {
        if let Some(progress) = request.progress {
            progress(&message);
        }
    };
    for platform in selected {
        let bytes: u64 = platform.layers.iter().map(|l| l.size).sum();
        tell(format!(
            "scanning {}: {} layers, {:.1} MB",
            platform
                .platform
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "image".into()),
            platform.layers.len(),
            bytes as f64 / 1e6
        ));
        let root = LayeredRoot::scan(
            &image,
            platform,
            &ScanOptions {
                wanted: &wanted,
                max_body: MAX_BODY,
            },
        )?;
        let base_created = platform
            .config
            .value()
            .created
            .clone()
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
        let mtime = request
            .source_date_epoch
            .unwrap_or_else(|| parse_rfc3339(&base_created));
        let options = trustbake_store::Options {
            mtime,
            jks_timestamp_ms: Some(mtime.saturating_mul(1000)),
            include_vendored: request.include_vendored,
        };
        let (plan, report) =
            trustbake_store::plan(&ImageRoot(&root), &certs, resolved.as_ref(), &options)?;
        let entries = layer_entries(&plan);
        let layer = if entries.is_empty() {
            None
        } else {
            Some(trustbake_image::build_layer(&entries)?)
        };
        let created = match request.source_date_epoch {
            Some(epoch) => trustbake_certs::format_timestamp(epoch),
            None => base_created,
        };
        details.push((plan, report));
        appends.push(Append {
            base: platform,
            scanned: root.layers.clone(),
            layer,
            created,
        });
    }
    // Sorted, so the order of the CAs never changes a digest.
    let mut fingerprints: Vec<String> = certs
        .iter()
        .map(|c| format!("sha256:{}", c.sha256().hex()))
        .collect();
    fingerprints.sort();
    let options = AppendOptions {
        created_by: format!(
            "trustbake {} bake: CA certificates {}",
            env!("CARGO_PKG_VERSION"),
            fingerprints.join(" ")
        ),
        comment:
            "custom CA certificates added to the OS trust store and Python certifi by trustbake"
                .to_owned(),
        labels: vec![(
            "dev.trustbake.ca-certificates.sha256".to_owned(),
            fingerprints.join(","),
        )],
    };
    let new = image.append(appends, &options, to.family())?;
    let top = if request.dry_run {
        new.top().cloned()
    } else {
        tell(format!("writing {to}"));
        Some(trustbake_image::write(&new, &to)?)
    };
    let nothing_to_add = !new.changed();
    let platforms = new
        .platforms
        .iter()
        .zip(details)
        .map(|(p, (plan, report))| PlatformOutcome {
            platform: p.platform.as_ref().map(ToString::to_string),
            manifest: p.descriptor.digest.to_string(),
            config: p.config.digest().to_string(),
            layer: p.layer.as_ref().map(|l| LayerSummary {
                digest: l.digest.to_string(),
                size: l.blob.len() as u64,
                diff_id: l.diff_id.to_string(),
            }),
            entries: plan.items.iter().map(entry_summary).collect(),
            report,
        })
        .collect();
    Ok(BakeOutcome {
        from: from.to_string(),
        to: to.to_string(),
        dry_run: request.dry_run,
        digest: top.map(|d| d.digest.to_string()).unwrap_or_default(),
        nothing_to_add,
        platforms,
    })
}

/// The paths whose bodies the engine may read: small trust-store and Python metadata files.
fn wanted(path: &str) -> bool {
    path.starts_with("/etc/")
        || path.starts_with("/usr/share/ca-certificates/")
        || path.starts_with("/usr/local/share/ca-certificates/")
        || path == "/usr/lib/os-release"
        || path.ends_with("/certifi/cacert.pem")
        || path.ends_with("/certifi/core.py")
        || path.ends_with("/pyvenv.cfg")
        || (path.ends_with("/RECORD") && path.contains(".dist-info/"))
}

fn parse_rfc3339(text: &str) -> i64 {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or(0)
}

fn layer_entries(plan: &Plan) -> Vec<LayerEntry> {
    plan.items
        .iter()
        .map(|item| LayerEntry {
            path: item.path.clone(),
            kind: match &item.content {
                Content::File(bytes) => LayerEntryKind::File(bytes.clone()),
                Content::Symlink(target) => LayerEntryKind::Symlink(target.clone()),
                Content::Dir => LayerEntryKind::Dir,
            },
            mode: item.meta.mode,
            uid: item.meta.uid,
            gid: item.meta.gid,
            mtime: item.meta.mtime,
        })
        .collect()
}

fn entry_summary(item: &trustbake_store::PlanItem) -> EntrySummary {
    let (kind, size, target) = match &item.content {
        Content::File(bytes) => ("file", Some(bytes.len()), None),
        Content::Symlink(t) => ("symlink", None, Some(t.clone())),
        Content::Dir => ("dir", None, None),
    };
    EntrySummary {
        path: item.path.clone(),
        kind,
        size,
        target,
        mode: format!("{:04o}", item.meta.mode),
        uid: item.meta.uid,
        gid: item.meta.gid,
    }
}

/// The merged layers of an image, seen by the engine.
struct ImageRoot<'a>(&'a LayeredRoot);

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
        match self.0.node(path).and_then(|n| n.body.as_ref()) {
            Some(body) => Ok(body.as_ref().clone()),
            None => Err(StoreError::Read {
                path: path.to_owned(),
                reason: "its content was not kept while scanning the layers".to_owned(),
            }),
        }
    }

    fn list(&self, path: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.0.list(path))
    }
}

/// What each platform of an image trusts: `source` is an image reference, or a directory
/// holding an unpacked root file system.
pub fn inspect(
    source: &str,
    platform: Option<&str>,
) -> Result<Vec<(Option<String>, trustbake_store::Inspection)>, Error> {
    let dir = std::path::Path::new(source);
    if !source.contains(':') && dir.is_dir() {
        return Ok(vec![(
            None,
            trustbake_store::inspect(&crate::DirRoot::new(dir))?,
        )]);
    }
    let image = trustbake_image::open(&ImageRef::parse(source)?)?;
    let platform: Option<Platform> = platform.map(str::parse).transpose()?;
    let mut out = Vec::new();
    for p in image.select(platform.as_ref())? {
        let root = LayeredRoot::scan(
            &image,
            p,
            &ScanOptions {
                wanted: &wanted,
                max_body: MAX_BODY,
            },
        )?;
        out.push((
            p.platform.as_ref().map(ToString::to_string),
            trustbake_store::inspect(&ImageRoot(&root))?,
        ));
    }
    Ok(out)
}
