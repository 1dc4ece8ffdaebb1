//! Baking an image: open the base, look inside each platform through its layers, plan the
//! trust stores with the same engine `apply` uses, turn the plan into one layer, and write the
//! new image — or, previewed, say what would be written and the digests it would have. Also
//! [`inspect`], which looks through the layers the same way.

use trustbake_certs::{Certificate, Intake};
use trustbake_image::registry::{Access, Session};
use trustbake_image::{
    Append, AppendOptions, ImageRef, LayerEntry, LayerEntryKind, LayeredRoot, Platform,
    PlatformImage,
};
use trustbake_image::{ScanCache, cache};
use trustbake_store::{Content, Env, Plan, RootView};
use trustbake_targets::VersionMap;

use crate::error::Error;
use crate::mode::Mode;
use crate::names::NamedImage;
use crate::outcome::{
    self, BakeOutcome, BakePlatform, Detected, EntryOutcome, LABEL_CAS, LABEL_REMOVED,
    LayerOutcome, RegistryTransfer, ReplacedOutcome, SCHEMA_VERSION,
};
use crate::provenance::{trustbake_layer, trustbake_top};
use crate::target::Target;
use crate::views::{ImageRoot, config_env, scan};
use trustbake_image::ImageError;

/// What a layer scan keeps depends on this version's wanted paths and body bound: scans kept
/// by another version are never used.
const CACHE_SALT: &str = concat!(
    "trustbake ",
    env!("CARGO_PKG_VERSION"),
    "; wanted: trustbake_store::paths::reads (rev 3: SUSE's state directory, Java runtimes' stores, conda bundles); max_body: MAX_READ"
);

/// What to bake. Build it with [`BakeRequest::new`] and the methods that follow it.
#[derive(Clone)]
#[non_exhaustive]
pub struct BakeRequest<'a> {
    from: ImageRef,
    to: ImageRef,
    cas: &'a Intake,
    target: Option<Target>,
    platform: Option<Platform>,
    include_vendored: bool,
    remove: Vec<trustbake_store::Removal>,
    keep_baked_cas: bool,
    source_date_epoch: Option<i64>,
    progress: Option<&'a (dyn Fn(&str) + Sync)>,
    source_access: Access,
    destination_access: Access,
    cache_dir: Option<std::path::PathBuf>,
    transfer_progress: Option<std::sync::Arc<trustbake_image::registry::ProgressFn>>,
    signing: Option<crate::signing::Signing>,
    annotations: Vec<(String, String)>,
    cache_repo: Option<trustbake_image::RegistryRef>,
    bundles: Vec<String>,
}

impl std::fmt::Debug for BakeRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BakeRequest")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("cas", &self.cas.cas().len())
            .field("target", &self.target)
            .field("platform", &self.platform)
            .field("include_vendored", &self.include_vendored)
            .field("source_date_epoch", &self.source_date_epoch)
            .field("signing", &self.signing)
            .finish_non_exhaustive()
    }
}

impl<'a> BakeRequest<'a> {
    /// Bake `cas` into the image `from` (`oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
    /// `docker-archive:FILE[:REPO:TAG]`, `docker://[HOST/]REPO[:TAG|@DIGEST]`), writing the new
    /// image to `to` (same syntax).
    pub fn new(from: &str, to: &str, cas: &'a Intake) -> Result<Self, Error> {
        Ok(BakeRequest {
            from: ImageRef::parse(from)?,
            to: ImageRef::parse(to)?,
            cas,
            target: None,
            platform: None,
            include_vendored: false,
            remove: Vec::new(),
            keep_baked_cas: false,
            source_date_epoch: None,
            progress: None,
            source_access: Access::default(),
            destination_access: Access::default(),
            cache_dir: None,
            transfer_progress: None,
            signing: None,
            annotations: Vec::new(),
            cache_repo: None,
            bundles: Vec::new(),
        })
    }

    /// Also share layer scans through this registry repository (`docker://HOST/REPO`, reached
    /// with the destination's access): a scan any earlier run pushed there is not read again.
    /// Write access to it is as powerful as write access to the baked images (an entry's file
    /// bodies become part of the new layer); with a signing key, entries are signed and only
    /// signed ones used.
    pub fn cache_repo(mut self, repository: &str) -> Result<Self, Error> {
        self.cache_repo = Some(cache_repository(repository)?);
        Ok(self)
    }

