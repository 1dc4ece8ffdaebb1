//! `dockerfile`: a Containerfile and its build context that do what `bake` does, for teams that
//! must build with their own pipeline — the CAs copied to the exact anchor paths `bake` uses,
//! the image's own update command run, each certifi bundle extended with certifi's entries,
//! and the base's user restored. The layout comes from the version map (`--product/--version`)
//! or is detected in the image (`--from`).

use std::path::Path;

use trustbake_certs::{Certificate, Intake};
use trustbake_image::registry::Access;
use trustbake_image::{ImageRef, Platform};
use trustbake_store::{CertifiStatus, Env, Removal};
use trustbake_targets::{OsFamily, VersionMap};

use crate::error::Error;
use crate::outcome::DockerfileOutcome;
use crate::target::Target;
use crate::views::{Keep, Source, View};

/// Where the layout comes from. (Built once per command: the size of a variant costs nothing.)
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum DockerfileBase {
    /// A release of the version map; the `FROM` defaults to `image` (a registry name).
    Release {
        /// The product and version.
        target: Target,
        /// The base image's name for `ARG BASE`.
        image: String,
    },
    /// An image to detect the layout in (and to build `FROM`).
    Image {
        /// The reference trustbake reads.
        reference: String,
        /// The platform to look at.
        platform: Option<Platform>,
        /// Registry access.
        access: Access,
    },
}

/// The layout a Containerfile needs.
struct Layout {
    family: OsFamily,
    anchors_dir: String,
    update_command: String,
    certifi: Vec<String>,
    user: String,
    from: String,
    described: String,
    node: Option<trustbake_store::NodeExtra>,
    /// RHEL: where distrusted CAs go.
    blocklist_dir: &'static str,
    /// The CAs to remove as found in the image (`--from`), or as given (a release).
    removals: Vec<trustbake_store::Found>,
    /// Notes for the Containerfile's header (a fingerprint the image does not hold).
    removal_notes: Vec<String>,
}

fn numeric_user(user: &str) -> String {
    // The map says e.g. "anchore (1000)": the number is what USER needs.
    match (user.find('('), user.find(')')) {
        (Some(a), Some(b)) if b > a => user[a + 1..b].trim().to_owned(),
        _ => user.trim().to_owned(),
    }
}

fn layout(base: &DockerfileBase, remove: &[Removal]) -> Result<Layout, Error> {
    match base {
        DockerfileBase::Release { target, image } => release_layout(target, image, remove),
        DockerfileBase::Image {
            reference,
            platform,
            access,
        } => image_layout(reference, platform.as_ref(), access, remove),
    }
}

/// The layout of a release, from the version map (the image is not read).
fn release_layout(target: &Target, image: &str, remove: &[Removal]) -> Result<Layout, Error> {
    let resolved = target.resolve(VersionMap::builtin())?;
    let line = resolved.line;
    // Without the image, a CA is known only from a file, and only trustbake's own
    // anchor name can be deleted.
    let mut removals = Vec::new();
    for r in remove {
        let Removal::Certificate(cert) = r else {
            return Err(Error::BadArgument {
                what: "--remove".into(),
                reason: format!(
                    "sha256:{}: a fingerprint is looked up in the image: give --from IMAGE, or the certificate file",
                    r.sha256().hex()
                ),
            });
        };
        let anchor = line
            .base_info
            .os_family
            .anchor_file(&line.base_info.anchors_dir, &cert.file_stem());
        removals.push(trustbake_store::Found {
            certificate: (**cert).clone(),
            files: vec![anchor],
            conf_lines: Vec::new(),
        });
    }
    Ok(Layout {
        family: line.base_info.os_family,
        anchors_dir: line.base_info.anchors_dir.clone(),
        update_command: line.base_info.update_command.clone(),
        certifi: resolved.certifi_paths.clone(),
        user: numeric_user(&line.user),
        from: image.to_owned(),
        // The map holds no Node runtime (the UI image is not a line of it).
        node: None,
        blocklist_dir: if matches!(line.base.as_str(), "centos7" | "ubi7" | "ubi8") {
            trustbake_store::paths::RHEL_BLACKLIST
        } else {
            trustbake_store::paths::RHEL_BLOCKLIST
        },
        removals,
        removal_notes: Vec::new(),
        described: format!(
            "{} {} (line {}, {}, {} confidence; the image is not read: its layout is the map's)",
            target.product,
            target.version,
            line.line,
            line.base,
            line.confidence.as_str()
        ),
    })
}

/// The layout detected in an image (its first platform, or the one asked for).
fn image_layout(
    reference: &str,
    platform: Option<&Platform>,
    access: &Access,
    remove: &[Removal],
) -> Result<Layout, Error> {
    let source = Source::image(reference, access)?;
    source
        .first(platform, &Env::new(), Keep::Engine, |view| {
            view_layout(reference, &view, remove)
        })?
        .ok_or_else(|| Error::BadArgument {
            what: "--from".into(),
            reason: "no platform to build for".into(),
        })
}

