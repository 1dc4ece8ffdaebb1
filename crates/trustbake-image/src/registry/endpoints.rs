//! The distribution API's endpoints: manifests (HEAD, GET, PUT), blob HEAD, cross-repository
//! mount, monolithic and chunked uploads, and tag lists (paged, bounded).

use std::io::Read;
use std::sync::atomic::Ordering;

use ureq::http::{self, Response};

use super::client::{
    ACCEPT, Body, Call, Client, Kind, configure, is_redirect, location, shown_url,
    transport_detail, with_digest,
};
use super::net;
use super::net::Pace;
use super::session::Session;
use super::token::{pull_scope, push_scope};
use super::transfer::Action;
use super::{RegistryError, Role};
use crate::digest::Digest;
use crate::model::{Descriptor, media_type};
use crate::reference::RegistryRef;

/// The largest chunk of a chunked upload (GHCR refuses request bodies over 4 MiB).
const CHUNK: usize = 4 * 1024 * 1024 - 64 * 1024;

impl Client {
    /// Resolves a tag or digest: HEAD first (rate limits count GETs), then GET by digest;
    /// the bytes are verified against the digest.
    pub(crate) fn get_manifest(
        &self,
        reference: &RegistryRef,
        by: &str,
        expected: Option<&Descriptor>,
    ) -> Result<(Descriptor, Vec<u8>), RegistryError> {
        let repo = &reference.repository;
        let scopes = [pull_scope(repo)];
        let shown = format!("{}/{repo}:{by}", self.registry);
        let shown = if by.starts_with("sha256:") {
            shown.replacen(&format!(":{by}"), &format!("@{by}"), 1)
        } else {
            shown
        };
        let path = format!("/v2/{repo}/manifests/{by}");
        let mut digest = Digest::parse(by).ok();
        if digest.is_none() {
            let head = self.send(
                "HEAD",
                &path,
                &[("Accept", ACCEPT)],
                Body::Empty,
                &scopes,
                "reading the manifest",
            )?;
            if !head.status().is_success() {
                return Err(self.failure(head, "reading the manifest", &shown));
            }
            digest = head
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| Digest::parse(v).ok());
        }
        let get_by = digest
            .map(|d| d.to_string())
            .unwrap_or_else(|| by.to_owned());
        let mut response = self.send(
            "GET",
            &format!("/v2/{repo}/manifests/{get_by}"),
            &[("Accept", ACCEPT)],
            Body::Empty,
            &scopes,
            "reading the manifest",
        )?;
        if !response.status().is_success() {
            return Err(self.failure(response, "reading the manifest", &shown));
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let bytes = response
            .body_mut()
            .with_config()
            .limit(crate::limits::MAX_DOCUMENT)
            .read_to_vec()
            .map_err(|e| {
                self.protocol(
                    "reading the manifest",
                    format!("{shown}: {}", transport_detail(&e)),
                )
            })?;
        self.transfer
            .manifest_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let found = Digest::of(&bytes);
        if let Some(d) = digest
            && d != found
        {
            return Err(self.protocol(
                "reading the manifest",
                format!("{shown}: the registry sent bytes with digest {found}, not {d}"),
            ));
        }
        let media = match (expected, content_type, media_type_in(&bytes)) {
            (_, _, Some(inner)) => inner,
            (Some(e), _, None) => e.media_type.clone(),
            (None, Some(ct), None) => ct,
            (None, None, None) => {
                return Err(
                    self.protocol("reading the manifest", format!("{shown}: no media type"))
                );
            }
        };
        if media == "application/vnd.docker.distribution.manifest.v1+json"
            || media == "application/vnd.docker.distribution.manifest.v1+prettyjws"
        {
            return Err(self.protocol(
                "reading the manifest",
                format!("{shown}: a schema 1 manifest (obsolete, unsupported): push the image again with a current tool"),
            ));
        }
        let descriptor = Descriptor::new(&media, bytes.len() as u64, found);
        Ok((descriptor, bytes))
    }

    /// Whether `repository` has the blob (HEAD).
    pub(crate) fn has_blob(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        self.exists(repository, "blobs", digest)
    }

