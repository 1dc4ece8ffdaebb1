//! Reading CA input from files, directories and stdin: the I/O edge of certificate intake.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use trustbake_certs::{Intake, IntakeError, Policy, Refusal, Source, intake};

use crate::error::Error;

/// The largest config, certificate, key or chain file read.
pub(crate) const MAX_FILE: u64 = 4 * 1024 * 1024;

/// The file extensions taken from a directory given as CA input.
const CERT_EXTENSIONS: &[&str] = &["pem", "crt", "cer", "der"];

/// One CA input as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CaInput {
    /// A file (one or many PEM blocks, or DER) or a directory of them.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl CaInput {
    /// `-` is stdin; anything else a path.
    pub(crate) fn from_path(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            CaInput::Stdin
        } else {
            CaInput::Path(path.to_path_buf())
        }
    }
}

/// Reads and validates every CA of `inputs` (files, directories, `-` for stdin) under `policy`.
/// Nothing is partial: any unreadable input or refused certificate fails the whole call, and
/// the error lists every problem found. No input at all is [`Error::NoCa`].
pub fn load_cas(inputs: &[impl AsRef<Path>], policy: Policy) -> Result<Intake, Error> {
    if inputs.is_empty() {
        return Err(Error::NoCa);
    }
    let inputs: Vec<CaInput> = inputs.iter().map(CaInput::from_path).collect();
    let (sources, mut refusals) = read_sources(&inputs);
    if !refusals.is_empty() && sources.is_empty() {
        return Err(IntakeError::new(refusals).into());
    }
    match intake(&sources, &policy) {
        Ok(cas) if refusals.is_empty() => Ok(cas),
        Ok(_) => Err(IntakeError::new(refusals).into()),
        Err(err) => {
            refusals.extend(err.into_refusals());
            Err(IntakeError::new(refusals).into())
        }
    }
}

/// Reads `inputs` into sources: a directory contributes its `*.pem`, `*.crt`, `*.cer` and
/// `*.der` files (not recursively, sorted by name); stdin is read once. Inputs that cannot be
/// read are returned as refusals beside the sources that could.
pub(crate) fn read_sources(inputs: &[CaInput]) -> (Vec<Source>, Vec<Refusal>) {
    let mut sources = Vec::new();
    let mut refusals = Vec::new();
    let mut stdin_read = false;
    for input in inputs {
        match input {
            CaInput::Stdin if stdin_read => {}
            CaInput::Stdin => {
                stdin_read = true;
                match read_bounded(std::io::stdin().lock(), "<stdin>") {
                    Ok(bytes) => sources.push(Source::new("<stdin>", bytes)),
                    Err(refusal) => refusals.push(refusal),
                }
            }
            CaInput::Path(path) if path.is_dir() => match certificate_files(path) {
                Ok(files) if files.is_empty() => {
                    refusals.push(Refusal::EmptyDirectory {
                        input: path.display().to_string(),
                    });
                }
                Ok(files) => {
                    for file in files {
                        match file {
                            Ok(file) => read_file(&file, &mut sources, &mut refusals),
                            Err(refusal) => refusals.push(refusal),
                        }
                    }
                }
                Err(err) => refusals.push(unreadable(path, &err)),
            },
            CaInput::Path(path) => read_file(path, &mut sources, &mut refusals),
        }
    }
    (sources, refusals)
}

/// The most one CA input may hold: far above a bundle of every public root (a quarter of a
/// megabyte), low enough that a device or a runaway file is refused, not read until memory
/// runs out.
pub(crate) const MAX_CA_INPUT: u64 = 256 * 1024 * 1024;

fn read_file(path: &Path, sources: &mut Vec<Source>, refusals: &mut Vec<Refusal>) {
    let read = fs::File::open(path)
        .map_err(|err| unreadable(path, &err))
        .and_then(|file| read_bounded(file, &path.display().to_string()));
    match read {
        Ok(bytes) => sources.push(Source::new(path.display().to_string(), bytes)),
        Err(refusal) => refusals.push(refusal),
    }
}