/// The layout detected in one platform of `reference`.
fn view_layout(reference: &str, view: &View<'_>, remove: &[Removal]) -> Result<Layout, Error> {
    let root = view.root;
    let detected = trustbake_store::detect(root)?;
    let node = trustbake_store::node_extra(root, &view.env)?;
    let (removals, removal_notes) = trustbake_store::find_removals(root, remove)?;
    let blocklist_dir = trustbake_store::blocklist_dir(root, &detected)?;
    let (anchors_dir, update_command) = match detected.family {
        OsFamily::Rhel => (
            trustbake_store::paths::RHEL_ANCHORS,
            "update-ca-trust extract",
        ),
        OsFamily::Debian => (
            trustbake_store::paths::DEBIAN_LOCAL,
            "update-ca-certificates",
        ),
        OsFamily::Alpine if detected.alpine.as_ref().is_some_and(|a| a.tool) => (
            trustbake_store::paths::ALPINE_LOCAL,
            "update-ca-certificates",
        ),
        OsFamily::Suse => (
            trustbake_store::paths::SUSE_ANCHORS,
            "update-ca-certificates",
        ),
        OsFamily::Unknown => return Err(trustbake_store::StoreError::NoTrustStore.into()),
        OsFamily::Distroless => {
            return Err(Error::BadArgument {
                what: "--from".into(),
                reason: format!(
                    "{reference} is a distroless image: no shell and no update tool for a RUN to call; `trustbake bake` writes its bundle and Java keystore without one"
                ),
            });
        }
        OsFamily::Alpine => {
            return Err(Error::BadArgument {
                what: "--from".into(),
                reason: format!(
                    "{reference} has only the CA bundle (the ca-certificates-bundle package): no update-ca-certificates for a RUN to call, and adding it needs a package download at build time; `trustbake bake` writes the bundle without a tool"
                ),
            });
        }
    };
    let user = view
        .platform
        .and_then(|p| p.config.value().config.as_ref())
        .and_then(|c| c.user.clone())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".to_owned());
    let from = match ImageRef::parse(reference)? {
        ImageRef::Registry(r) => r.name(),
        other => other.to_string(),
    };
    Ok(Layout {
        family: detected.family,
        anchors_dir: anchors_dir.to_owned(),
        update_command: update_command.to_owned(),
        certifi: detected
            .certifi
            .iter()
            .filter(|b| b.status == CertifiStatus::Own)
            .map(|b| b.path.clone())
            .collect(),
        user,
        from,
        node,
        blocklist_dir,
        removals,
        removal_notes,
        described: format!(
            "detected in {reference}{}: {} family",
            view.label().map(|p| format!(" ({p})")).unwrap_or_default(),
            detected.family
        ),
    })
}