    /// Also set these annotations on each new manifest (OCI manifests; `sync` records the
    /// upstream digest and its recipe there).
    pub fn manifest_annotations(mut self, annotations: Vec<(String, String)>) -> Self {
        self.annotations = annotations;
        self
    }

    /// Once written, sign the image (and attest what was added) as `signing` says: the
    /// signature and attestation are attached beside the image in the destination's repository
    /// or OCI layout. A preview signs nothing.
    pub fn sign(mut self, signing: crate::signing::Signing) -> Self {
        self.signing = Some(signing);
        self
    }

    /// Told of every blob's transfer to and from registries (bytes so far, per blob), for
    /// progress bars; the library itself never prints.
    pub fn transfer_progress(
        mut self,
        progress: std::sync::Arc<trustbake_image::registry::ProgressFn>,
    ) -> Self {
        self.transfer_progress = Some(progress);
        self
    }

    /// Keep layer scans in `dir` across runs (a re-bake then reads no base layer); without it,
    /// scans are kept for this bake only (a layer shared by platforms is read once).
    pub fn cache_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// How the source registry is reached (credentials, TLS); by default as skopeo does:
    /// credentials from the auth files, TLS verified with the host's trust store.
    pub fn source_access(mut self, access: Access) -> Self {
        self.source_access = access;
        self
    }

    /// How the destination registry is reached.
    pub fn destination_access(mut self, access: Access) -> Self {
        self.destination_access = access;
        self
    }

    /// Compare the version map's expectations for `target` with the image (the image wins).
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Only this platform of a multi-platform image.
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// On an image whose top layer trustbake wrote, keeps the CAs that layer added (the new
    /// layer holds them and the CAs given): adding one CA to a baked image, rather than
    /// replacing its set.
    pub fn keep_baked_cas(mut self) -> Self {
        self.keep_baked_cas = true;
        self
    }

    /// Also patch pip's vendored certifi.
    pub fn include_vendored(mut self) -> Self {
        self.include_vendored = true;
        self
    }

    /// Also append the CAs to these PEM bundles of the image (absolute paths inside it), each
    /// in its own format; with one, an image with no OS store trustbake knows is accepted.
    pub fn bundles(mut self, paths: &[impl AsRef<str>]) -> Result<Self, Error> {
        self.bundles = crate::load::bundle_paths(paths)?;
        Ok(self)
    }

    /// Distrust these CAs in every store of the image — the base's own as well as added ones
    /// (see [`load_removals`](crate::load_removals)).
    pub fn remove(mut self, remove: Vec<trustbake_store::Removal>) -> Self {
        self.remove = remove;
        self
    }

    /// The time of the new configs, history entries and layer entries (`SOURCE_DATE_EPOCH`);
    /// `None`: each platform's own base `created` (never the clock).
    pub fn source_date_epoch(mut self, epoch: Option<i64>) -> Self {
        self.source_date_epoch = epoch;
        self
    }

