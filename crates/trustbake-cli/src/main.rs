//! The `trustbake` command. Glue only: the arguments ([`args`]), the text output ([`render`]),
//! and exit codes over the `trustbake` library; every decision is made there.
//!
//! Exit codes: 0 done, 1 failed, 2 usage (including no CA given), 3 CA input refused — chosen by
//! the library's error ([`trustbake::Error::exit_code`]).

mod access;
mod args;
mod hints;
mod logging;
mod progress;
mod recipe;
mod render;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};
use serde::Serialize;

use access::{access, default_cache_dir, inspect_access, read_password};
use args::{
    ApplyArgs, BakeArgs, CaArgs, CacheArgs, CheckConfigArgs, Cli, Command, DockerfileArgs,
    HelmValuesArgs, InspectArgs, PlanArgs, ProxyEnvArgs, RegistryArgs, SecretArgs, SignArgs,
    SyncArgs, VerifyArgs, VerifyImageArgs,
};
use hints::hints;
use logging::init_logging;
use recipe::{SyncSource, read_recipe, read_sync_file};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // bake names a registry side in its flags (--src-…, --dest-…); the other commands reach
    // one registry (--cert-dir, --tls-verify, --creds).
    let sided = matches!(cli.command, Command::Bake(_));
    init_logging(cli.verbose);
    remove_temporaries_on_signals();
    match run(cli) {
        Ok(code) => code,
        Err(_) if SIGNALLED.load(std::sync::atomic::Ordering::SeqCst) => {
            // A signal is being handled: its handler removes the temporaries and exits with
            // 128 + the signal. This error is most likely its doing (a temporary removed under
            // the writer): the handler's exit is the one to give.
            loop {
                std::thread::park();
            }
        }
        Err(err) => {
            let library = err
                .chain()
                .find_map(|e| e.downcast_ref::<trustbake::Error>());
            eprintln!("error: {err:#}");
            for hint in library.map(|e| hints(e, sided)).unwrap_or_default() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(library.map_or(1, trustbake::Error::exit_code))
        }
    }
}

/// Set when a termination signal arrived (its handler is removing the temporaries).
static SIGNALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// On SIGINT, SIGTERM or SIGHUP, removes what trustbake was staging (a layout, an archive,
/// blobs, `apply`'s files) and exits with 128 + the signal, as a shell reports it.
fn remove_temporaries_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        tracing::warn!("no signal handler: an interrupted run may leave temporary files");
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            SIGNALLED.store(true, std::sync::atomic::Ordering::SeqCst);
            trustbake::process::remove_temporaries();
            std::process::exit(128 + signal);
        }
    });
}

fn run(cli: Cli) -> Result<ExitCode> {
    let done = |r: Result<()>| r.map(|()| ExitCode::SUCCESS);
    match cli.command {
        Command::Plan(args) => done(plan(args)),
        Command::Apply(args) => done(apply(args)),
        Command::Bake(args) => done(bake(*args)),
        Command::Inspect(args) => done(inspect(*args)),
        Command::Verify(args) => verify(*args),
        Command::VerifyImage(args) => verify_image(*args),
        Command::Sync(args) => sync(*args),
        Command::CheckConfig(args) => check_config(*args),
        Command::ProxyEnv(args) => done(proxy_env(*args)),
        Command::HelmValues(args) => done(helm_values(args)),
        Command::Dockerfile(args) => done(dockerfile(*args)),
        Command::Secret(args) => done(secret(args)),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "trustbake",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir } => done(man_pages(&dir)),
    }
}

/// The man pages of the command line, generated from its definition.
fn man_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cli = Cli::command();
    let write = |name: &str, cmd: clap::Command| -> Result<()> {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.bin_name(name).display_name(name))
            .title(name)
            .render(&mut page)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))
    };
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("trustbake-{}", sub.get_name());
        write(&name, sub.clone())?;
    }
    write("trustbake", cli)
}

