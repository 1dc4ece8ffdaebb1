//! Applying CAs to an unpacked root file system, as running the image's own tools would: plan
//! with the engine over [`DirRoot`], then write the plan with [`apply_to_dir`].

use std::path::Path;

use trustbake_certs::{Certificate, Intake};
use trustbake_targets::VersionMap;

use crate::error::Error;
use crate::mode::Mode;
use crate::outcome::{self, ApplyOutcome, Detected, EntryOutcome, SCHEMA_VERSION};
use crate::root::{DirRoot, apply_to_dir};
use crate::target::Target;

/// What to apply, where. Times are given, never read from the clock.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApplyRequest<'a> {
    root: &'a Path,
    cas: &'a Intake,
    now: i64,
    source_date_epoch: Option<i64>,
    target: Option<Target>,
    include_vendored: bool,
    remove: Vec<trustbake_store::Removal>,
    bundles: Vec<String>,
}

impl<'a> ApplyRequest<'a> {
    /// Apply `cas` to the root file system at `root`; written entries get the time `now`
    /// (Unix seconds), as the image's own tools run now would give them.
    pub fn new(root: &'a Path, cas: &'a Intake, now: i64) -> Self {
        ApplyRequest {
            root,
            cas,
            now,
            source_date_epoch: None,
            target: None,
            include_vendored: false,
            remove: Vec::new(),
            bundles: Vec::new(),
        }
    }

    /// Distrust these CAs in every store of the root (see
    /// [`load_removals`](crate::load_removals)).
    pub fn remove(mut self, remove: Vec<trustbake_store::Removal>) -> Self {
        self.remove = remove;
        self
    }

    /// A reproducible time instead of `now`: entries and new Java keystore entries get it.
    pub fn source_date_epoch(mut self, epoch: Option<i64>) -> Self {
        self.source_date_epoch = epoch;
        self
    }

    /// Compare the version map's expectations for `target` with the root (the root wins).
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Also patch pip's vendored certifi.
    pub fn include_vendored(mut self) -> Self {
        self.include_vendored = true;
        self
    }

    /// Also append the CAs to these PEM bundles of the root (absolute paths inside it), each
    /// in its own format; with one, a root with no OS store trustbake knows is accepted.
    pub fn bundles(mut self, paths: &[impl AsRef<str>]) -> Result<Self, Error> {
        self.bundles = crate::load::bundle_paths(paths)?;
        Ok(self)
    }
}

/// Writes the CAs into the root: every entry atomically, never through a symlink.
pub fn apply(request: &ApplyRequest<'_>) -> Result<ApplyOutcome, Error> {
    run(request, Mode::Write)
}

/// What [`apply`] would write, writing nothing.
pub fn apply_preview(request: &ApplyRequest<'_>) -> Result<ApplyOutcome, Error> {
    run(request, Mode::Preview)
}

fn run(request: &ApplyRequest<'_>, mode: Mode) -> Result<ApplyOutcome, Error> {
    let root = request.root;
    crate::load::no_overlap(request.cas, &request.remove)?;
    if !root.is_dir() {
        return Err(Error::NotARoot {
            path: root.to_path_buf(),
        });
    }
    let map = VersionMap::builtin();
    let resolved = match &request.target {
        Some(target) => Some(target.resolve(map)?),
        None => None,
    };
    let options = trustbake_store::Options {
        mtime: request.source_date_epoch.unwrap_or(request.now),
        // Without a reproducible time, a new keystore entry takes the keystore's own time.
        jks_timestamp_ms: request.source_date_epoch.map(|s| s.saturating_mul(1000)),
        include_vendored: request.include_vendored,
        env: trustbake_store::Env::new(),
        remove: request.remove.clone(),
        bundles: request.bundles.clone(),
    };
    let certs: Vec<Certificate> = request
        .cas
        .cas()
        .iter()
        .map(|ca| ca.certificate.clone())
        .collect();
    let (plan, report) =
        trustbake_store::plan(&DirRoot::new(root), &certs, resolved.as_ref(), &options)?;
    let written_warnings = if mode == Mode::Write {
        apply_to_dir(root, &plan)?
    } else {
        Vec::new()
    };
    let (notes, warnings) = outcome::intake_notes(request.cas);
    Ok(ApplyOutcome {
        schema_version: SCHEMA_VERSION,
        root: root.display().to_string(),
        dry_run: mode == Mode::Preview,
        detected: Detected::from(&report.detected),
        stores: outcome::stores(&report),
        notes: report.notes.iter().cloned().chain(notes).collect(),
        warnings: warnings.into_iter().chain(written_warnings).collect(),
        entries: plan.items.iter().map(EntryOutcome::from).collect(),
        env: plan.env.iter().cloned().collect(),
    })
}
