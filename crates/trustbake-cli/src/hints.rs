//! What to try next, printed under an error: per error, and for registries per side (a
//! command with one registry names its options without `--src-`/`--dest-`).

/// What the command line adds to a library error: the flags that fix it.
pub(crate) fn hints(err: &trustbake::Error, sided: bool) -> Vec<String> {
    use trustbake::Refusal;
    match err {
        trustbake::Error::NoCa => {
            vec!["pass --ca FILE (a PEM or DER file, a directory, or - for stdin)".into()]
        }
        trustbake::Error::Image(trustbake::types::ImageError::SinglePlatform { .. }) => {
            vec!["choose the platform with --platform os/arch[/variant]".into()]
        }
        trustbake::Error::Image(trustbake::types::ImageError::Registry(e)) => {
            registry_hints(e, sided)
        }
        trustbake::Error::Intake(intake) => {
            let mut hints = Vec::new();
            let refusals = intake.refusals();
            if refusals
                .iter()
                .any(|r| matches!(r, Refusal::NotAuthority { .. }))
            {
                hints.push(
                    "--allow-non-ca adds a certificate that is not an authority anyway".into(),
                );
            }
            if refusals
                .iter()
                .any(|r| matches!(r, Refusal::Expired { .. } | Refusal::NotYetValid { .. }))
            {
                hints.push("--allow-expired adds a certificate outside its validity anyway".into());
            }
            hints
        }
        _ => Vec::new(),
    }
}

/// The flags that fix a registry failure, named as the command spells them: `--src-…` or
/// `--dest-…` for the side it happened on (bake), plain `--…` for a one-registry command.
pub(crate) fn registry_hints(err: &trustbake::registry::RegistryError, sided: bool) -> Vec<String> {
    use trustbake::registry::RegistryError as R;
    use trustbake::registry::Role;
    let flag = |role: Role, name: &str| match (sided, role) {
        (false, _) => format!("--{name}"),
        (true, Role::Source) => format!("--src-{name}"),
        (true, Role::Destination) => format!("--dest-{name}"),
    };
    let both = |name: &str, value: &str| {
        if sided {
            format!("--src-{name}{value} / --dest-{name}{value}")
        } else {
            format!("--{name}{value}")
        }
    };
    match err {
        R::Tls { role, .. } => vec![
            format!(
                "give the registry's CA with {} DIR (DIR/ca.crt), or put it in /etc/containers/certs.d/HOST[:PORT]/",
                flag(*role, "cert-dir")
            ),
            if sided {
                format!(
                    "--registry-trust-ca trusts the CAs being baked; {}=false skips verification",
                    flag(*role, "tls-verify")
                )
            } else {
                format!("{}=false skips verification", flag(*role, "tls-verify"))
            },
        ],
        R::PlainHttp { role, .. } => {
            let mut hint = format!(
                "for a plain-HTTP registry, pass {}=false",
                flag(*role, "tls-verify")
            );
            if sided && *role == Role::Source {
                hint.push_str(" (and --dest-tls-verify=false when the destination is that registry too)");
            }
            vec![hint]
        }
        R::Unauthorized { .. } | R::Denied { .. } => vec![format!(
            "log in with `skopeo login` / `podman login`, or give {} or --authfile FILE",
            both("creds", " USER[:PASSWORD]")
        )],
        R::CredentialsOverHttp { .. } => vec![format!(
            "serve the registry over HTTPS, or use {} for anonymous access",
            both("no-creds", "")
        )],
        R::CrossOrigin { .. } => vec![
            "credentials go only to the registry's own origin: configure the registry to serve that request itself (or without credentials there)".into(),
        ],
        R::Connect { detail, .. } | R::Protocol { detail, .. }
            if detail.contains("timed out") || detail.contains("bytes/s") =>
        {
            vec![
                "on a slow link, raise --request-timeout SECS (documents) or lower --speed-limit BYTES / raise --speed-time SECS (blobs)".into(),
            ]
        }
        R::Connect { detail, .. } if detail.contains("retry budget") => {
            vec!["--retry-times N allows more retries in one run".into()]
        }
        _ => Vec::new(),
    }
}