/// Reads and validates the CAs.
fn load(ca: &CaArgs) -> Result<trustbake::Intake, trustbake::Error> {
    let mut policy = trustbake::Policy::at(trustbake::process::now());
    policy.allow_non_ca = ca.allow_non_ca;
    policy.allow_expired = ca.allow_expired;
    let intake = trustbake::load_cas(&ca.cas, policy)?;
    tracing::info!(cas = intake.cas().len(), "CA input accepted");
    Ok(intake)
}

/// The CAs to add and to remove: with `--remove` alone, no CA is added.
fn load_with_removals(
    ca: &CaArgs,
    remove: &[String],
) -> Result<(trustbake::Intake, Vec<trustbake::types::Removal>), trustbake::Error> {
    let removals = trustbake::load_removals(remove)?;
    let cas = if ca.cas.is_empty() && !removals.is_empty() {
        trustbake::Intake::default()
    } else {
        load(ca)?
    };
    Ok((cas, removals))
}

/// The target of `--product`/`--version`, when both are given (clap requires them together).
fn target(product: Option<&str>, version: Option<&str>) -> Result<Option<trustbake::Target>> {
    match (product, version) {
        (Some(product), Some(version)) => Ok(Some(trustbake::Target::parse(product, version)?)),
        _ => Ok(None),
    }
}

/// An image reference as messages show it: credentials given in a `docker://USER:PASS@HOST/…`
/// reference (which is refused) never repeated.
fn shown(reference: &str) -> String {
    let bare = reference.strip_prefix("docker://").unwrap_or(reference);
    let host = bare.split('/').next().unwrap_or_default();
    match host.rsplit_once('@') {
        Some((_, after)) if bare.contains('/') => {
            format!("docker://<credentials>@{after}{}", &bare[host.len()..])
        }
        _ => reference.to_owned(),
    }
}

/// Prints the outcome as JSON, or as the text `text` renders.
fn print<T: Serialize>(outcome: &T, json: bool, text: impl FnOnce(&T) -> String) -> Result<()> {
    let out = if json {
        serde_json::to_string_pretty(outcome)? + "\n"
    } else {
        text(outcome)
    };
    std::io::stdout()
        .write_all(out.as_bytes())
        .context("writing to stdout")
}

fn plan(args: PlanArgs) -> Result<()> {
    let cas = if args.ca.cas.is_empty() {
        None
    } else {
        Some(load(&args.ca)?)
    };
    if args.all {
        let plans = trustbake::plan_all(cas.as_ref());
        return print(&plans, args.json, |p| render::plan_table(&p.lines));
    }
    if let Some(image) = &args.image {
        let plan = trustbake::plan_image(image, cas.as_ref())
            .with_context(|| format!("no plan for {}", shown(image)))?;
        return print(&plan, args.json, render::plan);
    }
    let (product, version) = (args.product.as_deref(), args.version.as_deref());
    let context = || {
        format!(
            "no plan for {} {}",
            product.unwrap_or_default(),
            version.unwrap_or_default()
        )
    };
    let target = target(product, version)
        .with_context(context)?
        .context("--product and --version are required unless --all is given")?;
    let plan = trustbake::plan(&target, cas.as_ref()).with_context(context)?;
    tracing::debug!(line = %plan.line, "resolved");
    print(&plan, args.json, render::plan)
}

fn apply(args: ApplyArgs) -> Result<()> {
    let (cas, removals) = load_with_removals(&args.ca, &args.write.remove)?;
    let mut request = trustbake::ApplyRequest::new(&args.root, &cas, trustbake::process::now())
        .source_date_epoch(trustbake::process::source_date_epoch())
        .remove(removals);
    if let Some(target) = target(args.write.product.as_deref(), args.write.version.as_deref())? {
        request = request.target(target);
    }
    if args.write.include_vendored {
        request = request.include_vendored();
    }
    if !args.write.bundle.is_empty() {
        request = request.bundles(&args.write.bundle)?;
    }
    let outcome = if args.write.dry_run {
        trustbake::apply_preview(&request)
    } else {
        trustbake::apply(&request)
    }
    .with_context(|| format!("applying to {}", args.root.display()))?;
    tracing::info!(
        entries = outcome.entries.len(),
        dry_run = args.write.dry_run,
        "applied"
    );
    print(&outcome, args.write.json, render::apply)
}

