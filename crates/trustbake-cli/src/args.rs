//! The command line's arguments: every subcommand and flag, with its help and examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Bake custom CA certificates into Anchore container images — OS trust store and Python
/// certifi — without a Docker daemon.
#[derive(Debug, Parser)]
#[command(name = "trustbake", version, max_term_width = 100)]
pub(crate) struct Cli {
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show which paths trustbake would write for an Anchore release (a dry run: no image needed).
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// Bake the CAs into an image as one new layer on the untouched base (no daemon needed).
    #[command(after_help = BAKE_EXAMPLES)]
    Bake(Box<BakeArgs>),
    /// Show what an image (or an unpacked root) trusts: every store, its count, and where each
    /// locally added CA is — or is missing.
    #[command(after_help = INSPECT_EXAMPLES)]
    Inspect(Box<InspectArgs>),
    /// Will the image trust this server? Each TLS client in the image (requests, OpenSSL,
    /// curl, Go, Java, Node) judged from the stores it reads. Exit 0 only when all trust it.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(Box<VerifyArgs>),
    /// Check the TLS settings of an Anchore config.yaml, service by service: certificate, key,
    /// chain, host name, key usage — and with --image, that every client of the image trusts
    /// every service. Exit 1 when any check fails.
    #[command(name = "check-config", after_help = CHECK_CONFIG_EXAMPLES)]
    CheckConfig(Box<CheckConfigArgs>),
    /// Print Anchore's proxy settings (https_proxy, http_proxy, no_proxy) with the credentials
    /// percent-encoded and every service endpoint in no_proxy: as a .env file, a compose
    /// block, Helm extraEnv entries or a Kubernetes Secret.
    #[command(name = "proxy-env", after_help = PROXY_ENV_EXAMPLES)]
    ProxyEnv(Box<ProxyEnvArgs>),
    /// Write a Containerfile and its build context that do what bake does, for a release or for
    /// the layout detected in an image (for pipelines that must build themselves).
    #[command(after_help = DOCKERFILE_EXAMPLES)]
    Dockerfile(Box<DockerfileArgs>),
    /// Print the Helm values that deploy an image with Anchore's charts (anchore/enterprise and
    /// the older anchore-engine chart).
    #[command(name = "helm-values", after_help = HELM_VALUES_EXAMPLES)]
    HelmValues(HelmValuesArgs),
    /// Keep every matching upstream tag baked: each new or moved tag (or a changed recipe)
    /// baked, every other one left alone after reading its manifests only.
    #[command(after_help = SYNC_EXAMPLES)]
    Sync(Box<SyncArgs>),
    /// Is this image signed by the key, attested, and exactly its attested base plus the
    /// attested trust-store layer? Exit 0 only when all three hold; every difference is named.
    #[command(name = "verify-image", after_help = VERIFY_IMAGE_EXAMPLES)]
    VerifyImage(Box<VerifyImageArgs>),
    /// Print a Kubernetes Secret of CAs for the charts' runtime mount (certStoreSecretName).
    #[command(after_help = SECRET_EXAMPLES)]
    Secret(SecretArgs),
    /// Write the CAs into an unpacked root file system, as the image's own tools would.
    #[command(after_help = APPLY_EXAMPLES)]
    Apply(ApplyArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write the man pages (trustbake.1 and one trustbake-COMMAND.1 per command) into a
    /// directory.
    Man {
        /// The directory (created when missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
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

const VERIFY_EXAMPLES: &str = "\
Examples:
  trustbake verify docker://harbor.corp/anchore/enterprise:v5.1.0-corp --url https://registry.corp:5000
  trustbake verify oci:./out:corp --chain server-chain.pem --hostname registry.corp
  trustbake verify oci:./out:corp --url https://10.0.0.5:8443 --hostname feeds.corp --json
  trustbake verify oci:./enterprise:v5.1.0 --url https://registry.corp --runtime-certs ./certs/
  trustbake verify rootfs/ --chain chain.pem --hostname ldap.corp --at 2027-01-01T00:00:00Z

Exit status: 0 every consumer trusts the chain, 1 at least one does not (or a failure),
2 usage, 3 the chain could not be read.";

const SYNC_EXAMPLES: &str = "\
Examples:
  trustbake sync --from docker://docker.io/anchore/enterprise --tags '^v5\\.' \\
      --to 'docker://harbor.corp/anchore/enterprise:{tag}-corp' --ca corp-root.pem
  trustbake sync --from docker://registry1.dso.mil/ironbank/anchore/enterprise/enterprise \\
      --semver '>=5.20, <6' --to 'docker://harbor.corp/anchore/enterprise:{major}.{minor}-corp' \\
      --ca corp-root.pem --sign-by-sigstore-private-key cosign.key --attest --keep-going --jobs 2
  trustbake sync -f sync.toml --keep-going
  trustbake sync --from docker://docker.io/anchore/enterprise --tags '^v5\\.23' \\
      --to 'docker://harbor.corp/anchore/enterprise:{tag}-corp' --ca corp-root.pem --dry-run

A destination tag is up to date when its manifests record the upstream digest and the recipe
(CAs, removals, options, signing) it was baked with: then only manifests are read.
Exit status: 0 every selected tag up to date or baked, 1 a tag failed, 2 usage.";

const VERIFY_IMAGE_EXAMPLES: &str = "\
Examples:
  trustbake verify-image --key cosign.pub docker://harbor.corp/anchore/enterprise:v5.23.0-corp
  trustbake verify-image --key cosign.pub oci:./out:corp --json
  trustbake verify-image --key cosign.pub docker://harbor.corp/anchore/enterprise:v5.23.0-corp \\
      --base docker://mirror.corp/anchore/enterprise:v5.23.0

Exit status: 0 signed, attested and exactly the attested base plus the attested layer;
1 not (every reason printed); 2 usage.";

const CHECK_CONFIG_EXAMPLES: &str = "\
Examples:
  trustbake check-config ./config/config.yaml
  trustbake check-config ./config/config.yaml --image docker://harbor.corp/anchore/enterprise:v5.1.0-corp
  trustbake check-config deploy/config.yaml --config-dir deploy/certs --env-file anchore.env --json
  trustbake check-config config.yaml --mount ./tls:/etc/anchore/tls --ca corp-root.pem --warn-days 60

Paths in the config are container paths: /config is read from the config file's directory (or
--config-dir); other directories need --mount HOST_DIR:CONTAINER_DIR. ${ANCHORE_...} variables
are replaced from this environment and --env-file, as Anchore does.
Exit status: 0 no check failed, 1 a check failed, 2 usage, 3 the config cannot be read.";

const PROXY_ENV_EXAMPLES: &str = "\
Examples:
  trustbake proxy-env --proxy http://proxy.corp:3128 --config ./config/config.yaml
  trustbake proxy-env --proxy http://proxy.corp:3128 --user svc-anchore --password-file proxy.pass --format k8s
  trustbake proxy-env --proxy http://proxy.corp:3128 --user svc-anchore --password-file - --format helm < proxy.pass
  trustbake proxy-env --proxy http://10.0.0.1:8080 --no-proxy registry.corp,.svc.cluster.local --format compose

The password is read from a file or stdin, never from the command line. Proxy credentials are
never baked into an image: no option of trustbake does that, by design.";

const DOCKERFILE_EXAMPLES: &str = "\
Examples:
  trustbake dockerfile --product enterprise --version 5.1 --ca corp-root.pem -o build/
  trustbake dockerfile --from docker://docker.io/anchore/enterprise:v5.1.0 --ca certs/ -o build/
  buildah build -t harbor.corp/anchore/enterprise:v5.1.0-corp build/";

const HELM_VALUES_EXAMPLES: &str = "\
Examples:
  trustbake helm-values --image harbor.corp/anchore/enterprise:v5.1.0-corp
  trustbake helm-values --image harbor.corp/anchore/enterprise@sha256:0f3c… > corp-values.yaml
  trustbake helm-values --image harbor.corp/anchore/enterprise-ui:v5.1.0-corp --component ui
  trustbake helm-values --chart bigbang \
      --image harbor.corp/ironbank/anchore/enterprise/enterprise:5.23.0-corp \
      --image harbor.corp/ironbank/anchore/enterpriseui/enterpriseui:5.23.0-corp > bigbang-anchore.yaml
  trustbake helm-values --chart bigbang --bigbang-version 2.53.0 --image harbor.corp/anchore/enterprise:v5.3.0-corp";

const SECRET_EXAMPLES: &str = "\
Examples:
  trustbake secret --ca corp-root.pem --name anchore-certs --namespace anchore | kubectl apply -f -
  trustbake secret --ca certs/ --name anchore-certs
  trustbake secret --ca corp-root.pem --chart bigbang | kubectl apply -f -

The same strict CA intake as bake. The Secret reaches requests and Go only, through the image's
entrypoint; a baked image reaches every store.";

const BAKE_EXAMPLES: &str = "\
Examples:
  trustbake bake --from docker://docker.io/anchore/enterprise:v5.1.0 --to docker://harbor.corp/anchore/enterprise:v5.1.0-corp --ca corp-root.pem
  trustbake bake --from docker://harbor.corp/anchore/enterprise:v5.1.0 --to docker://harbor.corp/anchore/enterprise:v5.1.0-corp --ca corp-root.pem --registry-trust-ca
  trustbake bake --from oci:./enterprise:v5.1.0 --to oci:./enterprise:v5.1.0-corp --ca corp-root.pem
  trustbake bake --from docker-archive:base.tar --to docker-archive:corp.tar:anchore/enterprise:v5.1.0-corp --ca certs/
  trustbake bake --from oci-archive:base.tar --to oci:./out:corp --ca corp-root.pem --platform linux/amd64
  trustbake bake --from oci:./enterprise:v5.1.0 --to oci:./out:corp --ca corp-root.pem --dry-run --json
  trustbake bake -f images/enterprise.toml
  COSIGN_PASSWORD=… trustbake bake --from docker://docker.io/anchore/enterprise:v5.1.0 --to docker://harbor.corp/anchore/enterprise:v5.1.0-corp --ca corp-root.pem --sign-by-sigstore-private-key cosign.key --attest";

const INSPECT_EXAMPLES: &str = "\
Examples:
  trustbake inspect oci:./enterprise:v5.1.0-corp
  trustbake inspect docker://harbor.corp/anchore/enterprise:v5.1.0-corp --authfile auth.json
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
pub(crate) struct CaArgs {
    /// CA certificates: PEM or DER files, directories of them, or - for stdin (repeatable).
    #[arg(long = "ca", value_name = "FILE", num_args = 1.., action = clap::ArgAction::Append)]
    pub(crate) cas: Vec<PathBuf>,

    /// Accept certificates that are not certificate authorities.
    #[arg(long)]
    pub(crate) allow_non_ca: bool,

    /// Accept certificates that are expired or not yet valid.
    #[arg(long)]
    pub(crate) allow_expired: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The Anchore product.
    #[arg(long, value_parser = ["engine", "enterprise"], required_unless_present_any = ["all", "image"], requires = "version")]
    pub(crate) product: Option<String>,

    /// The product version: 5.1, 5.1.0, v5.1.0 or 5.1.0-rc1.
    #[arg(long, requires = "product")]
    pub(crate) version: Option<String>,

    /// Every release line of both products, as one table.
    #[arg(long, conflicts_with_all = ["product", "version"])]
    pub(crate) all: bool,

    /// The product and version an image's name gives, in Docker Hub's naming
    /// (anchore/enterprise:v5.23.0) or Iron Bank's
    /// (registry1.dso.mil/ironbank/anchore/enterprise/enterprise:5.23.0). Nothing is fetched.
    #[arg(long, value_name = "IMAGE", conflicts_with_all = ["product", "version", "all"])]
    pub(crate) image: Option<String>,

    #[command(flatten)]
    pub(crate) ca: CaArgs,

    /// Print the plan as JSON (the contract documented in the README).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BakeArgs {
    /// The base image: docker://[HOST/]REPO[:TAG|@DIGEST], oci:DIR[:TAG], oci-archive:FILE[:TAG] or
    /// docker-archive:FILE[:REPO:TAG].
    #[arg(long, value_name = "IMAGE", required_unless_present_any = ["file", "stray"])]
    pub(crate) from: Option<String>,

    /// The new image, same syntax (an existing OCI layout keeps its other tags).
    #[arg(long, value_name = "IMAGE", required_unless_present_any = ["file", "stray"])]
    pub(crate) to: Option<String>,

    /// On an image trustbake baked, keep the CAs its layer added (the new layer holds them
    /// and the --ca ones): add a CA instead of replacing the set.
    #[arg(long)]
    pub(crate) keep_baked_cas: bool,

    /// Images given as `bake SRC DST` (skopeo copy's habit): refused, with the way to say it.
    #[arg(hide = true, num_args = 0.., value_name = "IMAGE")]
    pub(crate) stray: Vec<String>,

    #[command(flatten)]
    pub(crate) ca: CaArgs,

    #[command(flatten)]
    pub(crate) write: WriteArgs,

    /// A recipe (images/NAME.toml) with from, to, cas and optionally remove, product, version,
    /// platform.
    #[arg(short = 'f', long = "file", value_name = "RECIPE")]
    pub(crate) file: Option<PathBuf>,

    /// Only this platform of a multi-platform image (os/arch[/variant]).
    #[arg(long)]
    pub(crate) platform: Option<String>,

    #[command(flatten)]
    pub(crate) cache: CacheArgs,

    #[command(flatten)]
    pub(crate) sign: SignArgs,

    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// Where layer scans are kept (bake and sync).
#[derive(Debug, Args)]
pub(crate) struct CacheArgs {
    /// Where layer scans are kept across runs (default: $XDG_CACHE_HOME/trustbake, else
    /// ~/.cache/trustbake): a re-bake reads no base layer.
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub(crate) cache_dir: Option<PathBuf>,

    /// Keep no layer scans across runs.
    #[arg(long)]
    pub(crate) no_cache: bool,

    /// Also share layer scans through this registry repository (docker://HOST/REPO, with the
    /// destination's access): a fresh runner reads no base layer an earlier run scanned. Write
    /// access to it is as powerful as write access to the baked images.
    #[arg(long, value_name = "REPOSITORY")]
    pub(crate) cache_repo: Option<String>,
}

/// Signing the result as cosign signs (skopeo's option names).
#[derive(Debug, Args)]
#[command(next_help_heading = "Signing (cosign-compatible, key-based)")]
pub(crate) struct SignArgs {
    /// Sign the pushed image with this ECDSA P-256 key: cosign's key file (`cosign
    /// generate-key-pair`; its password from COSIGN_PASSWORD or --sign-passphrase-file) or a
    /// PKCS#8/SEC1 PEM. The signature goes to the tag sha256-<hex>.sig beside the image, where
    /// cosign, policy-controller and Kyverno look for it. No transparency log is written.
    #[arg(long, value_name = "KEY")]
    pub(crate) sign_by_sigstore_private_key: Option<PathBuf>,
    /// A file whose first line is the key's password (else COSIGN_PASSWORD; - for stdin).
    #[arg(long, value_name = "FILE", requires = "sign_by_sigstore_private_key")]
    pub(crate) sign_passphrase_file: Option<PathBuf>,
    /// Also attest what was added (the base, the layer and its files, the CAs, the config
    /// fields changed): an in-toto statement in a DSSE envelope at sha256-<hex>.att.
    #[arg(long, requires = "sign_by_sigstore_private_key")]
    pub(crate) attest: bool,
    /// For a multi-platform image, also sign each platform's manifest.
    #[arg(long, requires = "sign_by_sigstore_private_key")]
    pub(crate) sign_platforms: bool,
}

/// How registries are reached, with skopeo's option names.
#[derive(Debug, Args)]
#[command(next_help_heading = "Registries (docker://)")]
pub(crate) struct RegistryArgs {
    /// The auth file for both registries (default: REGISTRY_AUTH_FILE, then
    /// $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
    /// $DOCKER_CONFIG/config.json or ~/.docker/config.json, ~/.dockercfg).
    #[arg(long, value_name = "FILE")]
    pub(crate) authfile: Option<PathBuf>,
    /// The auth file for the source registry.
    #[arg(long, value_name = "FILE")]
    pub(crate) src_authfile: Option<PathBuf>,
    /// The auth file for the destination registry.
    #[arg(long, value_name = "FILE")]
    pub(crate) dest_authfile: Option<PathBuf>,
    /// Source credentials: USER:PASSWORD, or USER alone to read the password from
    /// --src-password-file (or the first line of stdin).
    #[arg(long, value_name = "USER[:PASSWORD]", conflicts_with = "src_no_creds")]
    pub(crate) src_creds: Option<String>,
    /// Destination credentials: USER:PASSWORD, or USER alone (see --dest-password-file).
    #[arg(long, value_name = "USER[:PASSWORD]", conflicts_with = "dest_no_creds")]
    pub(crate) dest_creds: Option<String>,
    /// A file holding the source password (with --src-creds USER; - for stdin).
    #[arg(long, value_name = "FILE", requires = "src_creds")]
    pub(crate) src_password_file: Option<PathBuf>,
    /// A file holding the destination password (with --dest-creds USER; - for stdin).
    #[arg(long, value_name = "FILE", requires = "dest_creds")]
    pub(crate) dest_password_file: Option<PathBuf>,
    /// Access the source registry anonymously.
    #[arg(long)]
    pub(crate) src_no_creds: bool,
    /// Access the destination registry anonymously.
    #[arg(long)]
    pub(crate) dest_no_creds: bool,
    /// Certificates for the source registry: *.crt roots, NAME.cert + NAME.key client
    /// certificate (default: /etc/containers/certs.d/HOST[:PORT] and /etc/docker/certs.d/…).
    #[arg(long, value_name = "DIR")]
    pub(crate) src_cert_dir: Option<PathBuf>,
    /// Certificates for the destination registry (as --src-cert-dir).
    #[arg(long, value_name = "DIR")]
    pub(crate) dest_cert_dir: Option<PathBuf>,
    /// Verify the source registry's certificate and require HTTPS (false: also plain HTTP).
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub(crate) src_tls_verify: bool,
    /// Verify the destination registry's certificate and require HTTPS (false: also plain HTTP).
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub(crate) dest_tls_verify: bool,
    /// Also trust the CAs being baked for the registries' TLS (an internal registry signed by
    /// the very CA being baked).
    #[arg(long)]
    pub(crate) registry_trust_ca: bool,
    #[command(flatten)]
    pub(crate) network: NetworkArgs,
}

/// Deadlines, the slowest blob transfer allowed and the retry budget (both registries).
#[derive(Debug, Args)]
pub(crate) struct NetworkArgs {
    /// The longest one document request may take in all (manifest, index, config, token,
    /// the /v2/ ping), in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) request_timeout: u64,
    /// A blob transfer slower than this many bytes a second for --speed-time ends (curl's
    /// --speed-limit; 0: no minimum rate, only the per-read bound of --speed-time).
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub(crate) speed_limit: u64,
    /// The window of --speed-limit, and the longest a blob transfer waits for any byte, in
    /// seconds (curl's --speed-time).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) speed_time: u64,
    /// Retries of the whole run (429, 408, 5xx, dropped connections, resumed downloads),
    /// counted together.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) retry_times: u32,
    /// The longest one wait before a retry, in seconds (a Retry-After is honoured up to it).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub(crate) retry_max_wait: u64,
}

impl NetworkArgs {
    pub(crate) fn limits(&self) -> trustbake::registry::Limits {
        use std::time::Duration;
        trustbake::registry::Limits {
            request_timeout: Duration::from_secs(self.request_timeout),
            speed_limit: self.speed_limit,
            speed_time: Duration::from_secs(self.speed_time),
            retries: self.retry_times,
            max_retry_wait: Duration::from_secs(self.retry_max_wait),
        }
    }
}

/// How `inspect` reaches a registry (skopeo inspect's option names).
#[derive(Debug, Args)]
#[command(next_help_heading = "Registries (docker://)")]
pub(crate) struct InspectRegistryArgs {
    /// The auth file (default: as skopeo finds it).
    #[arg(long, value_name = "FILE")]
    pub(crate) authfile: Option<PathBuf>,
    /// Credentials: USER:PASSWORD, or USER alone to read the password from --password-file.
    #[arg(long, value_name = "USER[:PASSWORD]", conflicts_with = "no_creds")]
    pub(crate) creds: Option<String>,
    /// A file holding the password (with --creds USER; - for stdin).
    #[arg(long, value_name = "FILE", requires = "creds")]
    pub(crate) password_file: Option<PathBuf>,
    /// Access the registry anonymously.
    #[arg(long)]
    pub(crate) no_creds: bool,
    /// Certificates for the registry (*.crt roots, NAME.cert + NAME.key).
    #[arg(long, value_name = "DIR")]
    pub(crate) cert_dir: Option<PathBuf>,
    /// Verify the registry's certificate and require HTTPS (false: also plain HTTP).
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub(crate) tls_verify: bool,
    #[command(flatten)]
    pub(crate) network: NetworkArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// The upstream repository: docker://HOST/REPO (its tags are listed).
    #[arg(
        long,
        value_name = "REPOSITORY",
        required_unless_present = "file",
        requires = "to"
    )]
    pub(crate) from: Option<String>,

    /// The destination: docker://HOST/REPO:TEMPLATE, the template naming {tag} (or {major},
    /// {minor}, {patch} of a semantic-version tag), e.g. '{tag}-corp'.
    #[arg(
        long,
        value_name = "TEMPLATE",
        required_unless_present = "file",
        requires = "from"
    )]
    pub(crate) to: Option<String>,

    /// Many sources from one file (sync.toml: shared defaults, then one [sources.NAME] table
    /// per repository); flags given here apply to every source.
    #[arg(short = 'f', long = "file", value_name = "SYNC_FILE", conflicts_with_all = ["from", "to"])]
    pub(crate) file: Option<PathBuf>,

    /// Only tags this regular expression finds (unanchored, as skopeo sync's
    /// images-by-tag-regex: anchor with ^…$).
    #[arg(long, value_name = "REGEX")]
    pub(crate) tags: Option<String>,

    /// Only tags that are semantic versions (a leading v allowed) in this range, e.g.
    /// '>=5.20, <6'.
    #[arg(long, value_name = "RANGE")]
    pub(crate) semver: Option<String>,

    #[command(flatten)]
    pub(crate) ca: CaArgs,

    #[command(flatten)]
    pub(crate) write: WriteArgs,

    /// Only this platform of each tag (os/arch[/variant]).
    #[arg(long)]
    pub(crate) platform: Option<String>,

    /// Go on after a tag fails; the exit status still says one did.
    #[arg(long)]
    pub(crate) keep_going: bool,

    /// Bake up to this many tags at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) jobs: usize,

    #[command(flatten)]
    pub(crate) cache: CacheArgs,

    #[command(flatten)]
    pub(crate) sign: SignArgs,

    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyImageArgs {
    /// The image (docker://… or oci:DIR:TAG) whose digest must be signed and attested.
    pub(crate) image: String,

    /// The public key (cosign.pub: a PUBLIC KEY PEM).
    #[arg(long, value_name = "PUB")]
    pub(crate) key: PathBuf,

    /// Compare with this base (a mirror of the attested base; its digest must be the attested
    /// one) instead of the reference the attestation names.
    #[arg(long, value_name = "IMAGE")]
    pub(crate) base: Option<String>,

    /// Print the outcome as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) registry: InspectRegistryArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The image (docker://…, oci:…, oci-archive:…, docker-archive:…) or an unpacked root
    /// directory.
    pub(crate) source: String,

    /// Only this platform (os/arch[/variant]).
    #[arg(long)]
    pub(crate) platform: Option<String>,

    /// Print the inspection as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) registry: InspectRegistryArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The image (docker://…, oci:…, oci-archive:…, docker-archive:…) or an unpacked root
    /// directory.
    pub(crate) source: String,

    /// The server's chain: a PEM file, the server certificate first, intermediates after.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "url",
        conflicts_with = "url"
    )]
    pub(crate) chain: Option<PathBuf>,

    /// Fetch the chain from a live server (https://HOST[:PORT]; a TLS handshake only, nothing
    /// else is sent).
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,

    /// The name clients connect to (default: the URL's host; with --chain, no name check).
    #[arg(long, value_name = "NAME")]
    pub(crate) hostname: Option<String>,

    /// Validate at this time (RFC 3339, a date YYYY-MM-DD, or Unix seconds; default now).
    #[arg(long, value_name = "TIME")]
    pub(crate) at: Option<String>,

    /// Also model the Helm chart's runtime mount: DIR holds what certStoreSecretName mounts
    /// at /home/anchore/certs, which the image's entrypoint appends to copies of certifi and of
    /// /etc/pki/tls/certs.
    #[arg(long, value_name = "DIR")]
    pub(crate) runtime_certs: Option<PathBuf>,

    /// An environment variable the deployment sets (repeatable), laid over the image's Env.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub(crate) env: Vec<String>,

    /// Only this platform (os/arch[/variant]).
    #[arg(long)]
    pub(crate) platform: Option<String>,

    /// Print the verdicts as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) registry: InspectRegistryArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CheckConfigArgs {
    /// The Anchore config.yaml.
    pub(crate) config: PathBuf,

    /// The host directory mounted at /config (default: the config file's directory).
    #[arg(long, value_name = "DIR")]
    pub(crate) config_dir: Option<PathBuf>,

    /// Another host directory and where the container sees it (repeatable).
    #[arg(long, value_name = "HOST_DIR:CONTAINER_DIR")]
    pub(crate) mount: Vec<String>,

    /// KEY=VALUE lines for ${ANCHORE_...} variables (as ANCHORE_ENV_FILE); this environment's
    /// ANCHORE_* variables win, as in Anchore.
    #[arg(long, value_name = "FILE")]
    pub(crate) env_file: Option<PathBuf>,

    /// Also check that every TLS client of this image trusts every service.
    #[arg(long, value_name = "IMAGE")]
    pub(crate) image: Option<String>,

    /// Only this platform of --image (os/arch[/variant]).
    #[arg(long)]
    pub(crate) platform: Option<String>,

    /// CAs the deployment trusts (roots or intermediates; repeatable), to tell a missing
    /// intermediate from a root.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: Vec<PathBuf>,

    /// Warn when a certificate expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub(crate) warn_days: i64,

    /// Check at this time (RFC 3339, a date YYYY-MM-DD, or Unix seconds; default now).
    #[arg(long, value_name = "TIME")]
    pub(crate) at: Option<String>,

    /// Print the checks as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) registry: InspectRegistryArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ProxyEnvArgs {
    /// The proxy: http://HOST:PORT (no credentials in it).
    #[arg(long, value_name = "URL")]
    pub(crate) proxy: String,

    /// The proxy user.
    #[arg(long, value_name = "USER")]
    pub(crate) user: Option<String>,

    /// The proxy password's file (first line), or - for stdin; needs --user.
    #[arg(long, value_name = "FILE", requires = "user")]
    pub(crate) password_file: Option<PathBuf>,

    /// An Anchore config.yaml: every enabled service's endpoint_hostname (and host:port) goes
    /// into no_proxy.
    #[arg(long, value_name = "CONFIG")]
    pub(crate) config: Option<PathBuf>,

    /// KEY=VALUE lines for the config's ${ANCHORE_...} variables.
    #[arg(long, value_name = "FILE", requires = "config")]
    pub(crate) env_file: Option<PathBuf>,

    /// More hosts that bypass the proxy (comma-separated; repeatable): internal registries, …
    #[arg(long, value_name = "HOSTS")]
    pub(crate) no_proxy: Vec<String>,

    /// The form: env (KEY=value lines), compose, helm (extraEnv), k8s (a Secret).
    #[arg(long, value_name = "FORMAT", default_value = "env")]
    pub(crate) format: String,

    /// The Secret's name (helm and k8s forms).
    #[arg(long, value_name = "NAME", default_value = "anchore-proxy")]
    pub(crate) secret_name: String,
}