/// Reads at most [`MAX_CA_INPUT`] bytes; more is a refusal.
fn read_bounded(reader: impl Read, name: &str) -> Result<Vec<u8>, Refusal> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_CA_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| unreadable(Path::new(name), &err))?;
    if bytes.len() as u64 > MAX_CA_INPUT {
        return Err(Refusal::TooLarge {
            input: name.to_owned(),
            limit: MAX_CA_INPUT,
        });
    }
    Ok(bytes)
}

/// The certificate files of `dir`, sorted: each a readable path, or a refusal for a name that
/// looks like a certificate but leads nowhere (a dangling link, a loop, not a file).
fn certificate_files(dir: &Path) -> std::io::Result<Vec<Result<PathBuf, Refusal>>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| CERT_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)));
        if !wanted {
            continue;
        }
        match fs::metadata(&path) {
            Ok(md) if md.is_file() => files.push(Ok(path)),
            Ok(md) if md.is_dir() => {}
            Ok(_) => files.push(Err(Refusal::Unreadable {
                input: path.display().to_string(),
                reason: "not a regular file".to_owned(),
            })),
            Err(err) => files.push(Err(unreadable(&path, &err))),
        }
    }
    files.sort_by_key(name_of);
    Ok(files)
}

fn name_of(file: &Result<PathBuf, Refusal>) -> String {
    match file {
        Ok(path) => path.display().to_string(),
        Err(refusal) => refusal.to_string(),
    }
}

fn unreadable(path: &Path, err: &std::io::Error) -> Refusal {
    Refusal::Unreadable {
        input: path.display().to_string(),
        reason: io_reason(path, err),
    }
}

/// Why a file cannot be read, in the words every input of trustbake uses.
pub(crate) fn io_reason(path: &Path, err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound if fs::symlink_metadata(path).is_ok() => {
            "a symbolic link that leads nowhere".to_owned()
        }
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ if err.raw_os_error() == Some(40) => "a loop of symbolic links".to_owned(),
        _ => err.to_string(),
    }
}

/// The bytes of the file at `path` (its metadata too), reading at most `limit` bytes: a larger
/// file — or a device that never ends — is an error, whatever its size claims.
pub(crate) fn read_limited(
    path: &Path,
    limit: u64,
) -> Result<(Vec<u8>, std::fs::Metadata), String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot be read: {}", io_reason(path, &e)))?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "more than {limit} bytes: not a file trustbake reads"
        ));
    }
    Ok((bytes, meta))
}

/// A CA both to add and to remove is a mistake said as such.
pub(crate) fn no_overlap(cas: &Intake, remove: &[trustbake_store::Removal]) -> Result<(), Error> {
    for ca in cas.cas() {
        if remove.iter().any(|r| r.sha256() == ca.certificate.sha256()) {
            return Err(Error::BadArgument {
                what: "--remove".into(),
                reason: format!(
                    "{} (sha256:{}) is given both to add (--ca) and to remove",
                    ca.certificate.label(),
                    ca.certificate.sha256().hex()
                ),
            });
        }
    }
    Ok(())
}