fn bake(mut args: BakeArgs) -> Result<()> {
    if !args.stray.is_empty() {
        let (from, to) = match args.stray.as_slice() {
            [from, to] => (from.as_str(), to.as_str()),
            [from] => (from.as_str(), "DST"),
            _ => ("SRC", "DST"),
        };
        return Err(trustbake::Error::BadArgument {
            what: "images".into(),
            reason: format!(
                "bake names its images with options, not in place (as skopeo copy SRC DST does): trustbake bake --from {from} --to {to} --ca FILE"
            ),
        }
        .into());
    }
    if let Some(file) = args.file.clone() {
        read_recipe(&file, &mut args)?;
    }
    let (Some(from), Some(to)) = (args.from.as_deref(), args.to.as_deref()) else {
        anyhow::bail!("--from and --to are required (or a recipe with -f)");
    };
    let (cas, removals) = load_with_removals(&args.ca, &args.write.remove)?;
    let mut request = trustbake::BakeRequest::new(from, to, &cas)?
        .source_date_epoch(trustbake::process::source_date_epoch())
        .remove(removals);
    if args.keep_baked_cas {
        request = request.keep_baked_cas();
    }
    if let Some(target) = target(args.write.product.as_deref(), args.write.version.as_deref())? {
        request = request.target(target);
    }
    if let Some(platform) = &args.platform {
        request = request.platform(platform.parse().map_err(trustbake::Error::from)?);
    }
    if args.write.include_vendored {
        request = request.include_vendored();
    }
    if !args.write.bundle.is_empty() {
        request = request.bundles(&args.write.bundle)?;
    }
    if let Some(dir) = cache_dir(&args.cache) {
        request = request.cache_dir(dir);
    }
    if let Some(repo) = &args.cache.cache_repo {
        request = request.cache_repo(repo)?;
    }
    let (source, destination) = registry_access(&args.registry, &cas)?;
    request = request
        .source_access(source)
        .destination_access(destination);
    if let Some(signing) = signing(&args.sign)? {
        request = request.sign(signing);
    }
    // Progress on stderr only when a person is watching it: messages, and a bar per blob.
    let bars = std::sync::Arc::new(progress::Bars::new());
    let show = |message: &str| bars.message(message);
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let for_transfers = std::sync::Arc::clone(&bars);
        request = request
            .progress(&show)
            .transfer_progress(std::sync::Arc::new(
                move |p: &trustbake::registry::Progress<'_>| for_transfers.update(p),
            ));
    }
    let outcome = if args.write.dry_run {
        trustbake::preview(&request)
    } else {
        trustbake::bake(&request)
    }
    .with_context(|| format!("baking {from} into {to}"))?;
    print(&outcome, args.write.json, render::bake)
}

/// The scan cache directory the flags give (none with `--no-cache`).
fn cache_dir(cache: &CacheArgs) -> Option<std::path::PathBuf> {
    if cache.no_cache {
        None
    } else {
        cache.cache_dir.clone().or_else(default_cache_dir)
    }
}

/// Each side's registry access from the registry flags (`--registry-trust-ca` adds the CAs
/// given to both sides' trust).
fn registry_access(
    r: &RegistryArgs,
    cas: &trustbake::Intake,
) -> Result<(trustbake::registry::Access, trustbake::registry::Access)> {
    let extra_roots: Vec<Vec<u8>> = if r.registry_trust_ca {
        cas.cas()
            .iter()
            .map(|ca| ca.certificate.der().to_vec())
            .collect()
    } else {
        Vec::new()
    };
    let source = access(
        r.src_authfile.as_ref().or(r.authfile.as_ref()),
        r.src_creds.as_deref(),
        r.src_password_file.as_deref(),
        r.src_no_creds,
        r.src_cert_dir.clone(),
        r.src_tls_verify,
        extra_roots.clone(),
    )?
    .with_limits(r.network.limits());
    let destination = access(
        r.dest_authfile.as_ref().or(r.authfile.as_ref()),
        r.dest_creds.as_deref(),
        r.dest_password_file.as_deref(),
        r.dest_no_creds,
        r.dest_cert_dir.clone(),
        r.dest_tls_verify,
        extra_roots,
    )?
    .with_limits(r.network.limits());
    Ok((source, destination))
}

