//! The `trustbake` command. Glue only: argument parsing, output and exit codes over the
//! `trustbake` library; every decision is made there.
//!
//! Exit codes: 0 success, 1 error, 2 usage error, 3 CA input refused.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand};

/// Bake custom CA certificates into Anchore container images — OS trust store and Python
/// certifi — without a Docker daemon.
#[derive(Debug, Parser)]
#[command(name = "trustbake", version, max_term_width = 100)]
struct Cli {
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show which paths trustbake would write for an Anchore release (a dry run: no image needed).
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// Bake the CAs into an image as one new layer on the untouched base (no daemon needed).
    #[command(after_help = BAKE_EXAMPLES)]
    Bake(BakeArgs),
    /// Show what an image (or an unpacked root) trusts: every store, its count, and where each
    /// locally added CA is — or is missing.
    #[command(after_help = INSPECT_EXAMPLES)]
    Inspect(InspectArgs),
    /// Write the CAs into an unpacked root file system, as the image's own tools would.
    #[command(after_help = APPLY_EXAMPLES)]
    Apply(ApplyArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

const PLAN_EXAMPLES: &str = "\
Examples:
  trustbake plan --product enterprise --version 5.1
  trustbake plan --product enterprise --version v5.1.0 --ca corp-root.pem --json
  trustbake plan --product engine --version 0.9.4 --ca certs/ --ca extra.crt
  cat corp-root.pem | trustbake plan --product enterprise --version 4.5 --ca -
  trustbake plan --all
  trustbake plan --all --ca corp-root.pem --json";

const BAKE_EXAMPLES: &str = "\
Examples:
  trustbake bake --from oci:./enterprise:v5.1.0 --to oci:./enterprise:v5.1.0-corp --ca corp-root.pem
  trustbake bake --from docker-archive:base.tar --to docker-archive:corp.tar:anchore/enterprise:v5.1.0-corp --ca certs/
  trustbake bake --from oci-archive:base.tar --to oci:./out:corp --ca corp-root.pem --platform linux/amd64
  trustbake bake --from oci:./enterprise:v5.1.0 --to oci:./out:corp --ca corp-root.pem --dry-run --json
  trustbake bake -f images/enterprise.toml";

const INSPECT_EXAMPLES: &str = "\
Examples:
  trustbake inspect oci:./enterprise:v5.1.0-corp
  trustbake inspect docker-archive:corp.tar --json
  trustbake inspect oci:./multi:corp --platform linux/arm64
  trustbake inspect ./rootfs";

const APPLY_EXAMPLES: &str = "\
Examples:
  trustbake apply --root ./rootfs --ca corp-root.pem --dry-run
  trustbake apply --root ./rootfs --ca corp-root.pem --product enterprise --version 5.1
  trustbake apply --root ./rootfs --ca certs/ --json
  SOURCE_DATE_EPOCH=1700000000 trustbake apply --root ./rootfs --ca corp-root.pem";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  trustbake completions bash > /etc/bash_completion.d/trustbake
  trustbake completions zsh > \"${fpath[1]}/_trustbake\"
  trustbake completions fish > ~/.config/fish/completions/trustbake.fish";

/// The CA input, shared by every command that takes CAs.
#[derive(Debug, Args)]
struct CaArgs {
    /// CA certificates: PEM or DER files, directories of them, or - for stdin (repeatable).
    #[arg(long = "ca", value_name = "FILE", num_args = 1.., action = clap::ArgAction::Append)]
    cas: Vec<PathBuf>,

    /// Accept certificates that are not certificate authorities.
    #[arg(long)]
    allow_non_ca: bool,

    /// Accept certificates that are expired or not yet valid.
    #[arg(long)]
    allow_expired: bool,
}

impl CaArgs {
    /// Reads and validates the CAs (refusals exit with status 3).
    fn load(&self) -> Result<trustbake::Intake> {
        if self.cas.is_empty() {
            anyhow::bail!("no CA given: pass --ca FILE");
        }
        let mut policy = trustbake::strict_policy();
        policy.allow_non_ca = self.allow_non_ca;
        policy.allow_expired = self.allow_expired;
        let intake = trustbake::load_cas(&self.cas, policy)?;
        tracing::info!(cas = intake.cas().len(), "CA input accepted");
        Ok(intake)
    }
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// The Anchore product.
    #[arg(long, value_parser = ["engine", "enterprise"], required_unless_present = "all", requires = "version")]
    product: Option<String>,

    /// The product version: 5.1, 5.1.0, v5.1.0 or 5.1.0-rc1.
    #[arg(long, requires = "product")]
    version: Option<String>,

    /// Every release line of both products, as one table.
    #[arg(long, conflicts_with_all = ["product", "version"])]
    all: bool,

    #[command(flatten)]
    ca: CaArgs,

    /// Print the plan as JSON (the contract documented in the README).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct BakeArgs {
    /// The base image: oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:REPO:TAG].
    #[arg(long, value_name = "IMAGE", required_unless_present = "file")]
    from: Option<String>,

    /// The new image, same syntax (an existing OCI layout keeps its other tags).
    #[arg(long, value_name = "IMAGE", required_unless_present = "file")]
    to: Option<String>,

    #[command(flatten)]
    ca: CaArgs,

    /// A recipe (images/NAME.toml) with from, to, cas and optionally product, version, platform.
    #[arg(short = 'f', long = "file", value_name = "RECIPE")]
    file: Option<PathBuf>,

    /// The Anchore product, to compare the version map with what the image holds.
    #[arg(long, value_parser = ["engine", "enterprise"], requires = "version")]
    product: Option<String>,

    /// The product version (with --product).
    #[arg(long, requires = "product")]
    version: Option<String>,

    /// Only this platform of a multi-platform image (os/arch[/variant]).
    #[arg(long)]
    platform: Option<String>,

    /// Print everything bake would do, with the would-be digests; write nothing.
    #[arg(long)]
    dry_run: bool,

    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,

    /// Also patch pip's vendored certifi.
    #[arg(long)]
    include_vendored: bool,
}

#[derive(Debug, Args)]
struct InspectArgs {
    /// The image (oci:…, oci-archive:…, docker-archive:…) or an unpacked root directory.
    source: String,

    /// Only this platform (os/arch[/variant]).
    #[arg(long)]
    platform: Option<String>,

    /// Print the inspection as JSON.
    #[arg(long)]
    json: bool,
}

/// An image recipe (`images/NAME.toml`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Recipe {
    from: String,
    to: String,
    cas: Vec<PathBuf>,
    product: Option<String>,
    version: Option<String>,
    platform: Option<String>,
}

#[derive(Debug, Args)]
struct ApplyArgs {
    /// The unpacked root file system to write into.
    #[arg(long, value_name = "DIR")]
    root: PathBuf,

