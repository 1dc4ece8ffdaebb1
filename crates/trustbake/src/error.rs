//! Everything that can go wrong in the library, and the command line's exit status for each.

use trustbake_certs::IntakeError;
use trustbake_image::ImageError;

use crate::root::ApplyError;

/// Everything that can go wrong; [`Error::exit_code`] is the command line's status for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No CA input was given.
    #[error("no CA given")]
    NoCa,
    /// The CA input was refused.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// The version string is not a version.
    #[error(transparent)]
    Version(#[from] trustbake_targets::VersionError),
    /// The product is unknown, or the version has no answer in the map.
    #[error(transparent)]
    Target(Box<trustbake_targets::TargetError>),
    /// The trust-store engine could not plan.
    #[error(transparent)]
    Store(#[from] trustbake_store::StoreError),
    /// A plan could not be written.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// An image could not be read or written.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A signing key that cannot be used, or a signed document that is not what it says.
    #[error(transparent)]
    Sign(#[from] trustbake_sign::SignError),
    /// A server chain (or runtime certificates) that could not be read.
    #[error("{from}: {reason}")]
    ChainInput {
        /// The file, directory or URL.
        from: String,
        /// Why.
        reason: String,
    },
    /// An argument that does not parse (a time, a variable).
    #[error("{what}: {reason}")]
    BadArgument {
        /// The argument.
        what: String,
        /// Why.
        reason: String,
    },
    /// An Anchore config that cannot be read, is not YAML, or that Anchore would refuse.
    #[error("{path}: {reason}")]
    Config {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file trustbake writes could not be written.
    #[error("{path}: {reason}")]
    Output {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A server's chain could not be fetched.
    #[error("{url}: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A root file system that is not a directory.
    #[error("{}: not a directory (an unpacked root file system is expected)", path.display())]
    NotARoot {
        /// The path given.
        path: std::path::PathBuf,
    },
}

impl From<trustbake_targets::TargetError> for Error {
    fn from(err: trustbake_targets::TargetError) -> Self {
        Error::Target(Box::new(err))
    }
}

impl Error {
    /// The exit status: 1 failed, 2 usage (an argument that does not parse, no CA given),
    /// 3 CA input refused.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Intake(_) | Error::ChainInput { .. } | Error::Config { .. } => 3,
            Error::NoCa | Error::Version(_) | Error::BadArgument { .. } => 2,
            // A signing or public key that cannot be used is the caller's to fix.
            Error::Sign(
                trustbake_sign::SignError::Key { .. }
                | trustbake_sign::SignError::WrongPassword { .. },
            ) => 2,
            Error::Target(e)
                if matches!(
                    **e,
                    trustbake_targets::TargetError::UnknownProduct { .. }
                        | trustbake_targets::TargetError::UnknownComponent { .. }
                ) =>
            {
                2
            }
            Error::Image(
                ImageError::BadReference { .. }
                | ImageError::BadPlatform { .. }
                | ImageError::DidYouMean { .. }
                | ImageError::NoSuchPath { .. }
                | ImageError::NameOne { .. },
            ) => 2,
            _ => 1,
        }
    }
}