fn sync(args: SyncArgs) -> Result<ExitCode> {
    if args.write.product.is_some() {
        return Err(trustbake::Error::BadArgument {
            what: "--product/--version".into(),
            reason: "sync reads each tag's product and version from its name".into(),
        }
        .into());
    }
    let sources = match &args.file {
        Some(file) => read_sync_file(file)?,
        None => vec![SyncSource {
            name: None,
            from: args.from.clone().unwrap_or_default(),
            to: args.to.clone().unwrap_or_default(),
            tags: args.tags.clone(),
            semver: args.semver.clone(),
            cas: args.ca.cas.clone(),
            remove: args.write.remove.clone(),
            platform: args.platform.clone(),
            bundles: args.write.bundle.clone(),
        }],
    };
    let signing = signing(&args.sign)?;
    let mut outcomes = Vec::new();
    let mut source_failed = false;
    for mut source in sources {
        // Flags given on the command line apply to every source of a file.
        if args.file.is_some() {
            source.tags = args.tags.clone().or(source.tags);
            source.semver = args.semver.clone().or(source.semver);
            source.platform = args.platform.clone().or(source.platform);
            if !args.ca.cas.is_empty() {
                source.cas = args.ca.cas.clone();
            }
            if !args.write.remove.is_empty() {
                source.remove = args.write.remove.clone();
            }
            if !args.write.bundle.is_empty() {
                source.bundles = args.write.bundle.clone();
            }
        }
        let result =
            sync_source(&args, &source, signing.clone()).with_context(|| match &source.name {
                Some(name) => format!("syncing [sources.{name}]: {}", shown(&source.from)),
                None => format!("syncing {} into {}", shown(&source.from), source.to),
            });
        match result {
            Ok(outcome) => outcomes.push((source.name, outcome)),
            // With --keep-going, a source that cannot be synced at all does not stop the others.
            Err(e) if args.keep_going && args.file.is_some() => {
                eprintln!("error: {e:#}");
                source_failed = true;
            }
            Err(e) => return Err(e),
        }
    }
    let failed = source_failed || outcomes.iter().any(|(_, o)| o.summary.failed > 0);
    if args.file.is_some() {
        let sources: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|(name, o)| serde_json::json!({ "name": name, "outcome": o }))
            .collect();
        let document = serde_json::json!({ "schema_version": 1, "sources": sources });
        print(&document, args.write.json, |_| {
            outcomes
                .iter()
                .map(|(name, o)| {
                    format!(
                        "== {}: {} -> {}\n{}",
                        name.as_deref().unwrap_or_default(),
                        o.from,
                        o.to,
                        render::sync(o)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })?;
    } else if let Some((_, outcome)) = outcomes.first() {
        print(outcome, args.write.json, render::sync)?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One source's sync.
fn sync_source(
    args: &SyncArgs,
    source: &SyncSource,
    signing: Option<trustbake::signing::Signing>,
) -> Result<trustbake::sync::SyncOutcome> {
    let ca = CaArgs {
        cas: source.cas.clone(),
        allow_non_ca: args.ca.allow_non_ca,
        allow_expired: args.ca.allow_expired,
    };
    let (cas, removals) = load_with_removals(&ca, &source.remove)?;
    let mut request = trustbake::sync::SyncRequest::new(&source.from, &source.to, &cas)?
        .remove(removals)
        .source_date_epoch(trustbake::process::source_date_epoch())
        .jobs(args.jobs);
    if let Some(tags) = &source.tags {
        request = request.tags(tags)?;
    }
    if let Some(range) = &source.semver {
        request = request.semver(range)?;
    }
    if let Some(platform) = &source.platform {
        request = request.platform(platform.parse().map_err(trustbake::Error::from)?);
    }
    if args.write.include_vendored {
        request = request.include_vendored();
    }
    if !source.bundles.is_empty() {
        request = request.bundles(&source.bundles)?;
    }
    if args.keep_going {
        request = request.keep_going();
    }
    if let Some(dir) = cache_dir(&args.cache) {
        request = request.cache_dir(dir);
    }
    if let Some(repo) = &args.cache.cache_repo {
        request = request.cache_repo(repo)?;
    }
    let (src, dest) = registry_access(&args.registry, &cas)?;
    request = request.source_access(src).destination_access(dest);
    if let Some(signing) = signing {
        request = request.sign(signing);
    }
    Ok(if args.write.dry_run {
        trustbake::sync::sync_preview(&request)
    } else {
        trustbake::sync::sync(&request)
    }?)
}

/// The signing a bake's flags ask for: the key, its password from --sign-passphrase-file or
/// COSIGN_PASSWORD (as cosign reads it), attesting and per-platform signatures.
fn signing(args: &SignArgs) -> Result<Option<trustbake::signing::Signing>> {
    let Some(path) = &args.sign_by_sigstore_private_key else {
        return Ok(None);
    };
    let password = match (&args.sign_passphrase_file, std::env::var("COSIGN_PASSWORD")) {
        (Some(file), _) => Some(read_password(Some(file))?),
        (None, Ok(password)) => Some(password),
        (None, Err(_)) => None,
    };
    let key = trustbake::signing::load_key(path, password.as_deref().map(str::as_bytes))?;
    let mut signing = trustbake::signing::Signing::new(key);
    if args.attest {
        signing = signing.attest();
    }
    if args.sign_platforms {
        signing = signing.platforms();
    }
    Ok(Some(signing))
}

fn verify_image(args: VerifyImageArgs) -> Result<ExitCode> {
    let key = trustbake::signing::load_public_key(&args.key)?;
    let access = inspect_access(&args.registry)?;
    let request = trustbake::signing::VerifyImageRequest::new(&args.image, key)
        .access(access)
        .base(args.base.clone());
    let outcome = trustbake::signing::verify_image(&request)
        .with_context(|| format!("verifying the signatures of {}", shown(&args.image)))?;
    print(&outcome, args.json, render::verify_image)?;
    Ok(if outcome.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn inspect(args: InspectArgs) -> Result<()> {
    let platform: Option<trustbake::Platform> = match &args.platform {
        Some(p) => Some(p.parse().map_err(trustbake::Error::from)?),
        None => None,
    };
    let access = inspect_access(&args.registry)?;
    let outcome = trustbake::inspect_with(&args.source, platform.as_ref(), &access)
        .with_context(|| format!("inspecting {}", shown(&args.source)))?;
    print(&outcome, args.json, render::inspect)
}

fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let platform: Option<trustbake::Platform> = match &args.platform {
        Some(p) => Some(p.parse().map_err(trustbake::Error::from)?),
        None => None,
    };
    let at = match &args.at {
        Some(text) => trustbake::process::parse_time(text)?,
        None => trustbake::process::now(),
    };
    let mut env = trustbake::types::Env::new();
    for var in &args.env {
        let (k, v) = var
            .split_once('=')
            .ok_or_else(|| trustbake::Error::BadArgument {
                what: "--env".into(),
                reason: format!("'{var}' is not NAME=VALUE"),
            })?;
        env.insert(k.to_owned(), v.to_owned());
    }
    let (chain, from, hostname) = match (&args.chain, &args.url) {
        (Some(file), _) => {
            let (chain, notes) = trustbake::chain::load_chain(file)?;
            for note in notes {
                eprintln!("note: {}: {note}", file.display());
            }
            (chain, file.display().to_string(), args.hostname.clone())
        }
        (None, Some(url)) => {
            let (host, _) = trustbake::chain::parse_url(url)?;
            let hostname = args.hostname.clone().unwrap_or(host);
            let chain = trustbake::chain::fetch_chain(url, Some(&hostname))?;
            (chain, url.clone(), Some(hostname))
        }
        (None, None) => unreachable!("clap requires --chain or --url"),
    };
    let runtime = match &args.runtime_certs {
        Some(dir) => Some(trustbake::chain::load_runtime_certs(dir)?),
        None => None,
    };
    let access = inspect_access(&args.registry)?;
    let request = trustbake::VerifyRequest::new(&args.source, chain, &from, at)
        .hostname(hostname)
        .platform(platform)
        .access(access)
        .runtime_certs(runtime)
        .env(env);
    let outcome = trustbake::verify(&request)
        .with_context(|| format!("verifying against {}", shown(&args.source)))?;
    print(&outcome, args.json, render::verify)?;
    Ok(if outcome.trusted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check_config(args: CheckConfigArgs) -> Result<ExitCode> {
    let at = match &args.at {
        Some(text) => trustbake::process::parse_time(text)?,
        None => trustbake::process::now(),
    };
    let platform: Option<trustbake::Platform> = match &args.platform {
        Some(p) => Some(p.parse().map_err(trustbake::Error::from)?),
        None => None,
    };
    let vars = anchore_vars(args.env_file.as_deref())?;
    let mut cas = Vec::new();
    for file in &args.ca {
        cas.extend(trustbake::chain::read_certificates(file)?);
    }
    let access = inspect_access(&args.registry)?;
    let mut request = trustbake::CheckConfigRequest::new(&args.config, at)
        .vars(vars)
        .image(args.image.clone(), platform, access)
        .cas(cas)
        .warn_days(args.warn_days);
    if let Some(dir) = &args.config_dir {
        request = request.mount("/config", dir);
    }
    for m in &args.mount {
        let (host, container) = m
            .split_once(':')
            .filter(|(h, c)| !h.is_empty() && c.starts_with('/'))
            .ok_or_else(|| trustbake::Error::BadArgument {
                what: "--mount".into(),
                reason: format!("'{m}' is not HOST_DIR:/CONTAINER_DIR"),
            })?;
        request = request.mount(container, Path::new(host));
    }
    let outcome = trustbake::check_config(&request)
        .with_context(|| format!("checking {}", args.config.display()))?;
    print(&outcome, args.json, render::check_config)?;
    Ok(if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn dockerfile(args: DockerfileArgs) -> Result<()> {
    let (cas, removals) = load_with_removals(&args.ca, &args.remove)?;
    let base = match (&args.product, &args.version, &args.from) {
        (Some(product), Some(version), _) => {
            let target = trustbake::Target::parse(product, version)?;
            let image = args.base_image.clone().unwrap_or_else(|| {
                let v = &target.version;
                format!(
                    "docker.io/anchore/{}:v{}.{}.{}",
                    if product == "engine" {
                        "anchore-engine"
                    } else {
                        "enterprise"
                    },
                    v.major,
                    v.minor,
                    v.patch
                )
            });
            trustbake::DockerfileBase::Release { target, image }
        }
        (_, _, Some(from)) => {
            let platform: Option<trustbake::Platform> = match &args.platform {
                Some(p) => Some(p.parse().map_err(trustbake::Error::from)?),
                None => None,
            };
            let access = inspect_access(&args.registry)?;
            trustbake::DockerfileBase::Image {
                reference: from.clone(),
                platform,
                access,
            }
        }
        _ => unreachable!("clap requires --product/--version or --from"),
    };
    let outcome = trustbake::dockerfile(&base, &cas, &removals, &args.output)?;
    let mut out = format!(
        "wrote {} ({})
",
        args.output.display(),
        outcome.layout_from
    );
    for f in &outcome.files {
        out.push_str(&format!("  {f}\n"));
    }
    out.push_str(&format!(
        "build it with: buildah build -t IMAGE {}\n",
        args.output.display()
    ));
    std::io::stdout()
        .write_all(out.as_bytes())
        .context("writing to stdout")
}

/// The Big Bang release or package `--bigbang-version`/`--package-version` name.
/// The chart `--chart` names, and for Big Bang the release or package
/// `--bigbang-version`/`--package-version` name (refused without `--chart bigbang`).
fn chart_and_bigbang(
    chart: Option<&str>,
    bigbang: &args::BigBangArgs,
) -> Result<(Option<trustbake::deploy::Chart>, trustbake::deploy::BigBang)> {
    use trustbake::deploy::{BigBang, Chart};
    let chart: Option<Chart> = chart.map(str::parse).transpose()?;
    let (release, package) = (&bigbang.bigbang_version, &bigbang.package_version);
    if chart != Some(Chart::BigBang) && (release.is_some() || package.is_some()) {
        return Err(trustbake::Error::BadArgument {
            what: if release.is_some() {
                "--bigbang-version"
            } else {
                "--package-version"
            }
            .into(),
            reason: "it applies to --chart bigbang only".into(),
        }
        .into());
    }
    let which = match (release, package) {
        (Some(r), _) => BigBang::Release(r.clone()),
        (None, Some(p)) => BigBang::Package(p.clone()),
        (None, None) => BigBang::Current,
    };
    Ok((chart, which))
}

fn helm_values(args: HelmValuesArgs) -> Result<()> {
    let (chart, bigbang) = chart_and_bigbang(args.chart.as_deref(), &args.bigbang)?;
    let mut request =
        trustbake::deploy::HelmValuesRequest::new(args.image.clone()).bigbang(bigbang);
    if let Some(component) = &args.component {
        let component: trustbake::types::Component =
            component.parse().map_err(trustbake::Error::from)?;
        request = request.component(component);
    }
    if let Some(chart) = chart {
        request = request.chart(chart);
    }
    if let Some(name) = &args.cert_store_secret {
        request = request.cert_store_secret(name);
    }
    let text = trustbake::deploy::helm_values(&request)?;
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("writing to stdout")
}

fn secret(args: SecretArgs) -> Result<()> {
    let cas = load(&args.ca)?;
    let (chart, release) = chart_and_bigbang(args.chart.as_deref(), &args.bigbang)?;
    let text = trustbake::deploy::ca_secret(
        &cas,
        &args.name,
        args.namespace.as_deref(),
        chart.map(|c| (c, &release)),
    )?;
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("writing to stdout")
}

fn proxy_env(args: ProxyEnvArgs) -> Result<()> {
    let format: trustbake::proxy::ProxyFormat = args.format.parse()?;
    let password = match &args.password_file {
        Some(file) => Some(read_password(Some(file))?),
        None => None,
    };
    let vars = anchore_vars(args.env_file.as_deref())?;
    let request = trustbake::proxy::ProxyEnvRequest::new(&args.proxy)
        .credentials(args.user.clone(), password)
        .config(args.config.as_deref(), vars)
        .no_proxy(args.no_proxy.clone())
        .secret_name(&args.secret_name);
    let env = trustbake::proxy::proxy_env(&request)?;
    if env.credentials {
        eprintln!(
            "note: the output holds the proxy password; keep it in a Secret or an env file only you can read. Baking proxy credentials into an image is refused: no option of trustbake does that, by design."
        );
    }
    std::io::stdout()
        .write_all(env.render(format).as_bytes())
        .context("writing to stdout")
}

/// The `${ANCHORE_…}` variables as Anchore finds them: the env file's, then this environment's
/// `ANCHORE*` ones, which win.
fn anchore_vars(env_file: Option<&Path>) -> Result<std::collections::BTreeMap<String, String>> {
    let mut vars = match env_file {
        Some(file) => trustbake::read_env_file(file)?,
        None => Default::default(),
    };
    vars.extend(std::env::vars().filter(|(k, _)| k.starts_with("ANCHORE")));
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
