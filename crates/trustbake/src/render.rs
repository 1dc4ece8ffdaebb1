//! Human renderings of plans: the summary of one target and the table of every line.

use std::fmt::{self, Write as _};

use crate::plan::TargetPlan;

impl fmt::Display for TargetPlan {
    /// A compact summary: the line and its facts, the CAs and where each goes, then notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {}  →  line {} ({}, {} family), {}",
            self.product, self.version, self.line, self.base, self.os_family, self.confidence
        )?;
        writeln!(
            f,
            "  OS store      {}/  then `{}`",
            self.anchors_dir, self.update_command
        )?;
        for (i, output) in self.os_outputs.iter().enumerate() {
            writeln!(
                f,
                "  {:<13} {output}",
                if i == 0 { "regenerates" } else { "" }
            )?;
        }
        writeln!(f, "  Python        {}", self.python)?;
        for (i, path) in self.certifi_paths.iter().enumerate() {
            let tag = if i == 0 { "  (primary)" } else { "" };
            writeln!(
                f,
                "  {:<13} {path}{tag}",
                if i == 0 { "certifi" } else { "" }
            )?;
        }
        writeln!(f, "  user          {}", self.user)?;
        writeln!(f, "  source        {}", self.source)?;
        if let Some(cas) = &self.cas {
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
        if !self.notes.is_empty() {
            writeln!(f)?;
            for note in &self.notes {
                writeln!(f, "note: {note}")?;
            }
        }
        for warning in self.warnings.iter().flatten() {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

/// One row per release line, aligned columns, then the CAs (if any) with their anchor file per
/// OS family.
pub fn render_table(plans: &[TargetPlan]) -> String {
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
