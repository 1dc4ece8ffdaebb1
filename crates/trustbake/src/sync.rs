//! `sync`: every upstream tag that matches kept baked. Tags are listed (paged, bounded) and
//! filtered before any manifest is read; a destination tag is up to date when each of its
//! manifests records the upstream digest it was baked from and the digest of the recipe (CAs,
//! removals, options, signing, the output format) — and, when signing, the key's signature of
//! its digest is there. Then nothing but manifests is read, and nothing written. The state lives
//! in the registry: no file of sync's own.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use trustbake_certs::Intake;
use trustbake_image::registry::{Access, Role, Session, list_tags, read_manifest};
use trustbake_image::{Digest, ImageRef, Platform, RegistryRef};
use trustbake_sign::{SIGNATURE_ANNOTATION, SimpleSigning, attached_tag};

use crate::error::Error;
use crate::outcome::SCHEMA_VERSION;
use crate::signing::Signing;

/// The annotation recording the upstream digest a manifest was baked from (its tag's digest).
pub const UPSTREAM_ANNOTATION: &str = "dev.trustbake.sync.upstream";

/// The annotation recording the digest of the recipe a manifest was baked with.
pub const RECIPE_ANNOTATION: &str = "dev.trustbake.sync.recipe";

/// The version of what a bake writes for the same input: raised when the bytes change, so that
/// every tag is baked again.
const OUTPUT_FORMAT: u32 = 1;

/// What to keep in sync.
#[derive(Debug)]
pub struct SyncRequest<'a> {
    from: RegistryRef,
    to: String,
    tags: Option<regex_lite::Regex>,
    semver: Option<semver::VersionReq>,
    cas: &'a Intake,
    remove: Vec<trustbake_store::Removal>,
    platform: Option<Platform>,
    include_vendored: bool,
    signing: Option<Signing>,
    source_access: Access,
    destination_access: Access,
    cache_dir: Option<std::path::PathBuf>,
    cache_repo: Option<String>,
    source_date_epoch: Option<i64>,
    keep_going: bool,
    jobs: usize,
    bundles: Vec<String>,
}

impl<'a> SyncRequest<'a> {
    /// Every tag of the repository `from` (`docker://HOST/REPO`) baked with `cas` into `to`, a
    /// `docker://HOST/REPO:TAG` template naming `{tag}` (or `{major}`, `{minor}`, `{patch}`).
    pub fn new(from: &str, to: &str, cas: &'a Intake) -> Result<Self, Error> {
        let bad = |what: &str, reason: String| Error::BadArgument {
            what: what.into(),
            reason,
        };
        let from_ref = match ImageRef::parse(from)? {
            ImageRef::Registry(r) if r.digest.is_none() => r,
            _ => {
                return Err(bad(
                    "--from",
                    format!(
                        "'{from}': sync reads a registry repository's tags: docker://HOST/REPO"
                    ),
                ));
            }
        };
        if !to.starts_with("docker://") {
            return Err(bad(
                "--to",
                format!("'{to}': sync writes to a registry: docker://HOST/REPO:{{tag}}-corp"),
            ));
        }
        if !["{tag}", "{major}", "{minor}", "{patch}"]
            .iter()
            .any(|p| to.contains(p))
        {
            return Err(bad(
                "--to",
                format!(
                    "'{to}' names no {{tag}}: every upstream tag would land on one destination tag (e.g. docker://HOST/REPO:{{tag}}-corp)"
                ),
            ));
        }
        // The template must be a reference once a tag is in it.
        ImageRef::parse(&fill(to, "1.2.3")?)?;
        Ok(SyncRequest {
            from: RegistryRef {
                tag: None,
                ..from_ref
            },
            to: to.to_owned(),
            tags: None,
            semver: None,
            cas,
            remove: Vec::new(),
            platform: None,
            include_vendored: false,
            signing: None,
            source_access: Access::default(),
            destination_access: Access::default(),
            cache_dir: None,
            cache_repo: None,
            source_date_epoch: None,
            keep_going: false,
            jobs: 1,
            bundles: Vec::new(),
        })
    }