    /// Whether a manifest is in `repository` (HEAD by digest).
    pub(crate) fn has_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        self.exists(repository, "manifests", digest)
    }

    /// `HEAD /v2/REPO/{blobs|manifests}/DIGEST`: 2xx is there, 404 is not.
    fn exists(&self, repository: &str, kind: &str, digest: &Digest) -> Result<bool, RegistryError> {
        let what = format!("checking for {} {digest}", kind.trim_end_matches('s'));
        let accept: &[(&str, &str)] = if kind == "manifests" {
            &[("Accept", ACCEPT)]
        } else {
            &[]
        };
        let response = self.send(
            "HEAD",
            &format!("/v2/{repository}/{kind}/{digest}"),
            accept,
            Body::Empty,
            &[push_scope(repository)],
            &what,
        )?;
        match response.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(self.failure(response, &what, &format!("{}/{repository}", self.registry))),
        }
    }

    /// Mounts a blob from `from` (same registry); `false` when the registry did not (any answer
    /// but 201: an upload session it opened instead is cancelled).
    pub(crate) fn mount(
        &self,
        repository: &str,
        digest: &Digest,
        from: &str,
    ) -> Result<bool, RegistryError> {
        let what = format!("mounting blob {digest} from {from}");
        // The destination's scope first: some registries read only the first.
        let scopes = [push_scope(repository), pull_scope(from)];
        let response = self.send(
            "POST",
            &format!("/v2/{repository}/blobs/uploads/?mount={digest}&from={from}"),
            &[("Content-Length", "0")],
            Body::Empty,
            &scopes,
            &what,
        );
        let response = match response {
            Ok(r) => r,
            // A registry refusing the token for the mount source: upload instead.
            Err(RegistryError::Unauthorized { .. } | RegistryError::Denied { .. }) => {
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        match response.status().as_u16() {
            201 => Ok(true),
            202 => {
                if let Some(location) = location(&response) {
                    self.cancel(repository, &location);
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Cancels an upload session (best effort).
    pub(crate) fn cancel(&self, repository: &str, location: &str) {
        let _ = self.send(
            "DELETE",
            location,
            &[],
            Body::Empty,
            &[push_scope(repository)],
            "cancelling an upload",
        );
    }

    /// Opens an upload session; returns its `Location`.
    fn start_upload(&self, repository: &str, what: &str) -> Result<String, RegistryError> {
        let response = self.send(
            "POST",
            &format!("/v2/{repository}/blobs/uploads/"),
            &[("Content-Length", "0")],
            Body::Empty,
            &[push_scope(repository)],
            what,
        )?;
        if response.status().as_u16() != 202 {
            return Err(self.failure(response, what, &format!("{}/{repository}", self.registry)));
        }
        location(&response).ok_or_else(|| self.protocol(what, "202 without a Location".into()))
    }

    /// Uploads a blob in one PUT, from bytes in memory (retried whole on failure); in chunks
    /// when the registry refuses it in one.
    pub(crate) fn upload_bytes(
        &self,
        repository: &str,
        blob: &Descriptor,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        if self.chunked.load(Ordering::Relaxed) {
            return self.upload_chunked(repository, blob, &mut &bytes[..]);
        }
        let what = format!("uploading blob {}", blob.digest);
        let location = self.start_upload(repository, &what)?;
        let url = with_digest(&location, &blob.digest);
        let response = self.call(Call {
            kind: Kind::Blob,
            method: "PUT",
            path: &url,
            headers: &[],
            body: Body::Bytes(bytes, "application/octet-stream"),
            scopes: &[push_scope(repository)],
            what: &what,
        });
        match self.finish_upload(repository, &location, response, blob, &what) {
            Err(RegistryError::RestartInChunks { .. }) => {
                self.upload_chunked(repository, blob, &mut &bytes[..])
            }
            other => {
                if other.is_ok() {
                    self.transfer
                        .uploaded
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    self.report(Action::Upload, blob.digest, blob.size, Some(blob.size));
                }
                other
            }
        }
    }

    /// Uploads a blob in PATCHes of at most [`CHUNK`] bytes, then the closing PUT.
    fn upload_chunked(
        &self,
        repository: &str,
        blob: &Descriptor,
        content: &mut dyn Read,
    ) -> Result<(), RegistryError> {
        let what = format!("uploading blob {} in chunks", blob.digest);
        let scopes = [push_scope(repository)];
        let mut location = self.start_upload(repository, &what)?;
        let mut buf = vec![0u8; CHUNK];
        let mut offset = 0u64;
        loop {
            let mut n = 0;
            while n < buf.len() {
                match content.read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) => {
                        self.cancel(repository, &location);
                        return Err(self.protocol(&what, format!("reading the blob: {e}")));
                    }
                }
            }
            if n == 0 {
                break;
            }
            let range = format!("{offset}-{}", offset + n as u64 - 1);
            let response = self.call(Call {
                kind: Kind::Blob,
                method: "PATCH",
                path: &location,
                headers: &[("Content-Range", &range)],
                body: Body::Bytes(&buf[..n], "application/octet-stream"),
                scopes: &scopes,
                what: &what,
            });
            let response = match response {
                Ok(r) if r.status().as_u16() == 202 => r,
                other => {
                    let err = match other {
                        Ok(r) => self.failure(r, &what, &format!("{}/{repository}", self.registry)),
                        Err(e) => e,
                    };
                    self.cancel(repository, &location);
                    return Err(err);
                }
            };
            if let Some(next) = super::client::location(&response) {
                location = next;
            }
            offset += n as u64;
            self.transfer
                .uploaded
                .fetch_add(n as u64, Ordering::Relaxed);
            self.report(Action::Upload, blob.digest, offset, Some(blob.size));
        }
        let response = self.send(
            "PUT",
            &with_digest(&location, &blob.digest),
            &[],
            Body::Bytes(&[], "application/octet-stream"),
            &scopes,
            &what,
        );
        self.finish_upload(repository, &location, response, blob, &what)
    }

    /// Uploads a blob in one PUT, streaming `content` (exactly `blob.size` bytes). Not
    /// retried here: the caller opens the content again.
    pub(crate) fn upload_stream(
        &self,
        repository: &str,
        blob: &Descriptor,
        content: &mut dyn Read,
    ) -> Result<(), RegistryError> {
        if self.chunked.load(Ordering::Relaxed) {
            return self.upload_chunked(repository, blob, content);
        }
        let what = format!("uploading blob {}", blob.digest);
        let location = self.start_upload(repository, &what)?;
        let url = self.url(&with_digest(&location, &blob.digest));
        let (agent, authorization, target) =
            match self.route(&url, &[push_scope(repository)], false, &what) {
                Ok(routed) => routed,
                Err(e) => {
                    self.cancel(repository, &location);
                    return Err(e);
                }
            };
        let mut builder = http::Request::builder()
            .method("PUT")
            .uri(&url)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", blob.size.to_string());
        if let Some(a) = &authorization {
            builder = builder.header("Authorization", a);
        }
        let mut counting = Counting {
            inner: content,
            client: self,
            blob,
            done: 0,
            pace: Pace::new(&self.limits),
        };
        let request = builder
            .body(ureq::SendBody::from_reader(&mut counting))
            .map_err(|e| self.protocol(&what, e.to_string()))?;
        let request = configure(agent, request, Kind::Blob, &self.limits);
        self.transfer.requests.fetch_add(1, Ordering::Relaxed);
        let response = match agent.run(request) {
            Ok(r) if r.status().as_u16() == 401 && target != self.origin => {
                Err(RegistryError::CrossOrigin {
                    registry: self.registry.clone(),
                    what: what.clone(),
                    from: self.origin.to_string(),
                    to: target.to_string(),
                })
            }
            Ok(r) if is_redirect(r.status().as_u16()) => Err(RegistryError::Redirect {
                registry: self.registry.clone(),
                what: what.clone(),
                from: target.to_string(),
                to: super::client::location(&r)
                    .map(|l| shown_url(&l))
                    .unwrap_or_default(),
                why: "a streamed upload is not sent twice".into(),
            }),
            Ok(r) => Ok(r),
            Err(e) => Err(RegistryError::Connect {
                registry: self.registry.clone(),
                role: self.role,
                detail: format!("{what}: {}", transport_detail(&e)),
            }),
        };
        self.finish_upload(repository, &location, response, blob, &what)
    }

    fn finish_upload(
        &self,
        repository: &str,
        location: &str,
        response: Result<Response<ureq::Body>, RegistryError>,
        blob: &Descriptor,
        what: &str,
    ) -> Result<(), RegistryError> {
        match response {
            Ok(r) if r.status().as_u16() == 201 => Ok(()),
            Ok(r) if r.status().as_u16() == 413 => {
                self.chunked.store(true, Ordering::Relaxed);
                self.cancel(repository, location);
                Err(RegistryError::RestartInChunks {
                    registry: self.registry.clone(),
                    what: what.to_owned(),
                })
            }
            Ok(r) => {
                let err = self.failure(
                    r,
                    what,
                    &format!("{}/{repository}@{}", self.registry, blob.digest),
                );
                self.cancel(repository, location);
                Err(err)
            }
            Err(e) => {
                self.cancel(repository, location);
                Err(e)
            }
        }
    }

    /// Puts a manifest or index under `reference` (a digest or a tag), as exactly `bytes`.
    pub(crate) fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        let what = format!("pushing manifest {reference}");
        let response = self.send(
            "PUT",
            &format!("/v2/{repository}/manifests/{reference}"),
            &[],
            Body::Bytes(bytes, media),
            &[push_scope(repository)],
            &what,
        )?;
        if !response.status().is_success() {
            return Err(self.failure(response, &what, &format!("{}/{repository}", self.registry)));
        }
        if let Some(sent) = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            && sent != Digest::of(bytes).to_string()
        {
            return Err(self.protocol(
                &what,
                format!(
                    "the registry stored it as {sent}, not {}",
                    Digest::of(bytes)
                ),
            ));
        }
        Ok(())
    }
}

/// The most tags a listing gathers, and the most pages it reads for them.
const MAX_TAGS: usize = 100_000;
const MAX_TAG_PAGES: usize = 1_000;

impl Client {
    /// Every tag of `repository` (`GET /v2/REPO/tags/list`, paged by `Link` as the
    /// distribution spec says), each page a document under the origin rule: at most
    /// [`MAX_TAGS`] tags over [`MAX_TAG_PAGES`] pages.
    pub(crate) fn tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let what = format!("listing the tags of {repository}");
        let scopes = [pull_scope(repository)];
        let mut url = self.url(&format!("/v2/{repository}/tags/list"));
        let mut tags = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let mut response = self.send(
                "GET",
                &url,
                &[("Accept", "application/json")],
                Body::Empty,
                &scopes,
                &what,
            )?;
            if !response.status().is_success() {
                return Err(self.failure(
                    response,
                    &what,
                    &format!("{}/{repository}", self.registry),
                ));
            }
            let link = response
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| net::next_link(&url, v));
            let bytes = response
                .body_mut()
                .with_config()
                .limit(crate::limits::MAX_DOCUMENT)
                .read_to_vec()
                .map_err(|e| self.protocol(&what, transport_detail(&e)))?;
            let page: Page = serde_json::from_slice(&bytes).map_err(|e| {
                self.protocol(
                    &what,
                    format!("not a tag list (line {} column {})", e.line(), e.column()),
                )
            })?;
            tags.extend(page.tags.unwrap_or_default());
            if tags.len() > MAX_TAGS {
                return Err(self.protocol(&what, format!("more than {MAX_TAGS} tags")));
            }
            match link {
                Some(next) => url = next,
                None => return Ok(tags),
            }
        }
        Err(self.protocol(
            &what,
            format!("more than {MAX_TAG_PAGES} pages (the registry's Link never ends)"),
        ))
    }
}

