//! Registry access from the command line's options: credentials as skopeo finds them, the
//! certificate directory, TLS verification, the network limits; passwords from files or stdin;
//! the scan cache's default place.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::args;

/// Registry access from the one-sided options (`inspect`, `verify`, `check-config`,
/// `dockerfile`).
pub(crate) fn inspect_access(r: &args::InspectRegistryArgs) -> Result<trustbake::registry::Access> {
    access(
        r.authfile.as_ref(),
        r.creds.as_deref(),
        r.password_file.as_deref(),
        r.no_creds,
        r.cert_dir.clone(),
        r.tls_verify,
        Vec::new(),
    )
    .map(|a| a.with_limits(r.network.limits()))
}

/// One side's registry access from its options. A password comes from `USER:PASSWORD`, a
/// password file, or the first line of stdin — never a prompt, never echoed.
pub(crate) fn access(
    authfile: Option<&PathBuf>,
    creds: Option<&str>,
    password_file: Option<&Path>,
    no_creds: bool,
    cert_dir: Option<PathBuf>,
    tls_verify: bool,
    extra_roots: Vec<Vec<u8>>,
) -> Result<trustbake::registry::Access> {
    let credentials = if no_creds {
        trustbake::registry::CredentialSource::Anonymous
    } else if let Some(creds) = creds {
        let (user, password) = match creds.split_once(':') {
            Some((user, password)) => {
                static NOTED: std::sync::atomic::AtomicBool =
                    std::sync::atomic::AtomicBool::new(false);
                if !NOTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    eprintln!(
                        "note: a password on the command line is visible in the process list; give USER alone with a password file (or stdin) to keep it out"
                    );
                }
                (user.to_owned(), password.to_owned())
            }
            None => (creds.to_owned(), read_password(password_file)?),
        };
        anyhow::ensure!(!user.is_empty(), "credentials without a user name");
        trustbake::registry::CredentialSource::Given(trustbake::registry::Credentials::new(
            user, password,
        ))
    } else if let Some(file) = authfile {
        trustbake::registry::CredentialSource::AuthFile(file.clone())
    } else {
        trustbake::registry::CredentialSource::Lookup
    };
    Ok(trustbake::registry::Access {
        credentials,
        cert_dir,
        tls_verify,
        extra_roots,
        limits: trustbake::registry::Limits::default(),
    })
}

/// The password in `file` (`-` or none: the first line of stdin), without its line ending.
pub(crate) fn read_password(file: Option<&Path>) -> Result<String> {
    let text = match file {
        Some(f) if f.as_os_str() != "-" => std::fs::read_to_string(f)
            .with_context(|| format!("reading the password file {}", f.display()))?,
        _ => {
            anyhow::ensure!(
                !std::io::IsTerminal::is_terminal(&std::io::stdin()),
                "a password is needed: give USER:PASSWORD, a password file, or pipe it on stdin (trustbake never prompts)"
            );
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line
        }
    };
    let password = text.lines().next().unwrap_or_default().to_owned();
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    Ok(password)
}

/// `$XDG_CACHE_HOME/trustbake`, else `~/.cache/trustbake`.
pub(crate) fn default_cache_dir() -> Option<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("XDG_CACHE_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".cache")))
        .map(|d| d.join("trustbake"))
}
