//! The dry-run plan of a release line: which paths, for which version, trustbake would write.
//!
//! [`PlanOutcome`] is also the `--json` contract of `trustbake plan`, and [`PlanAllOutcome`] that
//! of `trustbake plan --all`.

use trustbake_certs::{Intake, format_timestamp};
use trustbake_targets::{Resolved, VersionMap};

use crate::error::Error;
use crate::names::{NamedImage, name_of, parse_named};
use crate::outcome::{CaPlan, PlanAllOutcome, PlanOutcome, PlannedImage, SCHEMA_VERSION};
use crate::target::Target;

/// The plan for the image `reference` names (`registry1.dso.mil/ironbank/anchore/enterprise/
/// enterprise:5.23.0`, `anchore/enterprise-ui:v5.1.0`): its product and version read from the
/// repository path and tag, in Docker Hub's naming or Iron Bank's. Nothing is fetched.
pub fn plan_image(reference: &str, cas: Option<&Intake>) -> Result<PlanOutcome, Error> {
    let bad = |reason: String| Error::BadArgument {
        what: "--image".into(),
        reason,
    };
    // A reference naming credentials is refused here, with them redacted.
    let parsed = parse_named(reference)?;
    let name = name_of(&parsed).ok_or_else(|| {
        bad(format!(
            "'{reference}' names none of Anchore's images (anchore/enterprise, anchore/enterprise-ui, anchore/anchore-engine, or Iron Bank's ironbank/anchore/enterprise/enterprise, …/enterpriseui/enterpriseui, …/engine/engine): give --product and --version"
        ))
    })?;
    let product = name.product().ok_or_else(|| {
        bad(format!(
            "'{reference}' is the Anchore CLI, which the version map does not cover: bake detects its layout from the image"
        ))
    })?;
    let version = name.version.clone().ok_or_else(|| {
        bad(format!(
            "the tag of '{reference}' names no version: give --product and --version"
        ))
    })?;
    let target = Target::new(product, version);
    let mut outcome = plan(&target, cas)?;
    outcome.image = Some(PlannedImage {
        reference: reference.to_owned(),
        name: NamedImage::from(&name),
    });
    Ok(outcome)
}

/// The plan for `target`, with where each CA would go when `cas` are given.
pub fn plan(target: &Target, cas: Option<&Intake>) -> Result<PlanOutcome, Error> {
    let resolved = target.resolve(VersionMap::builtin())?;
    Ok(plan_resolved(&resolved, target.version.to_string(), cas))
}

/// The plan of every release line of both products, each for its first version.
pub fn plan_all(cas: Option<&Intake>) -> PlanAllOutcome {
    let map = VersionMap::builtin();
    PlanAllOutcome {
        schema_version: SCHEMA_VERSION,
        lines: map
            .lines()
            .iter()
            .filter_map(|line| map.resolve(line.product, &line.first).ok())
            .map(|resolved| plan_resolved(&resolved, resolved.version.to_string(), cas))
            .collect(),
    }
}

/// The plan of an already resolved target; `asked` is the version as the user wrote it.
fn plan_resolved(resolved: &Resolved<'_>, asked: String, cas: Option<&Intake>) -> PlanOutcome {
    let line = resolved.line;
    let info = &line.base_info;
    let mut notes = resolved.notes.clone();
    let ca_plans = cas.map(|intake| {
        notes.extend(intake.notes().iter().cloned());
        intake
            .cas()
            .iter()
            .map(|ca| {
                let cert = &ca.certificate;
                CaPlan {
                    label: cert.label().to_owned(),
                    sha256: cert.sha256().hex(),
                    sha1: cert.sha1().hex(),
                    anchor_file: info
                        .os_family
                        .anchor_file(&info.anchors_dir, &cert.file_stem()),
                    authority: cert.is_authority(),
                    not_before: format_timestamp(cert.not_before()),
                    not_after: format_timestamp(cert.not_after()),
                    subject: cert.subject().to_owned(),
                    issuer: cert.issuer().to_owned(),
                    serial: cert.serial().to_owned(),
                    key: cert.key().to_string(),
                    signature_algorithm: cert.signature_algorithm().to_owned(),
                    sources: ca.origins.iter().map(ToString::to_string).collect(),
                }
            })
            .collect()
    });
    PlanOutcome {
        schema_version: SCHEMA_VERSION,
        product: line.product.to_string(),
        image: None,
        version: asked,
        line: line.line.clone(),
        first_version: line.first.to_string(),
        base: line.base.to_string(),
        os_family: info.os_family.to_string(),
        anchors_dir: info.anchors_dir.clone(),
        update_command: info.update_command.clone(),
        os_outputs: info.os_outputs.clone(),
        python: line.python.clone(),
        certifi_paths: resolved.certifi_paths.clone(),
        user: line.user.clone(),
        confidence: line.confidence.as_str().to_owned(),
        source: line.source.clone(),
        notes,
        cas: ca_plans,
        warnings: cas.map(|intake| intake.warnings().to_vec()),
    }
}