    /// Told what is happening (platforms and layers scanned, bytes, writing), for a progress
    /// display; the library itself never prints.
    pub fn progress(mut self, progress: &'a (dyn Fn(&str) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// Bakes the request's CAs into its image and writes the new image: one layer per platform
/// that needs one, on the untouched base.
pub fn bake(request: &BakeRequest<'_>) -> Result<BakeOutcome, Error> {
    run(request, Mode::Write)
}

/// Everything [`bake`] would do, with the digests it would produce; writes nothing.
pub fn preview(request: &BakeRequest<'_>) -> Result<BakeOutcome, Error> {
    run(request, Mode::Preview)
}

fn run(request: &BakeRequest<'_>, mode: Mode) -> Result<BakeOutcome, Error> {
    let (from, to) = (&request.from, &request.to);
    crate::load::no_overlap(request.cas, &request.remove)?;
    if request.signing.is_some() {
        // Signatures go beside the image: refused before any work for an archive.
        trustbake_image::artifact::sibling(to, "sha256-signature.sig")?;
    }
    let session = session(request);
    let image = trustbake_image::open_in(from, &session)?;
    let selected = image.select(request.platform.as_ref())?;
    let mut caches = Caches::new(
        request.cache_dir.as_deref(),
        remote_cache(request, &session)?,
    );
    // Written: the destination is opened first, so that a registry base layer it lacks (and
    // cannot mount) is stored while it is scanned — downloaded once for both.
    // (Only then: a local destination is staged once the scan is done, so a signal during the
    // scan finds nothing to remove.)
    let mut dest = if mode == Mode::Write && image.source().registry().is_some() {
        Some(trustbake_image::destination_in(to, from, &session)?)
    } else {
        None
    };
    let tee = match dest.as_mut() {
        Some(dest) => tee_uploads(dest.as_mut(), &image, &selected)?,
        None => None,
    };
    // Without a target given, the one the base's name gives (never failing the bake).
    let name = crate::names::name_of(from);
    let (named_target, name_note) = match (&request.target, &name) {
        (None, Some(name)) => crate::target::target_of(name),
        _ => (None, None),
    };
    let resolved = match request.target.as_ref().or(named_target.as_ref()) {
        Some(target) => Some(target.resolve(VersionMap::builtin())?),
        None => None,
    };
    let mut certs: Vec<Certificate> = request
        .cas
        .cas()
        .iter()
        .map(|ca| ca.certificate.clone())
        .collect();
    // The CAs trustbake's own top layer added (which a bake replaces): kept with
    // --keep-baked-cas, else each one that is not given again is named as dropped.
    let baked_notes = keep_or_name_baked(request, &image, &selected, &caches.main, &mut certs)?;
    let mut appends = Vec::new();
    let mut details = Vec::new();
    for platform in selected {
        let planned = plan_platform(
            request,
            &image,
            platform,
            &mut caches,
            tee.as_ref(),
            &certs,
            resolved.as_ref(),
        )?;
        appends.push(planned.append);
        details.push((planned.plan, planned.report, planned.replaced));
    }
    let (mut options, removed) = append_options(&certs, &request.remove);
    options.annotations = request.annotations.clone();
    let new = image.append(appends, &options, to.family())?;
    let top = write_new(request, &new, dest, tee, mode, &session)?;
    let signed = sign_written(request, mode, &session, &new, &top, &certs, &details)?;
    let platforms = new
        .platforms
        .iter()
        .zip(details)
        .map(|(p, (plan, report, replaced))| bake_platform(p, &plan, &report, replaced, &removed))
        .collect();
    let (mut notes, mut warnings) = outcome::intake_notes(request.cas);
    notes.extend(baked_notes);
    notes.extend(name_note);
    warnings.extend(caches.main.refused().map(str::to_owned));
    Ok(BakeOutcome {
        schema_version: SCHEMA_VERSION,
        from: from.to_string(),
        to: to.to_string(),
        anchore: name.as_ref().map(NamedImage::from),
        dry_run: mode == Mode::Preview,
        digest: top.digest.to_string(),
        nothing_to_add: !new.changed(),
        platforms,
        notes,
        warnings,
        scanned_layers: caches.misses(),
        cached_layers: caches.hits(),
        registries: session
            .transfers()
            .iter()
            .map(|(registry, t)| RegistryTransfer::from(registry, t))
            .collect(),
        signed,
    })
}

/// `--cache-repo`'s repository: `docker://HOST/REPO` (a tag is ignored, a digest refused).
pub(crate) fn cache_repository(repository: &str) -> Result<trustbake_image::RegistryRef, Error> {
    match ImageRef::parse(repository)? {
        ImageRef::Registry(r) if r.digest.is_none() => Ok(r),
        _ => Err(Error::BadArgument {
            what: "--cache-repo".into(),
            reason: format!("'{repository}': a registry repository, docker://HOST/REPO"),
        }),
    }
}

/// The shared scan cache the request names, signed when the request signs.
fn remote_cache(
    request: &BakeRequest<'_>,
    session: &Session,
) -> Result<Option<std::sync::Arc<trustbake_image::cache_remote::RemoteCache>>, Error> {
    let Some(repo) = &request.cache_repo else {
        return Ok(None);
    };
    let mut remote = trustbake_image::cache_remote::RemoteCache::new(session, repo)?;
    if let Some(signing) = &request.signing {
        let (signer, verifier) = (signing.clone(), signing.clone());
        remote = remote.signed(
            Box::new(move |bytes| signer.sign_entry(bytes)),
            Box::new(move |bytes, signature| verifier.verifies_entry(bytes, signature)),
        );
    }
    Ok(Some(std::sync::Arc::new(remote)))
}

/// The run's registry session: each side's access, the transfer progress.
fn session(request: &BakeRequest<'_>) -> Session {
    let session = Session::new(
        request.source_access.clone(),
        request.destination_access.clone(),
    );
    match &request.transfer_progress {
        Some(progress) => session.with_progress(std::sync::Arc::clone(progress)),
        None => session,
    }
}

/// Signs (and attests) what was written, when the request signs and this is not a preview.
fn sign_written(
    request: &BakeRequest<'_>,
    mode: Mode,
    session: &Session,
    new: &trustbake_image::NewImage<'_>,
    top: &trustbake_image::Descriptor,
    certs: &[Certificate],
    details: &[(Plan, trustbake_store::Report, Option<ReplacedOutcome>)],
) -> Result<Option<crate::outcome::SignedOutcome>, Error> {
    let (Some(signing), Mode::Write) = (&request.signing, mode) else {
        return Ok(None);
    };
    let replaced: Vec<Option<String>> = details
        .iter()
        .map(|(_, _, r)| r.as_ref().map(|r| r.layer.clone()))
        .collect();
    tell(request, format!("signing {}", request.to));
    let predicate = || attested(request, new, certs, &replaced);
    Ok(Some(crate::signing::sign_baked(
        signing,
        &request.to,
        session,
        new,
        top,
        predicate,
    )?))
}

/// The attestation's predicate of a bake: `new` from the request's source, `certs` added, the
/// request's removals taken out, `replaced` (per platform) trustbake's earlier layers replaced.
fn attested(
    request: &BakeRequest<'_>,
    new: &trustbake_image::NewImage<'_>,
    certs: &[Certificate],
    replaced: &[Option<String>],
) -> Result<crate::attest::BakePredicate, Error> {
    let added = certs
        .iter()
        .map(|c| crate::attest::CaRef {
            sha256: format!("sha256:{}", c.sha256().hex()),
            subject: Some(c.subject().to_owned()),
        })
        .collect();
    let removed = request
        .remove
        .iter()
        .map(|r| crate::attest::CaRef {
            sha256: format!("sha256:{}", r.sha256().hex()),
            subject: match r {
                trustbake_store::Removal::Certificate(c) => Some(c.subject().to_owned()),
                _ => None,
            },
        })
        .collect();
    crate::attest::predicate(new, &request.from.to_string(), added, removed, replaced)
}

/// Tells the request's progress callback, if any.
fn tell(request: &BakeRequest<'_>, message: String) {
    if let Some(progress) = request.progress {
        progress(&message);
    }
}

/// The scan caches of one bake: the main one, and one per set of extra paths a platform's
/// environment names (`NODE_EXTRA_CA_CERTS`): those platforms keep more, so their scans are
/// cached apart, salted with the paths.
struct Caches<'d> {
    dir: Option<&'d std::path::Path>,
    remote: Option<std::sync::Arc<trustbake_image::cache_remote::RemoteCache>>,
    main: ScanCache,
    others: Vec<(String, ScanCache)>,
}

impl<'d> Caches<'d> {
    fn new(
        dir: Option<&'d std::path::Path>,
        remote: Option<std::sync::Arc<trustbake_image::cache_remote::RemoteCache>>,
    ) -> Self {
        Caches {
            dir,
            main: Self::open(dir, remote.as_ref(), CACHE_SALT),
            remote,
            others: Vec::new(),
        }
    }

