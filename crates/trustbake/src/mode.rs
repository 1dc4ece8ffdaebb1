//! Whether a command writes.

/// Whether a command writes or only says what it would write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Write.
    Write,
    /// Write nothing; report what would be written.
    Preview,
}