#[derive(Debug, Args)]
pub(crate) struct DockerfileArgs {
    /// The Anchore product (with --version): the layout comes from the version map.
    #[arg(long, value_parser = ["engine", "enterprise"], requires = "version", conflicts_with = "from")]
    pub(crate) product: Option<String>,

    /// The product version.
    #[arg(long, requires = "product")]
    pub(crate) version: Option<String>,

    /// The base image to read the layout from (and to build FROM).
    #[arg(long, value_name = "IMAGE", required_unless_present = "product")]
    pub(crate) from: Option<String>,

    /// The FROM of a --product build (default: docker.io/anchore/PRODUCT:vVERSION).
    #[arg(long, value_name = "IMAGE", requires = "product")]
    pub(crate) base_image: Option<String>,

    /// The platform of --from to read.
    #[arg(long)]
    pub(crate) platform: Option<String>,

    /// The build context directory to create (must be new or empty).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        default_value = "trustbake-build"
    )]
    pub(crate) output: PathBuf,

    #[command(flatten)]
    pub(crate) ca: CaArgs,

    /// Distrust a CA: its SHA-256 (looked up in the --from image) or a certificate file
    /// (repeatable; works without --ca).
    #[arg(long = "remove", value_name = "FINGERPRINT|FILE", num_args = 1.., action = clap::ArgAction::Append)]
    pub(crate) remove: Vec<String>,

    #[command(flatten)]
    pub(crate) registry: InspectRegistryArgs,
}