    fn open(
        dir: Option<&std::path::Path>,
        remote: Option<&std::sync::Arc<trustbake_image::cache_remote::RemoteCache>>,
        salt: &str,
    ) -> ScanCache {
        let cache = match dir {
            Some(dir) => ScanCache::on_disk(dir, salt.as_bytes(), cache::DEFAULT_MAX_BYTES),
            None => ScanCache::in_memory(salt.as_bytes()),
        };
        match remote {
            Some(remote) => cache.with_remote(std::sync::Arc::clone(remote)),
            None => cache,
        }
    }

    /// The cache for a platform that also keeps `extra`.
    fn for_extra(&mut self, extra: &std::collections::BTreeSet<String>) -> &ScanCache {
        if extra.is_empty() {
            return &self.main;
        }
        let salt = format!(
            "{CACHE_SALT}; also: {}",
            extra.iter().cloned().collect::<Vec<_>>().join(":")
        );
        let at = match self.others.iter().position(|(s, _)| *s == salt) {
            Some(at) => at,
            None => {
                let made = Self::open(self.dir, self.remote.as_ref(), &salt);
                self.others.push((salt, made));
                self.others.len() - 1
            }
        };
        &self.others[at].1
    }

    fn misses(&self) -> u64 {
        self.main.misses() + self.others.iter().map(|(_, c)| c.misses()).sum::<u64>()
    }