/// Every tag of the repository `reference` names, read through `session` (source access).
pub fn list_tags(session: &Session, reference: &RegistryRef) -> Result<Vec<String>, RegistryError> {
    session
        .client(reference, Role::Source)?
        .tags(&reference.repository)
}

/// The manifest or index `reference` names (its tag by HEAD, then the document by digest,
/// verified), reached with `role`'s access; `None` when the registry has no such tag. Reads
/// no blob: what `sync` decides by.
pub fn read_manifest(
    session: &Session,
    reference: &RegistryRef,
    role: Role,
) -> Result<Option<(Descriptor, Vec<u8>)>, RegistryError> {
    let client = session.client(reference, role)?;
    match client.get_manifest(reference, &reference.manifest_reference(), None) {
        Ok(found) => Ok(Some(found)),
        Err(RegistryError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The `mediaType` a manifest names itself.
fn media_type_in(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Typed>(bytes)
        .ok()
        .and_then(|t| t.media_type)
        .filter(|m| {
            media_type::is_manifest(m) || media_type::is_index(m) || m.contains("manifest.v1")
        })
}

/// An upload's body, counted and reported as it is sent.
struct Counting<'a> {
    inner: &'a mut dyn Read,
    client: &'a Client,
    blob: &'a Descriptor,
    done: u64,
    pace: Pace,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.pace.check(self.done)?;
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.client
            .transfer
            .uploaded
            .fetch_add(n as u64, Ordering::Relaxed);
        self.client.report(
            Action::Upload,
            self.blob.digest,
            self.done,
            Some(self.blob.size),
        );
        Ok(n)
    }
}