#[derive(Debug, Args)]
pub(crate) struct HelmValuesArgs {
    /// A baked image in its registry (a tag or a digest; docker:// optional); repeat it for the
    /// Enterprise image and the UI's, each placed as its name (Docker Hub's or Iron Bank's)
    /// says.
    #[arg(long, value_name = "IMAGE", required = true)]
    pub(crate) image: Vec<String>,

    /// What the one image is, whatever its name says: enterprise (every service but the UI),
    /// ui, or engine. Default: what its name says, else enterprise.
    #[arg(long, value_name = "COMPONENT")]
    pub(crate) component: Option<String>,

    /// The chart: enterprise (anchore/enterprise, Enterprise 4.x and later), engine
    /// (anchore/anchore-engine) or bigbang (Big Bang's umbrella, addons.…values); default: the
    /// one the image's tag names.
    #[arg(long, value_name = "CHART")]
    pub(crate) chart: Option<String>,

    #[command(flatten)]
    pub(crate) bigbang: BigBangArgs,

    /// Also set the chart's certStoreSecretName to this Secret (trustbake secret makes it).
    #[arg(long, value_name = "NAME")]
    pub(crate) cert_store_secret: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SecretArgs {
    #[command(flatten)]
    pub(crate) ca: CaArgs,

    /// The Secret's name (the charts' certStoreSecretName).
    #[arg(long, value_name = "NAME", default_value = "anchore-certs")]
    pub(crate) name: String,

    /// The namespace (with --chart bigbang: anchore, where Big Bang deploys it).
    #[arg(long, value_name = "NS")]
    pub(crate) namespace: Option<String>,

    /// Name the values key that points this chart at the Secret: enterprise, engine or bigbang.
    #[arg(long, value_name = "CHART")]
    pub(crate) chart: Option<String>,

    #[command(flatten)]
    pub(crate) bigbang: BigBangArgs,
}

/// Which Big Bang the values are for (with `--chart bigbang`).
#[derive(Debug, Args)]
pub(crate) struct BigBangArgs {
    /// With --chart bigbang: the Big Bang release the values are for (its Anchore package and
    /// addon key from Big Bang's history). Default: the newest form (Big Bang 3.30.0).
    #[arg(long, value_name = "VERSION", conflicts_with = "package_version")]
    pub(crate) bigbang_version: Option<String>,