    fn hits(&self) -> u64 {
        self.main.hits() + self.others.iter().map(|(_, c)| c.hits()).sum::<u64>()
    }
}

/// For a registry source and an opened destination: the base layers the destination lacks and
/// cannot mount, stored while they are scanned (downloaded once for both).
fn tee_uploads(
    dest: &mut dyn trustbake_image::ImageDestination,
    image: &trustbake_image::Image,
    selected: &[&PlatformImage],
) -> Result<Option<trustbake_image::TeeUploads>, Error> {
    let mut wanted: Vec<trustbake_image::Descriptor> = Vec::new();
    for platform in selected {
        let kept = platform.layers.len() - usize::from(trustbake_top(platform).is_some());
        for layer in &platform.layers[..kept] {
            let Some(d) = &layer.descriptor else { continue };
            if wanted.iter().any(|w| w.digest == d.digest)
                || dest.has_blob(d)?
                || dest.mount_blob(d, image.source())?
            {
                continue;
            }
            wanted.push(d.clone());
        }
    }
    Ok(match dest.sink() {
        Some(sink) if !wanted.is_empty() => Some(trustbake_image::TeeUploads::new(sink, wanted)),
        _ => None,
    })
}

/// One platform planned: what to append to it, and what its outcome reports.
struct Planned<'i> {
    append: Append<'i>,
    plan: Plan,
    report: trustbake_store::Report,
    replaced: Option<ReplacedOutcome>,
}

/// The files a bake reads beyond `paths::reads`: those the image's environment names (Node's
/// extra file) and the bundles the user names, wherever they are.
fn extra_reads(
    request: &BakeRequest<'_>,
    env: &trustbake_store::Env,
) -> std::collections::BTreeSet<String> {
    let mut extra = trustbake_store::env_reads(env);
    extra.extend(
        request
            .bundles
            .iter()
            .filter(|p| !trustbake_store::paths::reads(p))
            .cloned(),
    );
    extra
}

/// Scans one platform (below trustbake's own top layer, which the new layer replaces) and plans
/// the CAs into it.
fn plan_platform<'i>(
    request: &BakeRequest<'_>,
    image: &trustbake_image::Image,
    platform: &'i PlatformImage,
    caches: &mut Caches<'_>,
    tee: Option<&trustbake_image::TeeUploads>,
    certs: &[Certificate],
    resolved: Option<&trustbake_targets::Resolved<'_>>,
) -> Result<Planned<'i>, Error> {
    let bytes: u64 = platform.layers.iter().map(|l| l.size).sum();
    tell(
        request,
        format!(
            "scanning {}: {} layers, {:.1} MB",
            platform
                .platform
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "image".into()),
            platform.layers.len(),
            bytes as f64 / 1e6
        ),
    );
    let (env, replaced, replaced_settings) = below_trustbake(platform);
    let extra = extra_reads(request, &env);
    let lower;
    let scanned_platform = if replaced.is_some() {
        let mut below = platform.clone();
        below.layers.pop();
        lower = below;
        &lower
    } else {
        platform
    };
    let wanted = |path: &str| trustbake_store::paths::reads(path) || extra.contains(path);
    let cache = caches.for_extra(&extra);
    let root = scan(image, scanned_platform, &wanted, tee, Some(cache))?;
    let remove = removals_through_replaced(&request.remove, replaced.is_some(), &root, || {
        scan(image, platform, &wanted, None, Some(cache))
    })?;
    let base_created = platform
        .config
        .value()
        .created
        .clone()
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
    let mtime = request
        .source_date_epoch
        .unwrap_or_else(|| parse_rfc3339(&base_created));
    let base_only = base_only_notes(&ImageRoot(&root), &env, certs, &remove);
    let options = trustbake_store::Options {
        mtime,
        jks_timestamp_ms: Some(mtime.saturating_mul(1000)),
        include_vendored: request.include_vendored,
        env,
        remove,
        bundles: request.bundles.clone(),
    };
    let (plan, mut report) = trustbake_store::plan(&ImageRoot(&root), certs, resolved, &options)?;
    report.notes.extend(base_only);
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
    // A made-up manifest (a docker archive's) knows its layers only by their scan: the
    // replaced one is scanned too, to carry it when its replacement is the same.
    let scanned = if replaced.is_some() && platform.synthesized {
        scan(image, platform, &wanted, None, Some(cache))?.layers
    } else {
        root.layers.clone()
    };
    let append = Append {
        base: platform,
        scanned,
        layer,
        env: plan.env.clone(),
        replace_top: replaced.is_some(),
        replaced_settings,
        created,
    };
    let replaced = replaced.and_then(|_| trustbake_layer(platform));
    Ok(Planned {
        append,
        plan,
        report,
        replaced,
    })
}