    /// Only tags this regular expression finds (anywhere in the tag, as skopeo sync's
    /// `images-by-tag-regex`; anchor it with `^…$`).
    pub fn tags(mut self, pattern: &str) -> Result<Self, Error> {
        self.tags = Some(
            regex_lite::Regex::new(pattern).map_err(|e| Error::BadArgument {
                what: "--tags".into(),
                reason: format!("'{pattern}': {e}"),
            })?,
        );
        Ok(self)
    }

    /// Only tags that are semantic versions (a leading `v` allowed) in this range (`>=5.0,
    /// <6`, `~5.23`, `^5`).
    pub fn semver(mut self, range: &str) -> Result<Self, Error> {
        self.semver = Some(
            semver::VersionReq::parse(range).map_err(|e| Error::BadArgument {
                what: "--semver".into(),
                reason: format!("'{range}': {e}"),
            })?,
        );
        Ok(self)
    }

    /// Distrust these CAs (see [`BakeRequest::remove`](crate::BakeRequest::remove)).
    pub fn remove(mut self, remove: Vec<trustbake_store::Removal>) -> Self {
        self.remove = remove;
        self
    }

    /// Only this platform of each tag.
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// Also patch pip's vendored certifi.
    pub fn include_vendored(mut self) -> Self {
        self.include_vendored = true;
        self
    }

    /// Also append the CAs to these PEM bundles of each image (see
    /// [`BakeRequest::bundles`](crate::BakeRequest::bundles)); part of the recipe.
    pub fn bundles(mut self, paths: &[impl AsRef<str>]) -> Result<Self, Error> {
        self.bundles = crate::load::bundle_paths(paths)?;
        Ok(self)
    }

    /// Sign (and attest) each baked tag; an up-to-date tag also needs this key's signature.
    pub fn sign(mut self, signing: Signing) -> Self {
        self.signing = Some(signing);
        self
    }

    /// Reach the source registry with `access`.
    pub fn source_access(mut self, access: Access) -> Self {
        self.source_access = access;
        self
    }

    /// Reach the destination registry with `access`.
    pub fn destination_access(mut self, access: Access) -> Self {
        self.destination_access = access;
        self
    }

