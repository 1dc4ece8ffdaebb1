//! One download feeds two readers: while a registry layer is scanned, the same bytes go to the
//! destination ([`TeeUploads`]), so a base layer the destination lacks is downloaded once.
//! Memory stays bounded (a few chunks in flight per layer); the destination verifies every byte
//! against the digest, and a scan that fails midway leaves nothing stored.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::digest::{Digest, VerifyingReader};
use crate::error::ImageError;
use crate::model::Descriptor;
use crate::source::Layer;

/// A destination's blob store, usable from several threads at once.
pub trait BlobSink: Send + Sync {
    /// Stores the blob from `content` (exactly its bytes, verified on the way).
    fn put(&self, blob: &Descriptor, content: &mut dyn Read) -> Result<(), ImageError>;
}

/// Chunks in flight between a scan and its upload.
const IN_FLIGHT: usize = 8;

type Running = Vec<(Digest, JoinHandle<Result<(), ImageError>>)>;

/// The blobs to store while they are scanned. Dropped without [`TeeUploads::finish`] (a scan
/// failed), it stops every upload still running and waits for its thread.
pub struct TeeUploads {
    sink: Arc<dyn BlobSink>,
    wanted: Mutex<HashMap<Digest, Descriptor>>,
    running: Mutex<Running>,
    stop: Arc<crate::stop::Stop>,
}

impl std::fmt::Debug for TeeUploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeeUploads").finish_non_exhaustive()
    }
}

impl TeeUploads {
    /// Stores each of `blobs` into `sink` as it is scanned.
    pub fn new(sink: Arc<dyn BlobSink>, blobs: Vec<Descriptor>) -> Self {
        TeeUploads {
            sink,
            wanted: Mutex::new(blobs.into_iter().map(|d| (d.digest, d)).collect()),
            running: Mutex::new(Vec::new()),
            stop: Arc::new(crate::stop::Stop::new()),
        }
    }

    /// A writer for `layer`'s bytes, once per blob.
    pub(crate) fn writer(&self, layer: &Layer) -> Option<Box<dyn Write + Send>> {
        let digest = layer.digest?;
        let descriptor = self.wanted.lock().ok()?.remove(&digest)?;
        let (tx, rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let sink = Arc::clone(&self.sink);
        let stop = Arc::clone(&self.stop);
        let handle = std::thread::spawn(move || {
            let reader = ChannelReader {
                rx,
                chunk: Vec::new(),
                at: 0,
                stop: Arc::clone(&stop),
            };
            let mut verified = VerifyingReader::new(reader, descriptor.digest, descriptor.size);
            sink.put(&descriptor, &mut verified)
        });
        if let Ok(mut running) = self.running.lock() {
            running.push((digest, handle));
        }
        Some(Box::new(ChannelWriter { tx }))
    }

    /// Waits for every store; returns the blobs stored.
    pub fn finish(self) -> Vec<Digest> {
        let running = self
            .running
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        running
            .into_iter()
            .filter_map(|(digest, handle)| match handle.join() {
                Ok(Ok(())) => Some(digest),
                // Not stored: the blob is copied with the rest when the image is written.
                _ => None,
            })
            .collect()
    }
}

impl Drop for TeeUploads {
    fn drop(&mut self) {
        let running = self
            .running
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        if running.is_empty() {
            return;
        }
        // Not finished: a scan failed. Every upload still running stops at its next read (an
        // upload session it opened is cancelled by the client), and is waited for.
        self.stop.halt();
        for (_, handle) in running {
            let _ = handle.join();
        }
    }
}

struct ChannelWriter {
    tx: SyncSender<Vec<u8>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .send(buf.to_vec())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
    stop: Arc<crate::stop::Stop>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.chunk.len() {
            if self.stop.stopped() {
                return Err(std::io::Error::other(
                    "stopped: the scan of this layer failed",
                ));
            }
            match self.rx.recv_timeout(std::time::Duration::from_millis(200)) {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Err(RecvTimeoutError::Timeout) => {}
                // The scan is done (or stopped): the end of the blob.
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A reader that also writes what it reads to a writer, until the writer fails (then the
/// reading goes on alone).
pub(crate) struct TeeRead<R> {
    pub(crate) inner: R,
    pub(crate) out: Option<Box<dyn Write + Send>>,
}

impl<R: Read> Read for TeeRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0
            && let Some(out) = self.out.as_mut()
            && out.write_all(&buf[..n]).is_err()
        {
            self.out = None;
        }
        Ok(n)
    }
}