/// The CAs to distrust, each given as a SHA-256 fingerprint (hex, with or without `:`s and a
/// `sha256:` prefix, as `inspect` and `openssl x509 -fingerprint -sha256` print it) or as a file
/// or directory of certificates (read like `--ca`, but any certificate is accepted: an expired
/// or non-CA certificate can be distrusted too).
pub fn load_removals(inputs: &[impl AsRef<str>]) -> Result<Vec<trustbake_store::Removal>, Error> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    for input in inputs {
        let text = input.as_ref();
        let bare = text
            .strip_prefix("sha256:")
            .or_else(|| text.strip_prefix("SHA256:"))
            .unwrap_or(text);
        match trustbake_certs::Sha256Fingerprint::from_hex(bare) {
            Some(f) => out.push(trustbake_store::Removal::Fingerprint(f)),
            None if text.len() >= 40
                && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
                && !Path::new(text).exists() =>
            {
                return Err(Error::BadArgument {
                    what: "--remove".into(),
                    reason: format!(
                        "{text}: neither a SHA-256 fingerprint (64 hex digits) nor a file"
                    ),
                });
            }
            None => files.push(text.to_owned()),
        }
    }
    if !files.is_empty() {
        let policy = Policy {
            allow_non_ca: true,
            allow_expired: true,
            now: 0,
        };
        let intake = load_cas(&files, policy)?;
        out.extend(
            intake
                .cas()
                .iter()
                .map(|ca| trustbake_store::Removal::Certificate(Box::new(ca.certificate.clone()))),
        );
    }
    Ok(out)
}

/// Every certificate of a PEM bundle or DER file (at most 4 MiB), read leniently: for CAs a
/// check is given, not CAs to bake (those pass [`load_cas`]).
pub fn read_certificates(
    path: &std::path::Path,
) -> Result<Vec<trustbake_certs::Certificate>, Error> {
    let (bytes, _) = read_limited(path, MAX_FILE).map_err(|reason| Error::ChainInput {
        from: path.display().to_string(),
        reason,
    })?;
    Ok(trustbake_certs::read_bundle(&bytes).certificates)
}

/// The bundles a user names with `--bundle`: absolute paths inside the image, without `.` or
/// `..` components (a path is the image's, never the host's), each once.
pub(crate) fn bundle_paths(paths: &[impl AsRef<str>]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let parts: Vec<&str> = path.split('/').skip(1).filter(|p| !p.is_empty()).collect();
        if !path.starts_with('/')
            || parts.is_empty()
            || parts.iter().any(|p| *p == "." || *p == "..")
        {
            return Err(Error::BadArgument {
                what: "--bundle".into(),
                reason: format!(
                    "{path:?}: name a file inside the image by its absolute path, without . or .."
                ),
            });
        }
        let normal = format!("/{}", parts.join("/"));
        if !out.contains(&normal) {
            out.push(normal);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_contributes_only_certificate_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.crt", "a.PEM", "c.der", "d.cer", "notes.txt", "key.key"] {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        fs::create_dir(dir.path().join("sub.pem")).unwrap();
        let names: Vec<String> = certificate_files(dir.path())
            .unwrap()
            .iter()
            .map(|p| {
                p.as_ref()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.PEM", "b.crt", "c.der", "d.cer"]);
    }

    #[test]
    fn a_link_that_leads_nowhere_is_refused_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.pem"), "x").unwrap();
        std::os::unix::fs::symlink("missing.pem", dir.path().join("b.pem")).unwrap();
        std::os::unix::fs::symlink("c.pem", dir.path().join("c.pem")).unwrap();
        let files = certificate_files(dir.path()).unwrap();
        let refused: Vec<String> = files
            .iter()
            .filter_map(|f| f.as_ref().err().map(ToString::to_string))
            .collect();
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused[0].ends_with("b.pem: cannot be read: a symbolic link that leads nowhere"));
        assert!(refused[1].ends_with("c.pem: cannot be read: a loop of symbolic links"));
    }

    #[test]
    fn missing_files_and_empty_directories_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = load_cas(&[&missing, &dir.path().to_path_buf()], Policy::at(0)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("missing.pem: cannot be read: no such file or directory"),
            "{text}"
        );
        assert!(
            text.contains("the directory holds no *.pem, *.crt, *.cer or *.der file"),
            "{text}"
        );
        let Error::Intake(err) = err else {
            panic!("not an intake error: {err}")
        };
        assert_eq!(err.refusals().len(), 2);
    }

    #[test]
    fn no_input_is_no_ca_given() {
        let none: [&str; 0] = [];
        assert!(matches!(load_cas(&none, Policy::at(0)), Err(Error::NoCa)));
    }
}