    /// Keep layer scans in `dir` across runs.
    pub fn cache_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Share layer scans through this registry repository (see
    /// [`BakeRequest::cache_repo`](crate::BakeRequest::cache_repo)).
    pub fn cache_repo(mut self, repository: &str) -> Result<Self, Error> {
        // Checked now, so that a wrong one is a usage error before any tag.
        crate::bake::cache_repository(repository)?;
        self.cache_repo = Some(repository.to_owned());
        Ok(self)
    }

    /// The time of new configs and layer entries (`SOURCE_DATE_EPOCH`).
    pub fn source_date_epoch(mut self, epoch: Option<i64>) -> Self {
        self.source_date_epoch = epoch;
        self
    }

    /// Go on after a tag fails (the others still baked); the outcome says which failed.
    pub fn keep_going(mut self) -> Self {
        self.keep_going = true;
        self
    }

    /// Bake up to `jobs` tags at once (at least 1).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// The digest of everything that decides a bake's bytes besides the upstream image.
    pub fn recipe(&self) -> String {
        let mut cas: Vec<String> = self
            .cas
            .cas()
            .iter()
            .map(|ca| ca.certificate.sha256().hex())
            .collect();
        cas.sort();
        let mut removed: Vec<String> = self.remove.iter().map(|r| r.sha256().hex()).collect();
        removed.sort();
        removed.dedup();
        let mut recipe = serde_json::json!({
            "format": OUTPUT_FORMAT,
            "cas": cas,
            "remove": removed,
            "platform": self.platform.as_ref().map(ToString::to_string),
            "include_vendored": self.include_vendored,
            "sign": self.signing.as_ref().map(|s| s.key().public_key().fingerprint()),
            "attest": self.signing.as_ref().is_some_and(Signing::attests),
            "sign_platforms": self.signing.as_ref().is_some_and(Signing::signs_platforms),
        });
        // Only when named: recipes of earlier versions (without the key) stay the same.
        if !self.bundles.is_empty() {
            let mut bundles = self.bundles.clone();
            bundles.sort();
            recipe["bundles"] = serde_json::json!(bundles);
        }
        let hex: String = Sha256::digest(recipe.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    }
}

/// What `sync` did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SyncOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The upstream repository.
    pub from: String,
    /// The destination template.
    pub to: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The recipe's digest, recorded on every manifest baked.
    pub recipe: String,
    /// Per upstream tag, in tag order.
    pub tags: Vec<SyncTag>,
    /// How many tags ended in each status.
    pub summary: SyncSummary,
}

/// One upstream tag.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SyncTag {
    /// The upstream tag.
    pub tag: String,
    /// `baked`, `up-to-date`, `would-bake` (a dry run), `skipped` (by the filters), `failed`,
    /// or `not-attempted` (after a failure, without `--keep-going`).
    pub status: &'static str,
    /// The destination (`null` when skipped).
    pub destination: Option<String>,
    /// The upstream digest read (`null` when skipped or not read).
    pub upstream: Option<String>,
    /// The digest the destination tag names after the run (`null` when not known).
    pub digest: Option<String>,
    /// Why it failed, or why it is baked again (a new tag, a moved upstream, a changed recipe).
    pub reason: Option<String>,
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[non_exhaustive]
pub struct SyncSummary {
    /// Baked now.
    pub baked: usize,
    /// Up to date: nothing read but manifests, nothing written.
    pub up_to_date: usize,
    /// A dry run's would-be bakes.
    pub would_bake: usize,
    /// Left out by `--tags`/`--semver`.
    pub skipped: usize,
    /// Failed.
    pub failed: usize,
    /// Not attempted after a failure.
    pub not_attempted: usize,
}

/// Keeps the request's tags baked.
pub fn sync(request: &SyncRequest<'_>) -> Result<SyncOutcome, Error> {
    run(request, false)
}

/// What [`sync`] would bake; writes nothing (manifests are still read to decide).
pub fn sync_preview(request: &SyncRequest<'_>) -> Result<SyncOutcome, Error> {
    run(request, true)
}

fn run(request: &SyncRequest<'_>, dry_run: bool) -> Result<SyncOutcome, Error> {
    let session = Session::new(
        request.source_access.clone(),
        request.destination_access.clone(),
    );
    let mut all = list_tags(&session, &request.from).map_err(trustbake_image::ImageError::from)?;
    all.sort();
    let recipe = request.recipe();
    let mut results: Vec<Option<SyncTag>> = vec![None; all.len()];
    let mut wanted = Vec::new();
    for (i, tag) in all.iter().enumerate() {
        if selected(request, tag) {
            wanted.push(i);
        } else {
            results[i] = Some(SyncTag {
                tag: tag.clone(),
                status: "skipped",
                destination: None,
                upstream: None,
                digest: None,
                reason: None,
            });
        }
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let done = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..request.jobs.min(wanted.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = wanted.get(k) else { break };
                    let tag = &all[i];
                    let result = if stop.load(Ordering::SeqCst) {
                        not_attempted(tag)
                    } else {
                        one_tag(request, &session, tag, &recipe, dry_run)
                    };
                    if result.status == "failed" && !request.keep_going {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if let Ok(mut done) = done.lock() {
                        done.push((i, result));
                    }
                }
            });
        }
    });
    for (i, result) in done.into_inner().unwrap_or_default() {
        results[i] = Some(result);
    }
    let tags: Vec<SyncTag> = results.into_iter().flatten().collect();
    let mut summary = SyncSummary::default();
    for t in &tags {
        match t.status {
            "baked" => summary.baked += 1,
            "up-to-date" => summary.up_to_date += 1,
            "would-bake" => summary.would_bake += 1,
            "skipped" => summary.skipped += 1,
            "failed" => summary.failed += 1,
            _ => summary.not_attempted += 1,
        }
    }
    Ok(SyncOutcome {
        schema_version: SCHEMA_VERSION,
        from: format!("docker://{}", request.from.name()),
        to: request.to.clone(),
        dry_run,
        recipe,
        tags,
        summary,
    })
}

/// Whether `tag` passes `--tags` and `--semver`.
fn selected(request: &SyncRequest<'_>, tag: &str) -> bool {
    let by_regex = request.tags.as_ref().is_none_or(|r| r.is_match(tag));
    let by_semver = request
        .semver
        .as_ref()
        .is_none_or(|req| semver_of(tag).is_some_and(|v| req.matches(&v)));
    by_regex && by_semver
}

