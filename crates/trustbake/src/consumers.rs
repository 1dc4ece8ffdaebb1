//! Every TLS client of a source's platforms, and one client's verdict on a chain: what
//! `verify` reports and `check-config` judges each service by.

use trustbake_certs::{Certificate, Chain, Check, Verdict};
use trustbake_image::Platform;
use trustbake_image::registry::Access;
use trustbake_store::{Env, RootView};

use crate::error::Error;
use crate::outcome::{ConsumerVerdict, SourceOutcome};
use crate::views::{Keep, Source};

/// The consumers of one platform (or of a root directory).
pub(crate) struct PlatformConsumers {
    pub(crate) platform: Option<String>,
    pub(crate) consumers: Vec<trustbake_store::Consumer>,
    pub(crate) notes: Vec<String>,
}

/// Every TLS client of every selected platform of `source` (an image reference or a root
/// directory), with `env` laid over each config's `Env` and, when given, the runtime mount
/// modelled.
pub(crate) fn image_consumers(
    source: &str,
    platform: Option<&Platform>,
    access: &Access,
    extra_env: &Env,
    runtime_certs: Option<&[Certificate]>,
) -> Result<Vec<PlatformConsumers>, Error> {
    let mut out = Vec::new();
    Source::open(source, access)?.each(platform, extra_env, Keep::Consumers, &mut |view| {
        out.push(root_consumers(
            view.label(),
            view.root,
            &view.env,
            runtime_certs,
        )?);
        Ok(())
    })?;
    Ok(out)
}

fn root_consumers(
    platform: Option<String>,
    view: &dyn RootView,
    env: &Env,
    runtime_certs: Option<&[Certificate]>,
) -> Result<PlatformConsumers, Error> {
    let layout = trustbake_store::detect(view)?;
    let mut notes = Vec::new();
    let consumers = match runtime_certs {
        Some(certs) => {
            let (overlay, env, n) = trustbake_store::runtime_overlay(view, &layout, env, certs)?;
            notes.extend(n);
            trustbake_store::consumers(&overlay, &layout, &env)?
        }
        None => trustbake_store::consumers(view, &layout, env)?,
    };
    Ok(PlatformConsumers {
        platform,
        consumers,
        notes,
    })
}

/// One consumer's verdict on `chain` for `hostname` at `at`.
pub(crate) fn consumer_verdict(
    c: &trustbake_store::Consumer,
    chain: &Chain,
    hostname: Option<&str>,
    at: i64,
) -> ConsumerVerdict {
    let check = Check {
        hostname,
        at,
        partial_chain: c.partial_chain,
        server_auth: true,
    };
    let verdict = trustbake_certs::verify(chain, &c.anchors, &check);
    let (anchor, reason) = match &verdict {
        Verdict::Trusted { anchor, .. } => (
            Some(crate::outcome::CaOutcome {
                label: c.anchors[*anchor].label().to_owned(),
                sha256: c.anchors[*anchor].sha256().hex(),
            }),
            None,
        ),
        Verdict::Untrusted(failure) => (None, Some(failure.clone())),
    };
    ConsumerVerdict {
        kind: c.kind,
        name: c.name.clone(),
        programs: c.programs.clone(),
        trusted: verdict.is_trusted(),
        required: c.required,
        anchor,
        message: reason.as_ref().map(ToString::to_string),
        reason,
        certificates: c.anchors.len(),
        sources: c.sources.iter().map(SourceOutcome::from).collect(),
        notes: c.notes.clone(),
    }
}
