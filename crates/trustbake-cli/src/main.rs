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

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  trustbake completions bash > /etc/bash_completion.d/trustbake
  trustbake completions zsh > \"${fpath[1]}/_trustbake\"
  trustbake completions fish > ~/.config/fish/completions/trustbake.fish";

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

    /// CA certificates to plan for: PEM or DER files, directories of them, or - for stdin
    /// (repeatable).
    #[arg(long = "ca", value_name = "FILE", num_args = 1.., action = clap::ArgAction::Append)]
    cas: Vec<PathBuf>,

    /// Accept certificates that are not certificate authorities.
    #[arg(long)]
    allow_non_ca: bool,

    /// Accept certificates that are expired or not yet valid.
    #[arg(long)]
    allow_expired: bool,

    /// Print the plan as JSON (the contract documented in the README).
    #[arg(long)]
    json: bool,
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
    let cas = if args.cas.is_empty() {
        None
    } else {
        let mut policy = trustbake::strict_policy();
        policy.allow_non_ca = args.allow_non_ca;
        policy.allow_expired = args.allow_expired;
        let intake = trustbake::load_cas(&args.cas, policy)?;
        tracing::info!(cas = intake.cas().len(), "CA input accepted");
        Some(intake)
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
