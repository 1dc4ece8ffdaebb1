//! Reading CA input from files, directories and stdin: the I/O edge of certificate intake.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use trustbake_certs::{Intake, IntakeError, Policy, Refusal, Source, intake};

use crate::Error;

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
                let mut bytes = Vec::new();
                match std::io::stdin().read_to_end(&mut bytes) {
                    Ok(_) => sources.push(Source::new("<stdin>", bytes)),
                    Err(err) => refusals.push(unreadable(Path::new("<stdin>"), &err)),
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
                        read_file(&file, &mut sources, &mut refusals);
                    }
                }
                Err(err) => refusals.push(unreadable(path, &err)),
            },
            CaInput::Path(path) => read_file(path, &mut sources, &mut refusals),
        }
    }
    (sources, refusals)
}

fn read_file(path: &Path, sources: &mut Vec<Source>, refusals: &mut Vec<Refusal>) {
    match fs::read(path) {
        Ok(bytes) => sources.push(Source::new(path.display().to_string(), bytes)),
        Err(err) => refusals.push(unreadable(path, &err)),
    }
}

fn certificate_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| CERT_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)));
        if wanted && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn unreadable(path: &Path, err: &std::io::Error) -> Refusal {
    let reason = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    };
    Refusal::Unreadable {
        input: path.display().to_string(),
        reason,
    }
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
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.PEM", "b.crt", "c.der", "d.cer"]);
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