/// A single-quoted shell word.
fn sh(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The script a build runs to take certificates out of certifi bundles: each entry (its PEM
/// block, the comment lines above it and the empty line before those) whose DER's SHA-256 is
/// listed; the file is rewritten in place (owner and mode kept).
const REMOVE_CERTIFI: &str = r##"import base64, hashlib, re, sys
args = sys.argv[1:]
cut = args.index("--")
shas, files = set(args[:cut]), args[cut + 1:]
block = re.compile(r"-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----\n?", re.S)
for path in files:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        continue
    out, pos = [], 0
    for m in block.finditer(text):
        der = base64.b64decode("".join(m.group(1).split()))
        if hashlib.sha256(der).hexdigest() not in shas:
            continue
        lines = text[pos:m.start()].splitlines(keepends=True)
        while lines and lines[-1].startswith("#"):
            lines.pop()
        if lines and lines[-1].strip() == "":
            lines.pop()
        out.append("".join(lines))
        pos = m.end()
    out.append(text[pos:])
    new = "".join(out)
    if new != text:
        with open(path, "r+", encoding="utf-8") as f:
            f.seek(0)
            f.write(new)
            f.truncate()
"##;

/// Writes the Containerfile and its context into `dir` (created; must be empty or absent):
/// `cas` added, `remove` distrusted (a fingerprint needs the image, `--from`).
pub fn dockerfile(
    base: &DockerfileBase,
    cas: &Intake,
    remove: &[Removal],
    dir: &Path,
) -> Result<DockerfileOutcome, Error> {
    if cas.cas().is_empty() && remove.is_empty() {
        return Err(Error::NoCa);
    }
    crate::load::no_overlap(cas, remove)?;
    let layout = layout(base, remove)?;
    let io = |what: &Path, e: std::io::Error| Error::Output {
        path: what.display().to_string(),
        reason: e.to_string(),
    };
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .next()
            .is_some()
    {
        return Err(Error::BadArgument {
            what: "-o".into(),
            reason: format!(
                "{} is not empty: give a new directory for the build context",
                dir.display()
            ),
        });
    }
    std::fs::create_dir_all(dir.join("cas")).map_err(|e| io(dir, e))?;
    let mut certs: Vec<&Certificate> = cas.cas().iter().map(|c| &c.certificate).collect();
    certs.sort_by_key(|c| c.sha256());
    let mut c = Context {
        text: header(&layout),
        files: Vec::new(),
        dir,
        layout: &layout,
        certs,
    };
    anchors(&mut c)?;
    removals(&mut c)?;
    // The base's PATH may leave out the sbin directories the update tools live in.
    c.text.push_str(&format!(
        "RUN PATH=\"$PATH:/usr/local/sbin:/usr/sbin:/sbin\" {}\n",
        layout.update_command
    ));
    certifi(&mut c)?;
    node(&mut c)?;
    c.text.push_str(&format!("USER {}\n", layout.user));
    let Context {
        text, mut files, ..
    } = c;
    let containerfile = dir.join("Containerfile");
    write_file(&containerfile, text.as_bytes())?;
    files.insert(0, "Containerfile".to_owned());
    Ok(DockerfileOutcome {
        containerfile,
        files,
        layout_from: layout.described,
    })
}

/// The build context being written: the Containerfile's text and the files beside it, for
/// the layout and the CAs (in SHA-256 order).
struct Context<'a> {
    text: String,
    files: Vec<String>,
    dir: &'a Path,
    layout: &'a Layout,
    certs: Vec<&'a Certificate>,
}

/// The Containerfile's head: what made it, the layout, how to build it, the base.
fn header(layout: &Layout) -> String {
    let mut text = format!(
        "# Generated by trustbake {}: what `trustbake bake` writes, as a build.\n# Layout: {}\n# Build: buildah build -t IMAGE .   (or docker build; --build-arg BASE=… for another base)\n",
        env!("CARGO_PKG_VERSION"),
        layout.described
    );
    if let Some((transport, path)) =
        ["oci:", "oci-archive:", "docker-archive:"]
            .iter()
            .find_map(|t| {
                layout
                    .from
                    .strip_prefix(t)
                    .map(|p| (t.trim_end_matches(':'), p))
            })
    {
        // A local image: buildah and podman read a transport in FROM; docker build does not.
        text.push_str(&format!(
            "# BASE is a local image ({transport}): buildah and podman build read it as it is. For docker\n# build, load it first (skopeo copy {transport}:{path} docker-daemon:NAME:TAG) and build with\n# --build-arg BASE=NAME:TAG.\n"
        ));
    }
    text.push_str(&format!(
        "ARG BASE={}\nFROM ${{BASE}}\nUSER root\n",
        layout.from
    ));
    text
}

/// Each CA copied into the OS family's anchors directory.
fn anchors(c: &mut Context<'_>) -> Result<(), Error> {
    for cert in c.certs.clone() {
        let ext = match c.layout.family {
            OsFamily::Rhel | OsFamily::Suse => "pem",
            OsFamily::Debian | OsFamily::Alpine | OsFamily::Distroless | OsFamily::Unknown => "crt",
        };
        let name = format!("cas/{}.{ext}", cert.file_stem());
        write_file(&c.dir.join(&name), cert.to_pem().as_bytes())?;
        let target = c
            .layout
            .family
            .anchor_file(&c.layout.anchors_dir, &cert.file_stem());
        c.text
            .push_str(&format!("# {}\nCOPY {name} {target}\n", cert.label()));
        c.files.push(name);
    }
    Ok(())
}

/// Each distrusted CA: into RHEL's blocklist, its local files deleted, its packaged copy
/// disabled in `ca-certificates.conf` (dpkg-reconfigure's way).
fn removals(c: &mut Context<'_>) -> Result<(), Error> {
    for note in &c.layout.removal_notes {
        c.text.push_str(&format!("# {note}\n"));
    }
    for found in &c.layout.removals {
        let cert = &found.certificate;
        c.text.push_str(&format!(
            "# Distrusted: {} (sha256:{})\n",
            cert.label(),
            cert.sha256().hex()
        ));
        if matches!(c.layout.family, OsFamily::Rhel | OsFamily::Suse) {
            let name = format!("remove/{}.pem", cert.file_stem());
            if !c.files.iter().any(|f| f.starts_with("remove/")) {
                // In the context just made: created, never followed.
                std::fs::create_dir(c.dir.join("remove")).map_err(|e| Error::Output {
                    path: c.dir.display().to_string(),
                    reason: e.to_string(),
                })?;
            }
            write_file(&c.dir.join(&name), cert.to_pem().as_bytes())?;
            c.text.push_str(&format!(
                "COPY {name} {}/{}.pem\n",
                c.layout.blocklist_dir,
                cert.file_stem()
            ));
            c.files.push(name);
        }
        if !found.files.is_empty() {
            let paths: Vec<String> = found.files.iter().map(|p| sh(p)).collect();
            c.text.push_str(&format!("RUN rm -f {}\n", paths.join(" ")));
        }
        for line in &found.conf_lines {
            // dpkg-reconfigure's way: the line disabled with a leading `!`.
            let pattern: String = line
                .chars()
                .flat_map(|c| {
                    if "\\^$.*[]|/&".contains(c) {
                        vec!['\\', c]
                    } else {
                        vec![c]
                    }
                })
                .collect();
            c.text.push_str(&format!(
                "RUN sed -i {} /etc/ca-certificates.conf\n",
                sh(&format!("s|^{pattern}$|!&|"))
            ));
        }
    }
    Ok(())
}

/// certifi's bundles: the distrusted entries taken out, the CAs' entries appended.
fn certifi(c: &mut Context<'_>) -> Result<(), Error> {
    if !c.layout.certifi.is_empty() && !c.layout.removals.is_empty() {
        write_file(&c.dir.join("remove-certifi.py"), REMOVE_CERTIFI.as_bytes())?;
        c.files.push("remove-certifi.py".to_owned());
        let shas: Vec<String> = c
            .layout
            .removals
            .iter()
            .map(|f| f.certificate.sha256().hex())
            .collect();
        let paths: Vec<String> = c.layout.certifi.iter().map(|p| sh(p)).collect();
        c.text.push_str(
            "# certifi's bundles: the distrusted entries taken out (python3 of the image)\n",
        );
        c.text
            .push_str("COPY remove-certifi.py /tmp/trustbake-remove-certifi.py\n");
        c.text.push_str(&format!(
            "RUN python3 /tmp/trustbake-remove-certifi.py {} -- {} && rm -f /tmp/trustbake-remove-certifi.py\n",
            shas.join(" "),
            paths.join(" ")
        ));
    }
    if !c.layout.certifi.is_empty() && !c.certs.is_empty() {
        let entries: String = c.certs.iter().map(|c| c.certifi_entry()).collect();
        write_file(&c.dir.join("certifi-append.pem"), entries.as_bytes())?;
        c.files.push("certifi-append.pem".to_owned());
        c.text.push_str("# certifi's bundles: its own entries appended (owner and mode kept; a missing or linked bundle is left alone)\n");
        c.text
            .push_str("COPY certifi-append.pem /tmp/trustbake-certifi-append.pem\n");
        let paths: Vec<String> = c.layout.certifi.iter().map(|p| sh(p)).collect();
        c.text.push_str(&format!(
            "RUN for f in {}; do if [ -f \"$f\" ] && [ ! -L \"$f\" ]; then cat /tmp/trustbake-certifi-append.pem >> \"$f\"; fi; done && rm -f /tmp/trustbake-certifi-append.pem\n",
            paths.join(" ")
        ));
    }
    Ok(())
}

/// Node's extra file: trustbake's with the variable, or the image's own extended.
fn node(c: &mut Context<'_>) -> Result<(), Error> {
    if let (Some(node), false) = (&c.layout.node, c.certs.is_empty()) {
        let pem: String = c
            .certs
            .iter()
            .map(|c| format!("# {}\n{}", c.label(), c.to_pem()))
            .collect();
        write_file(&c.dir.join("node-extra-ca-certs.pem"), pem.as_bytes())?;
        c.files.push("node-extra-ca-certs.pem".to_owned());
        c.text.push_str(&format!(
            "# Node.js ({}) reads its own roots plus the file NODE_EXTRA_CA_CERTS names\n",
            node.program
        ));
        if node.set {
            c.text.push_str(&format!(
                "COPY --chmod=0644 node-extra-ca-certs.pem {}\nENV NODE_EXTRA_CA_CERTS={}\n",
                node.path, node.path
            ));
        } else {
            c.text
                .push_str("COPY node-extra-ca-certs.pem /tmp/trustbake-node-extra.pem\n");
            c.text.push_str(&format!(
                "RUN f={}; if [ -s \"$f\" ] && [ -n \"$(tail -c 1 \"$f\")\" ]; then echo >> \"$f\"; fi; cat /tmp/trustbake-node-extra.pem >> \"$f\" && chmod a+r \"$f\" && rm -f /tmp/trustbake-node-extra.pem\n",
                sh(&node.path)
            ));
        }
    }
    Ok(())
}

/// Creates the file at `path` with `bytes`, mode 0644: exclusively (a file or a link already
/// there is an error, never followed or overwritten).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .and_then(|mut f| {
            // The umask may have narrowed the mode: COPY keeps it, and others must read.
            f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
            f.write_all(bytes)
        })
        .map_err(|e| Error::Output {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}
