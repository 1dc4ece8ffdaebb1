//! Ending a group of threads when one fails: the first error wins, the others are told to stop
//! (their reads fail at the next call) and are joined by their owner. Used by the parallel
//! layer scan, the tee uploads and the parallel blob copies.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::ImageError;

/// A stop flag shared by a group of threads, and the group's first error.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    flag: Arc<AtomicBool>,
    first: Mutex<Option<ImageError>>,
}

impl Stop {
    pub(crate) fn new() -> Self {
        Stop::default()
    }

    /// Whether a thread of the group failed (or the owner gave up).
    pub(crate) fn stopped(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Tells every thread to stop, without an error (the owner is done).
    pub(crate) fn halt(&self) {
        self.flag.store(true, Ordering::Release);
    }

    /// Records `error` — kept only when it is the group's first (a later one is most likely
    /// the stop it caused) — and tells every thread to stop.
    pub(crate) fn fail(&self, error: ImageError) {
        if let Ok(mut first) = self.first.lock()
            && first.is_none()
            && !self.stopped()
        {
            *first = Some(error);
        }
        self.halt();
    }

    /// The group's first error, if any.
    pub(crate) fn take_error(&self) -> Option<ImageError> {
        self.first.lock().ok().and_then(|mut f| f.take())
    }

    /// `inner`, failing at its next read once the group is stopped.
    pub(crate) fn reader<R: Read>(&self, inner: R) -> Stoppable<R> {
        Stoppable {
            inner,
            flag: Arc::clone(&self.flag),
        }
    }
}

/// A reader that fails once its group is stopped.
pub(crate) struct Stoppable<R> {
    inner: R,
    flag: Arc<AtomicBool>,
}

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.flag.load(Ordering::Acquire) {
            return Err(std::io::Error::other(
                "stopped: another transfer of this run failed",
            ));
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_first_error_wins_and_readers_stop() {
        let stop = Stop::new();
        let mut reader = stop.reader(&b"abc"[..]);
        let mut buf = [0u8; 1];
        assert_eq!(reader.read(&mut buf).unwrap(), 1);
        stop.fail(ImageError::BadBlob {
            image: "x".into(),
            detail: "first".into(),
        });
        stop.fail(ImageError::BadBlob {
            image: "x".into(),
            detail: "second".into(),
        });
        assert!(reader.read(&mut buf).is_err());
        assert!(stop.take_error().unwrap().to_string().contains("first"));
    }
}