    #[command(flatten)]
    ca: CaArgs,

    /// The Anchore product, to compare the version map with what the root holds.
    #[arg(long, value_parser = ["engine", "enterprise"], requires = "version")]
    product: Option<String>,

    /// The product version (with --product).
    #[arg(long, requires = "product")]
    version: Option<String>,

    /// Print the plan and the report; write nothing.
    #[arg(long)]
    dry_run: bool,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,

    /// Also patch pip's vendored certifi.
    #[arg(long)]
    include_vendored: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<trustbake::IntakeError>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Plan(args) => plan(args),
        Command::Apply(args) => apply(args),
        Command::Bake(args) => bake(args),
        Command::Inspect(args) => inspect(args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "trustbake",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

fn plan(args: PlanArgs) -> Result<()> {
    let cas = if args.ca.cas.is_empty() {
        None
    } else {
        Some(args.ca.load()?)
    };
    let mut out = String::new();
    if args.all {
        let plans = trustbake::plan_all(cas.as_ref());
        if args.json {
            out = serde_json::to_string_pretty(&plans)? + "\n";
        } else {
            out = trustbake::render_table(&plans);
        }
    } else {
        // clap guarantees both with `requires` and `required_unless_present`.
        let (Some(product), Some(version)) = (args.product.as_deref(), args.version.as_deref())
        else {
            anyhow::bail!("--product and --version are required unless --all is given");
        };
        let plan = trustbake::plan(product, version, cas.as_ref())
            .with_context(|| format!("no plan for {product} {version}"))?;
        tracing::debug!(line = %plan.line, "resolved");
        if args.json {
            out = serde_json::to_string_pretty(&plan)? + "\n";
        } else {
            out.push_str(&plan.to_string());
        }
    }
    std::io::stdout()
        .write_all(out.as_bytes())
        .context("writing to stdout")
}

fn apply(args: ApplyArgs) -> Result<()> {
    let cas = args.ca.load()?;
    if !args.root.is_dir() {
        anyhow::bail!(
            "{}: not a directory (pass an unpacked root file system)",
            args.root.display()
        );
    }
    let target = args.product.as_deref().zip(args.version.as_deref());
    let (plan, report) = trustbake::plan_root(&args.root, &cas, target, args.include_vendored)
        .with_context(|| format!("planning into {}", args.root.display()))?;
    let warnings = if args.dry_run {
        Vec::new()
    } else {
        trustbake::apply_to_dir(&args.root, &plan)?
    };
    tracing::info!(
        entries = plan.items.len(),
        dry_run = args.dry_run,
        "applied"
    );
    let out = if args.json {
        let entries: Vec<serde_json::Value> = plan.items.iter().map(entry_json).collect();
        let value = serde_json::json!({
            "root": args.root.display().to_string(),
            "dry_run": args.dry_run,
            "detected": report.detected,
            "stores": report.stores,
            "notes": report.notes.iter().chain(cas.notes()).collect::<Vec<_>>(),
            "warnings": cas.warnings().iter().chain(&warnings).collect::<Vec<_>>(),
            "entries": entries,
        });
        serde_json::to_string_pretty(&value)? + "\n"
    } else {
        render_apply(&args, &plan, &report, &cas, &warnings)
    };
    std::io::stdout()
        .write_all(out.as_bytes())
        .context("writing to stdout")
}

fn bake(mut args: BakeArgs) -> Result<()> {
    if let Some(file) = &args.file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the recipe {}", file.display()))?;
        let recipe: Recipe = toml::from_str(&text)
            .with_context(|| format!("{}: not a valid recipe", file.display()))?;
        let dir = file
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        args.from = args.from.or(Some(rebase(&recipe.from, &dir)));
        args.to = args.to.or(Some(rebase(&recipe.to, &dir)));
        if args.ca.cas.is_empty() {
            args.ca.cas = recipe
                .cas
                .iter()
                .map(|c| {
                    if c.is_absolute() || c.as_os_str() == "-" {
                        c.clone()
                    } else {
                        dir.join(c)
                    }
                })
                .collect();
        }
        args.product = args.product.or(recipe.product);
        args.version = args.version.or(recipe.version);
        args.platform = args.platform.or(recipe.platform);
    }
    let (Some(from), Some(to)) = (args.from.as_deref(), args.to.as_deref()) else {
        anyhow::bail!("--from and --to are required (or a recipe with -f)");
    };
    let cas = args.ca.load()?;
    let request = trustbake::BakeRequest {
        from,
        to,
        cas: &cas,
        target: args.product.as_deref().zip(args.version.as_deref()),
        platform: args.platform.as_deref(),
        dry_run: args.dry_run,
        include_vendored: args.include_vendored,
        source_date_epoch: trustbake::source_date_epoch(),
        progress: None,
    };
    // Progress on stderr only when a person is watching it.
    let show = |message: &str| eprintln!("{message}");
    let request = trustbake::BakeRequest {
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr())
            .then_some(&show as &(dyn Fn(&str) + Sync)),
        ..request
    };
    let outcome = trustbake::bake(&request).with_context(|| format!("baking {from} into {to}"))?;
    let out = if args.json {
        serde_json::to_string_pretty(&outcome)? + "\n"
    } else {
        render_bake(&outcome, &cas)
    };
    std::io::stdout()
        .write_all(out.as_bytes())
        .context("writing to stdout")
}

fn inspect(args: InspectArgs) -> Result<()> {
    use std::fmt::Write as _;
    let found = trustbake::inspect(&args.source, args.platform.as_deref())
        .with_context(|| format!("inspecting {}", args.source))?;
    let out = if args.json {
        let value: Vec<serde_json::Value> = found
            .iter()
            .map(|(platform, i)| serde_json::json!({ "platform": platform, "inspection": i }))
            .collect();
        serde_json::to_string_pretty(&value)? + "\n"
    } else {
        let mut out = String::new();
        for (platform, i) in &found {
            let d = &i.detected;
            let _ = writeln!(
                out,
                "{}: {} layout (ID={} VERSION_ID={}), Python {}",
                platform.as_deref().unwrap_or(&args.source),
                d.family,
                d.os.id,
                d.os.version_id,
                d.python.as_deref().unwrap_or("not found")
            );
            let width = i.stores.iter().map(|s| s.path.len()).max().unwrap_or(0);
            for s in &i.stores {
                let unreadable = if s.unreadable > 0 {
                    format!(" ({} unreadable)", s.unreadable)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:<33} {:>4} certificates{unreadable}",
                    s.path, s.kind, s.certificates
                );
            }
            if i.local_cas.is_empty() {
                let _ = writeln!(out, "  no locally added CA");
            }
            for ca in &i.local_cas {
                let _ = writeln!(
                    out,
                    "  local CA '{}' sha256 {} ({})",
                    ca.label, ca.sha256, ca.source
                );
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
        }
        out
    };
    std::io::stdout()
        .write_all(out.as_bytes())
        .context("writing to stdout")
}

/// A recipe's image reference with a relative path made relative to the recipe's directory.
fn rebase(reference: &str, dir: &std::path::Path) -> String {
    match reference.split_once(':') {
        Some((transport, rest)) if !rest.starts_with('/') && !dir.as_os_str().is_empty() => {
            format!("{transport}:{}/{rest}", dir.display())
        }
        _ => reference.to_owned(),
    }
}

/// What happened in one store, in words: added, already present, skipped (with the first
/// reason), unreadable existing entries.
fn store_summary(store: &trustbake::store::StoreReport) -> Vec<String> {
    let mut parts = Vec::new();
    if !store.added.is_empty() {
        parts.push(format!("added {}", store.added.len()));
    }
    if !store.present.is_empty() {
        parts.push(format!("already present {}", store.present.len()));
    }
    if let Some((_, reason)) = store.skipped.first() {
        parts.push(format!("skipped {} ({reason})", store.skipped.len()));
    }
    if store.unreadable_existing > 0 {
        parts.push(format!(
            "{} existing blocks unreadable, kept",
            store.unreadable_existing
        ));
    }
    parts
}

fn render_bake(outcome: &trustbake::BakeOutcome, cas: &trustbake::Intake) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let verb = if outcome.dry_run {
        "dry run: would write"
    } else {
        "wrote"
    };
    let _ = writeln!(out, "{verb} {} {}", outcome.to, outcome.digest);
    if outcome.nothing_to_add {
        let _ = writeln!(
            out,
            "every store already trusts these CAs: no layer added, the image is unchanged"
        );
    }
    for p in &outcome.platforms {
        let d = &p.report.detected;
        let _ = writeln!(
            out,
            "\n{}: {} layout (ID={} VERSION_ID={}), Python {}",
            p.platform.as_deref().unwrap_or("image"),
            d.family,
            d.os.id,
            d.os.version_id,
            d.python.as_deref().unwrap_or("not found")
        );
        let _ = writeln!(out, "  manifest {}", p.manifest);
        if let Some(layer) = &p.layer {
            let _ = writeln!(out, "  new layer {} ({} bytes)", layer.digest, layer.size);
        }
        for store in &p.report.stores {
            let parts = store_summary(store);
            let _ = writeln!(
                out,
                "    {:<17} {}  {}",
                store.kind,
                store.store,
                parts.join(", ")
            );
        }
        for note in &p.report.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        if outcome.dry_run {
            for e in &p.entries {
                let what = match (e.size, &e.target) {
                    (Some(size), _) => format!("{size} bytes"),
                    (None, Some(t)) => format!("-> {t}"),
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
    for note in cas.notes() {
        let _ = writeln!(out, "note: {note}");
    }
    for warning in cas.warnings() {
        let _ = writeln!(out, "warning: {warning}");
    }
    out
}

fn entry_json(item: &trustbake::store::PlanItem) -> serde_json::Value {
    let (kind, detail) = match &item.content {
        trustbake::store::Content::File(bytes) => {
            ("file", serde_json::json!({ "size": bytes.len() }))
        }
        trustbake::store::Content::Symlink(target) => {
            ("symlink", serde_json::json!({ "target": target }))
        }
        trustbake::store::Content::Dir => ("dir", serde_json::json!({})),
    };
    let mut value = serde_json::json!({
        "path": item.path, "kind": kind, "mode": format!("{:04o}", item.meta.mode),
        "uid": item.meta.uid, "gid": item.meta.gid, "mtime": item.meta.mtime,
    });
    if let (Some(obj), Some(extra)) = (value.as_object_mut(), detail.as_object()) {
        obj.extend(extra.clone());
    }
    value
}

fn render_apply(
    args: &ApplyArgs,
    plan: &trustbake::store::Plan,
    report: &trustbake::store::Report,
    cas: &trustbake::Intake,
    warnings: &[String],
) -> String {
    use std::fmt::Write as _;
    let d = &report.detected;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} trust layout (os-release ID={} VERSION_ID={}), Python {}",
        args.root.display(),
        d.family,
        if d.os.id.is_empty() { "?" } else { &d.os.id },
        if d.os.version_id.is_empty() {
            "?"
        } else {
            &d.os.version_id
        },
        d.python.as_deref().unwrap_or("not found")
    );
    let width = report
        .stores
        .iter()
        .map(|s| s.store.len())
        .max()
        .unwrap_or(0);
    for store in &report.stores {
        let parts = store_summary(store);
        let _ = writeln!(
            out,
            "  {:<width$}  {:<17} {}",
            store.store,
            store.kind,
            parts.join(", ")
        );
    }
    for note in report.notes.iter().chain(cas.notes()) {
        let _ = writeln!(out, "note: {note}");
    }
    for warning in cas.warnings().iter().chain(warnings) {
        let _ = writeln!(out, "warning: {warning}");
    }
    let verb = if args.dry_run {
        "dry run: would write"
    } else {
        "wrote"
    };
    let _ = writeln!(
        out,
        "{verb} {} entries{}",
        plan.items.len(),
        if plan.is_empty() {
            " (nothing to do)"
        } else {
            ":"
        }
    );
    for item in &plan.items {
        let what = match &item.content {
            trustbake::store::Content::File(bytes) => format!("file  {} bytes", bytes.len()),
            trustbake::store::Content::Symlink(target) => format!("link  -> {target}"),
            trustbake::store::Content::Dir => "dir".to_owned(),
        };
        let _ = writeln!(
            out,
            "  {:04o} {}:{}  {}  {what}",
            item.meta.mode, item.meta.uid, item.meta.gid, item.path
        );
    }
    out
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRUSTBAKE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