/// The platform's environment, and the top layer trustbake wrote (if it did) with the settings
/// its bake made: that layer is replaced, so the plan is made on the layers below it, without
/// what its bake set (trustbake sets `NODE_EXTRA_CA_CERTS` only ever to its own file).
fn below_trustbake(
    platform: &PlatformImage,
) -> (Env, Option<String>, trustbake_image::ReplacedSettings) {
    let mut env = config_env(platform);
    let replaced = trustbake_top(platform);
    let mut replaced_settings = trustbake_image::ReplacedSettings::default();
    if replaced.is_some() {
        replaced_settings.labels = vec![LABEL_CAS.to_owned(), LABEL_REMOVED.to_owned()];
        let node = "NODE_EXTRA_CA_CERTS";
        if env.get(node).map(String::as_str) == Some(trustbake_store::paths::NODE_EXTRA_CA_CERTS) {
            env.remove(node);
            replaced_settings.env.push(node.to_owned());
        }
    }
    (env, replaced, replaced_settings)
}

/// The new layer's history entry, comment and labels (the CAs added and distrusted, sorted so
/// that their order never changes a digest), and the distrusted fingerprints.
fn append_options(
    certs: &[Certificate],
    remove: &[trustbake_store::Removal],
) -> (AppendOptions, Vec<String>) {
    let mut fingerprints: Vec<String> = certs
        .iter()
        .map(|c| format!("sha256:{}", c.sha256().hex()))
        .collect();
    fingerprints.sort();
    let mut removed: Vec<String> = remove
        .iter()
        .map(|r| format!("sha256:{}", r.sha256().hex()))
        .collect();
    removed.sort();
    removed.dedup();
    let mut what = Vec::new();
    if !fingerprints.is_empty() {
        what.push(format!("CA certificates {}", fingerprints.join(" ")));
    }
    let mut labels = vec![(LABEL_CAS.to_owned(), fingerprints.join(","))];
    if !removed.is_empty() {
        what.push(format!("removed {}", removed.join(" ")));
        labels.push((LABEL_REMOVED.to_owned(), removed.join(",")));
    }
    let options = AppendOptions {
        created_by: format!(
            "trustbake {} bake: {}",
            env!("CARGO_PKG_VERSION"),
            what.join("; ")
        ),
        comment: if removed.is_empty() {
            "custom CA certificates added to the OS trust store and Python certifi by trustbake"
        } else {
            "custom CA certificates added to, and distrusted ones taken out of, the OS trust store and Python certifi by trustbake"
        }
        .to_owned(),
        labels,
        annotations: Vec::new(),
    };
    (options, removed)
}