    /// With --chart bigbang: the Anchore package's version (3.25.1-bb.1) instead.
    #[arg(long, value_name = "VERSION")]
    pub(crate) package_version: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The unpacked root file system to write into.
    #[arg(long, value_name = "DIR")]
    pub(crate) root: PathBuf,

    #[command(flatten)]
    pub(crate) ca: CaArgs,

    #[command(flatten)]
    pub(crate) write: WriteArgs,
}

/// What `bake` and `apply` share: CAs to distrust, the target to compare, a preview, JSON,
/// pip's vendored certifi.
#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// Distrust a CA in every store, the base's own or an added one: its SHA-256 as `inspect`
    /// prints it, or a certificate file (repeatable; works without --ca).
    #[arg(long = "remove", value_name = "FINGERPRINT|FILE", num_args = 1.., action = clap::ArgAction::Append)]
    pub(crate) remove: Vec<String>,

    /// The Anchore product, to compare the version map with what the image (or root) holds.
    #[arg(long, value_parser = ["engine", "enterprise"], requires = "version")]
    pub(crate) product: Option<String>,

    /// The product version (with --product).
    #[arg(long, requires = "product")]
    pub(crate) version: Option<String>,

    /// Print everything that would be done (for a bake, with the would-be digests); write
    /// nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Print the outcome as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    /// Also patch pip's vendored certifi.
    #[arg(long)]
    pub(crate) include_vendored: bool,

    /// Also append the CAs to this PEM bundle of the image (an absolute path inside it), in
    /// the file's own format; with it, an image with no OS store trustbake knows is accepted
    /// (repeatable).
    #[arg(long = "bundle", value_name = "PATH", action = clap::ArgAction::Append)]
    pub(crate) bundle: Vec<String>,
}
