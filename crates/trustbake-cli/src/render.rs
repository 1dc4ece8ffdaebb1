//! Every command's text output, in one place: the library returns outcomes, this module turns
//! them into what a person reads (the `--json` output is the outcome itself).

use std::fmt::{self, Write as _};

use trustbake::outcome::{
    ApplyOutcome, BakeOutcome, CheckConfigOutcome, Detected, InspectOutcome, PlanOutcome,
    StoreOutcome, VerifyOutcome,
};

/// One plan: the line and its facts, the CAs and where each goes, then notes.
pub(crate) fn plan(p: &PlanOutcome) -> String {
    let mut out = String::new();
    let _ = write_plan(&mut out, p);
    out
}

fn write_plan(f: &mut String, p: &PlanOutcome) -> fmt::Result {
    {
        writeln!(
            f,
            "{} {}  →  line {} ({}, {} family), {}",
            p.product, p.version, p.line, p.base, p.os_family, p.confidence
        )?;
        if let Some(image) = &p.image {
            writeln!(
                f,
                "  image         {}  ({} {}, {} naming)",
                image.reference,
                image.name.component,
                image.name.version.as_deref().unwrap_or("?"),
                image.name.naming
            )?;
        }
        writeln!(
            f,
            "  OS store      {}/  then `{}`",
            p.anchors_dir, p.update_command
        )?;
        for (i, output) in p.os_outputs.iter().enumerate() {
            writeln!(
                f,
                "  {:<13} {output}",
                if i == 0 { "regenerates" } else { "" }
            )?;
        }
        writeln!(f, "  Python        {}", p.python)?;
        for (i, path) in p.certifi_paths.iter().enumerate() {
            let tag = if i == 0 { "  (primary)" } else { "" };
            writeln!(
                f,
                "  {:<13} {path}{tag}",
                if i == 0 { "certifi" } else { "" }
            )?;
        }
        writeln!(f, "  user          {}", p.user)?;
        writeln!(f, "  source        {}", p.source)?;
        if let Some(cas) = &p.cas {
            writeln!(f, "\nCAs ({}):", cas.len())?;
            for ca in cas {
                let label = if ca.label.is_empty() {
                    "(unlabeled)"
                } else {
                    &ca.label
                };
                writeln!(f, "  {label}")?;
                writeln!(f, "    sha256      {}", ca.sha256)?;
                writeln!(f, "    anchor      {}", ca.anchor_file)?;
                let kind = if ca.authority {
                    "authority"
                } else {
                    "NOT an authority"
                };
                writeln!(
                    f,
                    "    {:<11} {kind}, {}, valid {} to {}",
                    "", ca.key, ca.not_before, ca.not_after
                )?;
            }
        }
        if !p.notes.is_empty() {
            writeln!(f)?;
            for note in &p.notes {
                writeln!(f, "note: {note}")?;
            }
        }
        for warning in p.warnings.iter().flatten() {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

/// One row per release line, aligned columns, then the CAs (if any) with their anchor file per
/// OS family.
pub(crate) fn plan_table(plans: &[PlanOutcome]) -> String {
    let headers = [
        "PRODUCT",
        "LINE",
        "FIRST",
        "BASE",
        "OS STORE",
        "PYTHON",
        "USER",
        "CONFIDENCE",
        "CERTIFI (primary)",
    ];
    let rows: Vec<[String; 9]> = plans
        .iter()
        .map(|p| {
            [
                p.product.clone(),
                p.line.clone(),
                p.first_version.clone(),
                p.base.clone(),
                p.update_command
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                p.python.clone(),
                p.user.clone(),
                p.confidence.clone(),
                p.certifi_paths.first().cloned().unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&headers);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    if let Some(first) = plans.iter().find_map(|p| p.cas.as_ref()) {
        let _ = writeln!(out, "\nCAs ({}):", first.len());
        for ca in first {
            let label = if ca.label.is_empty() {
                "(unlabeled)"
            } else {
                &ca.label
            };
            let _ = writeln!(out, "  {label}  sha256 {}", ca.sha256);
            let mut families: Vec<(&str, &str)> = Vec::new();
            for plan in plans {
                if let Some(this) = plan.cas.iter().flatten().find(|c| c.sha256 == ca.sha256) {
                    if !families.iter().any(|(fam, _)| *fam == plan.os_family) {
                        families.push((&plan.os_family, &this.anchor_file));
                    }
                }
            }
            for (family, anchor) in families {
                let _ = writeln!(out, "    {family:<7} {anchor}");
            }
        }
        // Notes every line shares come from the CA input (duplicates, trust settings).
        for note in plans[0]
            .notes
            .iter()
            .filter(|n| plans.iter().all(|p| p.notes.contains(n)))
        {
            let _ = writeln!(out, "note: {note}");
        }
        for warning in plans[0].warnings.iter().flatten() {
            let _ = writeln!(out, "warning: {warning}");
        }
    }
    out
}

/// The heading of a detected layout.
fn layout(d: &Detected) -> String {
    let or_unknown = |s: &str| {
        if s.is_empty() {
            "?".to_owned()
        } else {
            s.to_owned()
        }
    };
    format!(
        "{} layout (ID={} VERSION_ID={}), Python {}",
        d.family,
        or_unknown(&d.os.id),
        or_unknown(&d.os.version_id),
        d.python.as_deref().unwrap_or("not found")
    )
}

/// What happened in one store, in words: added, already present, skipped (with the first
/// reason), unreadable existing entries.
fn store_summary(store: &StoreOutcome) -> String {
    let mut parts = Vec::new();
    if !store.added.is_empty() {
        parts.push(format!("added {}", store.added.len()));
    }
    if !store.present.is_empty() {
        parts.push(format!("already present {}", store.present.len()));
    }
    if !store.removed.is_empty() {
        parts.push(format!("removed {}", store.removed.len()));
    }
    if let Some(first) = store.skipped.first() {
        parts.push(format!(
            "skipped {} ({})",
            store.skipped.len(),
            first.reason
        ));
    }
    if store.unreadable_existing > 0 {
        parts.push(format!(
            "{} existing blocks unreadable, kept",
            store.unreadable_existing
        ));
    }
    parts.join(", ")
}

/// `bake`: the digest written, then per platform the layout, the new layer, each store, the
/// notes and (previewed) every entry.
pub(crate) fn bake(outcome: &BakeOutcome) -> String {
    let mut out = String::new();
    let verb = if outcome.dry_run {
        "dry run: would write"
    } else {
        "wrote"
    };
    let _ = writeln!(out, "{verb} {} {}", outcome.to, outcome.digest);
    if let Some(name) = &outcome.anchore {
        let _ = writeln!(
            out,
            "  base: Anchore {} {} ({} naming)",
            name.component,
            name.version.as_deref().unwrap_or("(no version in the tag)"),
            name.naming
        );
    }
    if outcome.to.starts_with("docker-archive:")
        && let Some(p) = outcome.platforms.first()
    {
        // A docker archive stores no manifest: what users look up after docker load is the
        // image ID, the config's digest.
        let _ = writeln!(
            out,
            "  (a docker archive keeps no manifest: that is the manifest's digest; docker load names the image by its ID {}, the config's digest)",
            p.config
        );
    }
    if outcome.nothing_to_add {
        let _ = writeln!(
            out,
            "every store already trusts these CAs: no layer added, the image is unchanged"
        );
    }
    for p in &outcome.platforms {
        bake_platform(&mut out, p, outcome.dry_run);
    }
    let _ = writeln!(
        out,
        "\nbase layers: {} scanned, {} from the scan cache",
        outcome.scanned_layers, outcome.cached_layers
    );
    for r in &outcome.registries {
        registry_line(&mut out, r);
    }
    if let Some(signed) = &outcome.signed {
        signed_lines(&mut out, signed);
    }
    for note in &outcome.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for warning in &outcome.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    out
}

/// What a bake signed and attested.
fn signed_lines(out: &mut String, signed: &trustbake::outcome::SignedOutcome) {
    let said = |added: bool| if added { "added" } else { "there already" };
    for s in &signed.signatures {
        let _ = writeln!(
            out,
            "signed {} with {}: {} ({})",
            s.digest,
            signed.key,
            s.tag,
            said(s.added)
        );
    }
    if let Some(a) = &signed.attestation {
        let _ = writeln!(
            out,
            "attested {} ({}): {} ({})",
            a.digest,
            a.predicate_type,
            a.tag,
            said(a.added)
        );
    }
}

/// What sync did: a line per tag, then the summary.
pub(crate) fn sync(outcome: &trustbake::sync::SyncOutcome) -> String {
    let mut out = String::new();
    for t in &outcome.tags {
        let _ = write!(out, "{:<14} {}", t.status, t.tag);
        if let Some(d) = &t.destination {
            let _ = write!(out, " -> {d}");
        }
        if let Some(digest) = &t.digest {
            let _ = write!(out, " {digest}");
        }
        if let Some(reason) = &t.reason {
            let _ = write!(out, " ({reason})");
        }
        out.push('\n');
    }
    let s = &outcome.summary;
    let _ = writeln!(
        out,
        "\n{} baked, {} up to date, {}{} skipped by the filters, {} failed{}",
        s.baked,
        s.up_to_date,
        if outcome.dry_run {
            format!(
                "{} would be baked (dry run: nothing written), ",
                s.would_bake
            )
        } else {
            String::new()
        },
        s.skipped,
        s.failed,
        if s.not_attempted > 0 {
            format!(", {} not attempted", s.not_attempted)
        } else {
            String::new()
        }
    );
    out
}

/// What verify-image found.
pub(crate) fn verify_image(outcome: &trustbake::outcome::VerifyImageOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}: {}",
        outcome.image,
        outcome.digest,
        if outcome.verified {
            "VERIFIED — signed, attested, and its attested base plus exactly the attested layer"
        } else {
            "NOT VERIFIED"
        }
    );
    let _ = writeln!(out, "  key {}", outcome.key);
    let _ = writeln!(
        out,
        "  signatures: {} found, {} by the key",
        outcome.signatures.found, outcome.signatures.verified
    );
    let _ = writeln!(
        out,
        "  attestations: {} found, {} by the key",
        outcome.attestations.found, outcome.attestations.verified
    );
    if let Some(base) = &outcome.base {
        let _ = writeln!(out, "  base: {} {}", base.reference, base.digest);
    }
    for p in &outcome.platforms {
        let _ = writeln!(
            out,
            "  {}: {} {}{}",
            p.platform.as_deref().unwrap_or("image"),
            p.manifest,
            if p.matches { "matches" } else { "DIFFERS" },
            p.layer
                .as_deref()
                .map(|l| format!(" (base + layer {l})"))
                .unwrap_or_else(|| " (the base's, unchanged)".to_owned())
        );
    }
    for problem in &outcome.problems {
        let _ = writeln!(out, "problem: {problem}");
    }
    out
}

/// One platform of a bake: its layout, manifest, layer, what it replaced, each store, notes,
/// and in a dry run every entry.
fn bake_platform(out: &mut String, p: &trustbake::outcome::BakePlatform, dry_run: bool) {
    let _ = writeln!(
        out,
        "\n{}: {}",
        p.platform.as_deref().unwrap_or("image"),
        layout(&p.detected)
    );
    let _ = writeln!(out, "  manifest {}", p.manifest);
    if let Some(layer) = &p.layer {
        let _ = writeln!(out, "  new layer {} ({} bytes)", layer.digest, layer.size);
    }
    if let Some(r) = &p.replaced {
        let _ = writeln!(
            out,
            "  replaces trustbake's earlier layer {} ({} added{}): the new layer goes on the layers below it, and CAs not given again are gone from every store",
            r.layer,
            counted(r.cas.len(), "CA", "CAs"),
            if r.removed.is_empty() {
                String::new()
            } else {
                format!(", {} removed", r.removed.len())
            }
        );
    }
    for (name, value) in &p.env {
        let _ = writeln!(out, "  config Env: {name}={value}");
    }
    for store in &p.stores {
        let _ = writeln!(
            out,
            "    {:<17} {}  {}",
            store.kind,
            store.path,
            store_summary(store)
        );
    }
    for note in &p.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    if dry_run {
        for e in &p.entries {
            let what = match (e.kind, e.size, &e.target) {
                ("remove", _, _) => "removed (a whiteout)".to_owned(),
                (_, Some(size), _) => format!("{size} bytes"),
                (_, None, Some(t)) => format!("-> {t}"),
                _ => "dir".to_owned(),
            };
            let _ = writeln!(
                out,
                "    {} {}:{}  {}  {what}",
                e.mode, e.uid, e.gid, e.path
            );
        }
    }
}

/// One registry's transfers of a bake.
fn registry_line(out: &mut String, r: &trustbake::outcome::RegistryTransfer) {
    let _ = writeln!(
        out,
        "{}: downloaded {}, uploaded {}, mounted {} blobs ({}), already there {} blobs ({}){}",
        r.registry,
        mb(r.downloaded + r.manifest_bytes),
        mb(r.uploaded),
        r.mounted,
        mb(r.mounted_bytes),
        r.present,
        mb(r.present_bytes),
        match r.retries {
            0 => String::new(),
            1 => ", 1 retry".to_owned(),
            n => format!(", {n} retries"),
        }
    );
}

/// Bytes as MB with one decimal (kB below 0.1 MB).
pub(crate) fn mb(bytes: u64) -> String {
    if bytes < 100_000 {
        format!("{:.1} kB", bytes as f64 / 1e3)
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6)
    }
}

/// `apply`: the layout, each store, notes and warnings, then every entry.
pub(crate) fn apply(outcome: &ApplyOutcome) -> String {
    let mut out = String::new();
    let d = &outcome.detected;
    let or_unknown = |s: &str| {
        if s.is_empty() {
            "?".to_owned()
        } else {
            s.to_owned()
        }
    };
    let _ = writeln!(
        out,
        "{}: {} trust layout (os-release ID={} VERSION_ID={}), Python {}",
        outcome.root,
        d.family,
        or_unknown(&d.os.id),
        or_unknown(&d.os.version_id),
        d.python.as_deref().unwrap_or("not found")
    );
    let width = outcome
        .stores
        .iter()
        .map(|s| s.path.len())
        .max()
        .unwrap_or(0);
    for store in &outcome.stores {
        let _ = writeln!(
            out,
            "  {:<width$}  {:<17} {}",
            store.path,
            store.kind,
            store_summary(store)
        );
    }
    for note in &outcome.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for warning in &outcome.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    for (name, value) in &outcome.env {
        let _ = writeln!(
            out,
            "set in the container's environment (a directory has no config): {name}={value}"
        );
    }
    let verb = if outcome.dry_run {
        "dry run: would write"
    } else {
        "wrote"
    };
    let _ = writeln!(
        out,
        "{verb} {} entries{}",
        outcome.entries.len(),
        if outcome.entries.is_empty() {
            " (nothing to do)"
        } else {
            ":"
        }
    );
    for e in &outcome.entries {
        let what = match (e.kind, e.size, &e.target) {
            ("file", Some(size), _) => format!("file  {size} bytes"),
            ("remove", _, _) => "removed".to_owned(),
            (_, _, Some(target)) => format!("link  -> {target}"),
            _ => "dir".to_owned(),
        };
        let _ = writeln!(out, "  {} {}:{}  {}  {what}", e.mode, e.uid, e.gid, e.path);
    }
    out
}

/// `inspect`: per platform, every store with its count, then each locally added CA and the
/// stores it is missing from.
pub(crate) fn inspect(outcome: &InspectOutcome) -> String {
    let mut out = String::new();
    if let Some(name) = &outcome.anchore {
        let _ = writeln!(
            out,
            "{}: Anchore {} {} ({} naming)",
            outcome.source,
            name.component,
            name.version.as_deref().unwrap_or("(no version in the tag)"),
            name.naming
        );
    }
    for p in &outcome.platforms {
        let _ = writeln!(
            out,
            "{}: {}",
            p.platform.as_deref().unwrap_or(&outcome.source),
            layout(&p.detected)
        );
        if let Some(t) = &p.trustbake {
            let _ = writeln!(
                out,
                "  top layer {} is trustbake's: {} added{} (a new bake replaces it)",
                t.layer,
                counted(t.cas.len(), "CA", "CAs"),
                if t.removed.is_empty() {
                    String::new()
                } else {
                    format!(", {} distrusted: {}", t.removed.len(), t.removed.join(" "))
                }
            );
        }
        let kind = |s: &trustbake::outcome::StoreContents| match s.certifi_status {
            Some("own") | None => s.kind.to_string(),
            Some("linked-to-os") => format!("{} (linked to the OS store)", s.kind),
            Some("distro-patched") => format!("{} (distribution build)", s.kind),
            Some("vendored") => format!("{} (pip vendored)", s.kind),
            Some("unusable") => format!("{} (unusable)", s.kind),
            Some(other) => format!("{} ({other})", s.kind),
        };
        let width = p.stores.iter().map(|s| s.path.len()).max().unwrap_or(0);
        for s in &p.stores {
            let unreadable = if s.unreadable > 0 {
                format!(" ({} unreadable)", s.unreadable)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {:<33} {:>4} certificates{unreadable}",
                s.path,
                kind(s),
                s.certificates
            );
        }
        if p.local_cas.is_empty() {
            let _ = writeln!(out, "  no locally added CA");
        }
        for ca in &p.local_cas {
            let _ = writeln!(
                out,
                "  local CA '{}' sha256 {} ({})",
                ca.label, ca.sha256, ca.source
            );
            if let Some(by) = &ca.added_by {
                let _ = writeln!(
                    out,
                    "    added by layer {} ({}){}",
                    by.index,
                    by.digest,
                    if by.trustbake {
                        ": a trustbake bake (a new bake replaces it)".to_owned()
                    } else {
                        by.created_by
                            .as_deref()
                            .map(|c| format!(": {}", c.chars().take(80).collect::<String>()))
                            .unwrap_or_default()
                    }
                );
            }
            let _ = writeln!(
                out,
                "    in {} of {} stores",
                ca.present_in.len(),
                ca.present_in.len() + ca.missing_from.len()
            );
            for missing in &ca.missing_from {
                let _ = writeln!(out, "    MISSING from {missing}");
            }
        }
        for w in &p.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
    }
    out
}

/// `verify`: the chain, then per platform one line per consumer with ✔ or ✖ and the anchor or
/// the reason, and what it reads.
pub(crate) fn verify(outcome: &VerifyOutcome) -> String {
    let mut out = String::new();
    let name = outcome
        .hostname
        .as_deref()
        .map_or("no name check".to_owned(), |h| format!("for '{h}'"));
    let _ = writeln!(
        out,
        "chain from {} ({} certificate{}), {name}, at {}",
        outcome.chain_from,
        outcome.chain.len(),
        if outcome.chain.len() == 1 { "" } else { "s" },
        outcome.at
    );
    for (i, c) in outcome.chain.iter().enumerate() {
        let role = if i == 0 { "server" } else { "sent" };
        let names = if c.names.is_empty() {
            String::new()
        } else {
            format!(" [{}]", c.names.join(", "))
        };
        let _ = writeln!(
            out,
            "  {role}: {}{names}, issued by {}, until {}",
            c.subject, c.issuer, c.not_after
        );
    }
    for p in &outcome.platforms {
        let required = p.consumers.iter().filter(|c| c.required).count();
        let failed = p
            .consumers
            .iter()
            .filter(|c| c.required && !c.trusted)
            .count();
        let verdict = if failed == 0 {
            format!("trusted by all {required} consumers")
        } else {
            format!("NOT trusted by {failed} of {required} consumers")
        };
        let _ = writeln!(
            out,
            "{}: {verdict}",
            p.platform.as_deref().unwrap_or(&outcome.source)
        );
        for note in &p.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        for c in &p.consumers {
            let (mark, why) = match (&c.anchor, &c.message) {
                (Some(a), _) => ("✔", format!("chains to '{}'", a.label)),
                (None, Some(m)) => ("✖", m.clone()),
                (None, None) => ("✖", String::new()),
            };
            let mark = if c.required { mark } else { "·" };
            let _ = writeln!(out, "  {mark} {}", c.name);
            let _ = writeln!(out, "      {why}");
            let reads: Vec<String> = c
                .sources
                .iter()
                .map(|s| {
                    if s.exists {
                        format!("{} ({}, {})", s.path, s.how, s.certificates)
                    } else {
                        format!("{} (absent)", s.path)
                    }
                })
                .collect();
            let _ = writeln!(out, "      reads {}", reads.join(", "));
            for note in &c.notes {
                let _ = writeln!(out, "      note: {note}");
            }
        }
    }
    out
}

/// `check-config`: per service one line, then its checks with ✔, ! (warning) or ✖; the
/// config's findings; a summary.
pub(crate) fn check_config(outcome: &CheckConfigOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} at {}: internal_ssl_verify {}",
        outcome.config,
        outcome.at,
        if outcome.internal_ssl_verify {
            "on"
        } else {
            "OFF"
        }
    );
    let width = outcome
        .services
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    let (mut failed, mut warned) = (0, 0);
    for s in &outcome.services {
        let endpoint = format!(
            "{}:{}",
            s.endpoint_hostname.as_deref().unwrap_or("?"),
            s.port.as_deref().unwrap_or("?")
        );
        let mode = match (s.enabled, s.ssl_enable) {
            (false, _) => "disabled",
            (true, false) => "plain HTTP",
            (true, true) => "TLS",
        };
        let _ = writeln!(out, "{:<width$}  {endpoint}  {mode}", s.name);
        for c in &s.checks {
            let mark = match c.status.as_str() {
                "ok" => "✔",
                "warn" => {
                    warned += 1;
                    "!"
                }
                "fail" => {
                    failed += 1;
                    "✖"
                }
                _ => "-",
            };
            let _ = writeln!(out, "  {mark} {:<11} {}", c.check, c.message);
        }
    }
    for f in &outcome.findings {
        let _ = writeln!(out, "{}: {}", f.severity, f.message);
        match f.severity.as_str() {
            "warning" | "warn" => warned += 1,
            "error" | "fail" => failed += 1,
            _ => {}
        }
    }
    let tls = outcome
        .services
        .iter()
        .filter(|s| s.enabled && s.ssl_enable)
        .count();
    let _ = writeln!(
        out,
        "{}, {tls} with TLS: {} failed, {}",
        counted(outcome.services.len(), "service", "services"),
        counted(failed, "check", "checks"),
        counted(warned, "warning", "warnings")
    );
    out
}

/// `n` and the noun in its number: "1 CA", "2 CAs".
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