/// Writes the new image to its destination (opened now when the scan did not need it) and
/// returns what the destination names; previewed, the would-be top descriptor.
fn write_new(
    request: &BakeRequest<'_>,
    new: &trustbake_image::NewImage<'_>,
    dest: Option<Box<dyn trustbake_image::ImageDestination>>,
    tee: Option<trustbake_image::TeeUploads>,
    mode: Mode,
    session: &Session,
) -> Result<trustbake_image::Descriptor, Error> {
    let (from, to) = (&request.from, &request.to);
    let stored = tee
        .map(trustbake_image::TeeUploads::finish)
        .unwrap_or_default();
    let dest = match dest {
        Some(dest) => Some(dest),
        None if mode == Mode::Write => Some(trustbake_image::destination_in(to, from, session)?),
        None => None,
    };
    Ok(if let Some(mut dest) = dest {
        for digest in stored {
            dest.mark_present(digest);
        }
        tell(request, format!("writing {to}"));
        trustbake_image::write_to(new, dest)?
    } else {
        new.top().cloned().ok_or(ImageError::SinglePlatform {
            destination: to.to_string(),
            platforms: 0,
        })?
    })
}

/// One platform of the outcome: the new documents, what was detected and done, and what the
/// replaced layer distrusted that this bake does not.
fn bake_platform(
    p: &trustbake_image::NewPlatform<'_>,
    plan: &Plan,
    report: &trustbake_store::Report,
    replaced: Option<ReplacedOutcome>,
    removed: &[String],
) -> BakePlatform {
    BakePlatform {
        platform: p.platform.as_ref().map(ToString::to_string),
        manifest: p.descriptor.digest.to_string(),
        config: p.config.digest().to_string(),
        layer: p.layer.as_ref().map(|l| LayerOutcome {
            digest: l.digest.to_string(),
            size: l.blob.len() as u64,
            diff_id: l.diff_id.to_string(),
        }),
        detected: Detected::from(&report.detected),
        stores: outcome::stores(report),
        notes: report
            .notes
            .iter()
            .cloned()
            .chain(replaced.iter().flat_map(|r| {
                r.removed
                    .iter()
                    .filter(|f| !removed.contains(f))
                    .map(|f| {
                        format!(
                            "the replaced layer distrusted {f}; this bake does not (give --remove {f} to keep it out)"
                        )
                    })
                    .collect::<Vec<_>>()
            }))
            .collect(),
        entries: plan.items.iter().map(EntryOutcome::from).collect(),
        env: plan.env.iter().cloned().collect(),
        replaced,
    }
}

fn parse_rfc3339(text: &str) -> i64 {
    trustbake_certs::parse_timestamp(text).unwrap_or(0)
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
                Content::Remove => LayerEntryKind::Whiteout,
            },
            mode: item.meta.mode,
            uid: item.meta.uid,
            gid: item.meta.gid,
            mtime: item.meta.mtime,
        })
        .collect()
}

/// Notes on the CAs the base added to its OS store that another of its stores lacks (Iron
/// Bank's DoD roots are in the OS store, not in certifi): a bake adds only the CAs given, so
/// each is named with the way to bake it everywhere. Never fails the bake.
fn base_only_notes(
    view: &dyn RootView,
    env: &Env,
    certs: &[Certificate],
    remove: &[trustbake_store::Removal],
) -> Vec<String> {
    let Ok(found) = trustbake_store::inspect(view, env) else {
        return Vec::new();
    };
    found
        .local_cas
        .iter()
        .filter(|ca| !ca.missing_from.is_empty())
        .filter(|ca| !certs.iter().any(|c| c.sha256().hex() == ca.sha256))
        .filter(|ca| !remove.iter().any(|r| r.sha256().hex() == ca.sha256))
        .map(|ca| {
            format!(
                "the base trusts '{}' ({}) in its OS store but not in {}: give it with --ca to bake it into every store",
                ca.label,
                ca.source,
                ca.missing_from.join(", ")
            )
        })
        .collect()
}

