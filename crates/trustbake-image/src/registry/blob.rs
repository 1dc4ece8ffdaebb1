//! The blob reader: a blob GET read as a stream, resumed with `Range` after a dropped
//! connection, counted as it goes.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::client::{ATTEMPTS, Body, Call, Client, Kind, backoff};
use super::net;
use super::net::Pace;
use super::token::pull_scope;
use super::transfer::Action;
use crate::digest::Digest;

impl Client {
    /// A reader over a blob: verified by the caller; a dropped connection is resumed with
    /// `Range` (or restarted when the registry ignores it).
    pub(crate) fn blob_reader(
        self: &Arc<Self>,
        repository: &str,
        digest: Digest,
        size: Option<u64>,
    ) -> BlobReader {
        BlobReader {
            client: Arc::clone(self),
            path: format!("/v2/{repository}/blobs/{digest}"),
            scopes: vec![pull_scope(repository)],
            digest,
            size,
            offset: 0,
            body: None,
            failures: 0,
            pace: Pace::new(&self.limits),
        }
    }
}

/// A blob download that resumes after a dropped connection.
pub(crate) struct BlobReader {
    client: Arc<Client>,
    path: String,
    scopes: Vec<String>,
    digest: Digest,
    size: Option<u64>,
    offset: u64,
    body: Option<ureq::BodyReader<'static>>,
    failures: u32,
    pace: Pace,
}

impl BlobReader {
    fn open(&mut self) -> std::io::Result<()> {
        let range = format!("bytes={}-", self.offset);
        let headers: Vec<(&str, &str)> = if self.offset > 0 {
            vec![("Range", range.as_str())]
        } else {
            Vec::new()
        };
        let what = format!("downloading blob {}", self.digest);
        let response = self
            .client
            .call(Call {
                kind: Kind::Blob,
                method: "GET",
                path: &self.path,
                headers: &headers,
                body: Body::Empty,
                scopes: &self.scopes,
                what: &what,
            })
            .map_err(std::io::Error::other)?;
        let status = response.status().as_u16();
        let resumed = status == 206;
        if !(status == 200 || resumed) {
            let reference = format!("{}{}", self.client.registry, self.path);
            return Err(std::io::Error::other(
                self.client.failure(response, &what, &reference),
            ));
        }
        if self.size.is_none() && status == 200 {
            self.size = response.body().content_length();
        }
        if resumed {
            let range = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(net::content_range);
            if range.is_none_or(|(start, _)| start != self.offset) {
                return Err(std::io::Error::other(format!(
                    "{what}: a resumed download answered 206 for another range than bytes={}-",
                    self.offset
                )));
            }
        }
        let mut reader = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        if self.offset > 0 && !resumed {
            // The registry ignored the range: skip what was already read.
            let skipped =
                std::io::copy(&mut (&mut reader).take(self.offset), &mut std::io::sink())?;
            if skipped != self.offset {
                return Err(std::io::Error::other(
                    "the blob ended before where it was resumed",
                ));
            }
        }
        self.body = Some(reader);
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.size.is_some_and(|s| self.offset >= s) {
                // Read one byte past the end only to notice a longer blob.
                if self.body.is_none() {
                    return Ok(0);
                }
            }
            if self.body.is_none() {
                self.open()?;
            }
            let Some(body) = self.body.as_mut() else {
                return Ok(0);
            };
            let read = body.read(buf);
            self.pace.check(self.offset)?;
            match read {
                Ok(0) => {
                    let short = self.size.is_some_and(|s| self.offset < s);
                    if short && self.failures < ATTEMPTS && self.client.retry() {
                        // A connection closed early: resume.
                        self.failures += 1;
                        self.body = None;
                        std::thread::sleep(backoff(self.failures));
                        continue;
                    }
                    return Ok(0);
                }
                Ok(n) => {
                    self.offset += n as u64;
                    self.client
                        .transfer
                        .downloaded
                        .fetch_add(n as u64, Ordering::Relaxed);
                    self.client
                        .report(Action::Download, self.digest, self.offset, self.size);
                    return Ok(n);
                }
                Err(e)
                    if e.kind() != std::io::ErrorKind::TimedOut
                        && self.failures < ATTEMPTS
                        && self.client.retry() =>
                {
                    self.failures += 1;
                    self.body = None;
                    std::thread::sleep(backoff(self.failures));
                }
                Err(e) => return Err(e),
            }
        }
    }
}