/// `tag` as a semantic version (`5.23.0`, `v5.23.0`, `5.23.0-rc1`).
fn semver_of(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

/// The template with `tag` in it.
fn fill(template: &str, tag: &str) -> Result<String, Error> {
    let mut out = template.replace("{tag}", tag);
    if ["{major}", "{minor}", "{patch}"]
        .iter()
        .any(|p| out.contains(p))
    {
        let v = semver_of(tag).ok_or_else(|| Error::BadArgument {
            what: "--to".into(),
            reason: format!(
                "tag '{tag}' is not a semantic version, and the destination names {{major}}, {{minor}} or {{patch}}"
            ),
        })?;
        out = out
            .replace("{major}", &v.major.to_string())
            .replace("{minor}", &v.minor.to_string())
            .replace("{patch}", &v.patch.to_string());
    }
    Ok(out)
}

fn not_attempted(tag: &str) -> SyncTag {
    SyncTag {
        tag: tag.to_owned(),
        status: "not-attempted",
        destination: None,
        upstream: None,
        digest: None,
        reason: Some("an earlier tag failed (--keep-going goes on)".into()),
    }
}

/// One tag: up to date, or baked (or, previewed, would be).
fn one_tag(
    request: &SyncRequest<'_>,
    session: &Session,
    tag: &str,
    recipe: &str,
    dry_run: bool,
) -> SyncTag {
    let mut out = SyncTag {
        tag: tag.to_owned(),
        status: "failed",
        destination: None,
        upstream: None,
        digest: None,
        reason: None,
    };
    match decide(request, session, tag, recipe, &mut out) {
        Ok(None) => out.status = "up-to-date",
        Ok(Some(why)) if dry_run => {
            out.status = "would-bake";
            out.reason = Some(why);
        }
        Ok(Some(why)) => match bake_tag(request, tag, &out, recipe) {
            Ok(digest) => {
                out.status = "baked";
                out.digest = Some(digest);
                out.reason = Some(why);
            }
            Err(e) => out.reason = Some(format!("{e:#}")),
        },
        Err(e) => out.reason = Some(e.to_string()),
    }
    out
}

/// `None` when the destination of `tag` is up to date; else why it is baked.
fn decide(
    request: &SyncRequest<'_>,
    session: &Session,
    tag: &str,
    recipe: &str,
    out: &mut SyncTag,
) -> Result<Option<String>, Error> {
    let destination = fill(&request.to, tag)?;
    out.destination = Some(destination.clone());
    let upstream_ref = RegistryRef {
        tag: Some(tag.to_owned()),
        ..request.from.clone()
    };
    let (upstream, _) = read_manifest(session, &upstream_ref, Role::Source)
        .map_err(trustbake_image::ImageError::from)?
        .ok_or_else(|| Error::BadArgument {
            what: tag.into(),
            reason: "the tag was listed but is gone".into(),
        })?;
    let upstream = upstream.digest.to_string();
    out.upstream = Some(upstream.clone());
    let ImageRef::Registry(dest) = ImageRef::parse(&destination)? else {
        return Err(Error::BadArgument {
            what: "--to".into(),
            reason: format!("'{destination}' is not a registry reference"),
        });
    };
    let Some((top, bytes)) = read_manifest(session, &dest, Role::Destination)
        .map_err(trustbake_image::ImageError::from)?
    else {
        return Ok(Some("a new tag".into()));
    };
    out.digest = Some(top.digest.to_string());
    let records = recorded(session, &dest, &top, &bytes)?;
    if records.is_empty() {
        return Ok(Some("the destination carries no record of sync".into()));
    }
    if records
        .iter()
        .any(|(u, _)| u.as_deref() != Some(upstream.as_str()))
    {
        return Ok(Some(format!("the upstream tag moved to {upstream}")));
    }
    if records.iter().any(|(_, r)| r.as_deref() != Some(recipe)) {
        return Ok(Some(
            "the recipe changed (CAs, removals, options or signing)".into(),
        ));
    }
    if let Some(signing) = &request.signing
        && !signed(session, &dest, &top.digest, signing)?
    {
        return Ok(Some("no signature by the key".into()));
    }
    Ok(None)
}

/// The (upstream, recipe) annotations of each manifest the destination names.
type Record = (Option<String>, Option<String>);

fn recorded(
    session: &Session,
    dest: &RegistryRef,
    top: &trustbake_image::Descriptor,
    bytes: &[u8],
) -> Result<Vec<Record>, Error> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| Error::BadArgument {
        what: dest.name(),
        reason: e.to_string(),
    })?;
    let record = |doc: &serde_json::Value| -> Record {
        let get = |k: &str| doc["annotations"][k].as_str().map(str::to_owned);
        (get(UPSTREAM_ANNOTATION), get(RECIPE_ANNOTATION))
    };
    if !trustbake_image::model::media_type::is_index(&top.media_type) {
        return Ok(vec![record(&doc)]);
    }
    let mut out = Vec::new();
    for entry in doc["manifests"].as_array().into_iter().flatten() {
        // Attestation manifests of an index (`unknown/unknown`) are not platforms.
        if entry["platform"]["os"] == "unknown" {
            continue;
        }
        let digest = entry["digest"].as_str().and_then(|d| Digest::parse(d).ok());
        let Some(digest) = digest else { continue };
        let by_digest = RegistryRef {
            tag: None,
            digest: Some(digest),
            ..dest.clone()
        };
        if let Some((_, bytes)) = read_manifest(session, &by_digest, Role::Destination)
            .map_err(trustbake_image::ImageError::from)?
        {
            let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            out.push(record(&doc));
        }
    }
    Ok(out)
}