/// The removals for a plan made below trustbake's own top layer: a fingerprint of a CA that
/// only that layer added is not in the layers below, so its certificate is read from the whole
/// image (`full`) — and the removal then blocklists it (RHEL) or disables it (Debian), so that
/// a later copy of it into the anchors stays distrusted.
fn removals_through_replaced(
    removals: &[trustbake_store::Removal],
    replacing: bool,
    below: &LayeredRoot,
    full: impl FnOnce() -> Result<LayeredRoot, Error>,
) -> Result<Vec<trustbake_store::Removal>, Error> {
    use trustbake_store::Removal;
    let fingerprints: Vec<Removal> = removals
        .iter()
        .filter(|r| matches!(r, Removal::Fingerprint(_)))
        .cloned()
        .collect();
    if !replacing || fingerprints.is_empty() {
        return Ok(removals.to_vec());
    }
    let (in_base, _) = trustbake_store::find_removals(&ImageRoot(below), &fingerprints)?;
    let missing: Vec<Removal> = fingerprints
        .into_iter()
        .filter(|r| !in_base.iter().any(|f| f.certificate.sha256() == r.sha256()))
        .collect();
    if missing.is_empty() {
        return Ok(removals.to_vec());
    }
    let whole = full()?;
    let (found, _) = trustbake_store::find_removals(&ImageRoot(&whole), &missing)?;
    Ok(removals
        .iter()
        .map(
            |r| match found.iter().find(|f| f.certificate.sha256() == r.sha256()) {
                Some(f) if matches!(r, Removal::Fingerprint(_)) => {
                    Removal::Certificate(Box::new(f.certificate.clone()))
                }
                _ => r.clone(),
            },
        )
        .collect())
}

/// The CAs the replaced trustbake layer of the first such platform added: with
/// `keep_baked_cas`, read from the image and added to `certs` (unless given or removed); else
/// each one not given again named in a note, from the layer's label. Returns the notes.
fn keep_or_name_baked(
    request: &BakeRequest<'_>,
    image: &trustbake_image::Image,
    selected: &[&PlatformImage],
    cache: &ScanCache,
    certs: &mut Vec<Certificate>,
) -> Result<Vec<String>, Error> {
    let Some((platform, replaced)) = selected
        .iter()
        .find_map(|p| trustbake_layer(p).map(|r| (*p, r)))
    else {
        return Ok(Vec::new());
    };
    if replaced.cas.is_empty() {
        return Ok(Vec::new());
    }
    let fingerprints = crate::load::load_removals(&replaced.cas)?;
    let removed: std::collections::BTreeSet<_> = request
        .remove
        .iter()
        .map(trustbake_store::Removal::sha256)
        .collect();
    let dropped: Vec<_> = fingerprints
        .iter()
        .map(trustbake_store::Removal::sha256)
        .filter(|sha| !certs.iter().any(|c| c.sha256() == *sha) && !removed.contains(sha))
        .collect();
    let local = image.source().registry().is_none();
    if !request.keep_baked_cas && (dropped.is_empty() || !local) {
        // Named from the layer's label: through a registry the layer being replaced is never
        // downloaded, so its certificates (their subjects) are not read.
        return Ok(dropped
            .iter()
            .map(|sha| {
                format!(
                    "drops sha256:{}, a CA trustbake's replaced layer added: not given again (--keep-baked-cas keeps it)",
                    sha.hex()
                )
            })
            .collect());
    }
    // The same bodies the bake keeps (so the scan cache answers), or no cache when the image's
    // environment adds paths of its own.
    let extra = trustbake_store::env_reads(&config_env(platform));
    let wanted = |path: &str| trustbake_store::paths::reads(path) || extra.contains(path);
    let whole = scan(
        image,
        platform,
        &wanted,
        None,
        extra.is_empty().then_some(cache),
    )?;
    // A CA of the label no store holds any more cannot be kept: the notes say so.
    let (found, notes) = trustbake_store::find_removals(&ImageRoot(&whole), &fingerprints)?;
    if !request.keep_baked_cas {
        // A local image: the layer is at hand, so each dropped CA is named by its subject too.
        return Ok(dropped
            .iter()
            .map(|sha| {
                let subject = found
                    .iter()
                    .find(|f| f.certificate.sha256() == *sha)
                    .map(|f| format!("{} (sha256:{})", f.certificate.subject(), sha.hex()))
                    .unwrap_or_else(|| format!("sha256:{}", sha.hex()));
                format!(
                    "drops {subject}, a CA trustbake's replaced layer added: not given again (--keep-baked-cas keeps it)"
                )
            })
            .collect());
    }
    for f in found {
        let cert = f.certificate;
        let sha = cert.sha256();
        if !certs.iter().any(|c| c.sha256() == sha) && !removed.contains(&sha) {
            certs.push(cert);
        }
    }
    Ok(notes)
}