/// Whether the key's signature of `digest` is attached: read from the signature manifest alone
/// (the payload sync would sign is known, so its digest and signature are checked without a
/// blob GET).
fn signed(
    session: &Session,
    dest: &RegistryRef,
    digest: &Digest,
    signing: &Signing,
) -> Result<bool, Error> {
    let sig_ref = RegistryRef {
        tag: Some(attached_tag(&digest.to_string(), "sig")),
        digest: None,
        ..dest.clone()
    };
    let Some((_, bytes)) = read_manifest(session, &sig_ref, Role::Destination)
        .map_err(trustbake_image::ImageError::from)?
    else {
        return Ok(false);
    };
    let payload = SimpleSigning {
        docker_reference: format!("{}/{}", dest.registry, dest.repository),
        manifest_digest: digest.to_string(),
    }
    .to_bytes();
    let payload_digest = Digest::of(&payload).to_string();
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(doc["layers"].as_array().into_iter().flatten().any(|l| {
        l["digest"] == payload_digest.as_str()
            && l["annotations"][SIGNATURE_ANNOTATION]
                .as_str()
                .and_then(|s| b64.decode(s).ok())
                .is_some_and(|sig| signing.key().public_key().verifies(&payload, &sig))
    }))
}

/// Bakes `tag` into its destination; returns the digest written.
fn bake_tag(
    request: &SyncRequest<'_>,
    tag: &str,
    out: &SyncTag,
    recipe: &str,
) -> Result<String, Error> {
    let from = format!(
        "docker://{}",
        RegistryRef {
            tag: Some(tag.to_owned()),
            ..request.from.clone()
        }
        .name()
    );
    let to = out.destination.clone().unwrap_or_default();
    let upstream = out.upstream.clone().unwrap_or_default();
    let mut bake = crate::BakeRequest::new(&from, &to, request.cas)?
        .remove(request.remove.clone())
        .source_date_epoch(request.source_date_epoch)
        .source_access(request.source_access.clone())
        .destination_access(request.destination_access.clone())
        .manifest_annotations(vec![
            (UPSTREAM_ANNOTATION.to_owned(), upstream),
            (RECIPE_ANNOTATION.to_owned(), recipe.to_owned()),
        ]);
    if let Some(platform) = &request.platform {
        bake = bake.platform(platform.clone());
    }
    if request.include_vendored {
        bake = bake.include_vendored();
    }
    if !request.bundles.is_empty() {
        bake = bake.bundles(&request.bundles)?;
    }
    if let Some(dir) = &request.cache_dir {
        bake = bake.cache_dir(dir.clone());
    }
    if let Some(repo) = &request.cache_repo {
        bake = bake.cache_repo(repo)?;
    }
    if let Some(signing) = &request.signing {
        bake = bake.sign(signing.clone());
    }
    Ok(crate::bake(&bake)?.digest)
}
