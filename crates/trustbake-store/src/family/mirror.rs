//! Fedora 41 and later put the `HHHHHHHH.N` links of `update-ca-trust`'s hashed directory into
//! `/etc/pki/tls/certs` as well (`/etc/ssl/certs` links there), so that OpenSSL's default
//! `CApath` finds them. How those links are made is not read from a primary source here: it is
//! read from the image. The first hash link of `/etc/pki/tls/certs` whose name the hashed
//! directory also has shows the pattern — the same target (the directory's files copied too), a
//! path to the directory's link, or a path to the file the link names — and the directory's
//! links, as they are once the plan is applied, are mirrored by it: new ones made, gone ones
//! removed. An image whose links follow no such pattern keeps them, with a note.

use std::collections::{BTreeMap, BTreeSet};

use super::store::is_hash_link;
use crate::error::StoreError;
use crate::plan::Content;
use crate::view::{Entry, Meta, file_name, resolve};
use crate::writer::Writer;

/// How a mirrored link is made from the hashed directory's link `name` → `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// The same target, the file copied beside it.
    Same,
    /// `prefix` + the link's name (a link to the directory's link).
    ToLink(String),
    /// `prefix` + the link's target (a link to the directory's file).
    ToFile(String),
}

impl Pattern {
    fn target(&self, name: &str, target: &str) -> String {
        match self {
            Pattern::Same => target.to_owned(),
            Pattern::ToLink(prefix) => format!("{prefix}{name}"),
            Pattern::ToFile(prefix) => format!("{prefix}{target}"),
        }
    }
}

impl Writer<'_> {
    /// Mirrors the hash links of `from` (after the plan) into `into`, when `into` already holds
    /// links made from them.
    pub(crate) fn mirror_hash_links(&mut self, from: &str, into: &str) -> Result<(), StoreError> {
        let (from_real, from_entry) = resolve(self.view, from)?;
        let (into_real, into_entry) = resolve(self.view, into)?;
        if !matches!(from_entry, Some(Entry::Dir { .. }))
            || !matches!(into_entry, Some(Entry::Dir { .. }))
            || from_real == into_real
        {
            return Ok(());
        }
        let before = self.links(&into_real, false)?;
        if before.is_empty() {
            return Ok(());
        }
        let source_before = self.links(&from_real, false)?;
        let Some(pattern) = before.iter().find_map(|(name, target)| {
            let theirs = source_before.get(name)?;
            if target == theirs {
                Some(Pattern::Same)
            } else if let Some(prefix) = target.strip_suffix(name.as_str()) {
                Some(Pattern::ToLink(prefix.to_owned()))
            } else {
                target
                    .strip_suffix(theirs.as_str())
                    .map(|prefix| Pattern::ToFile(prefix.to_owned()))
            }
        }) else {
            self.notes.push(format!(
                "{into}: its hash links follow no pattern of {from}'s; left as they are"
            ));
            return Ok(());
        };
        let after = self.links(&from_real, true)?;
        let mirrored: BTreeSet<&String> = before
            .iter()
            .filter(|(name, target)| {
                source_before
                    .get(*name)
                    .is_some_and(|t| pattern.target(name, t) == **target)
            })
            .map(|(name, _)| name)
            .collect();
        for (name, target) in &after {
            let wanted = pattern.target(name, target);
            if before.get(name) != Some(&wanted) {
                let meta = self.meta(Meta::root(0o777, 0));
                self.put(
                    &format!("{into_real}/{name}"),
                    meta,
                    Content::Symlink(wanted),
                );
            }
            if pattern == Pattern::Same {
                self.mirror_file(&from_real, &into_real, target)?;
            }
        }
        let kept: BTreeSet<&String> = after.values().collect();
        for name in mirrored {
            if after.contains_key(name) {
                continue;
            }
            let meta = self.meta(Meta::root(0o777, 0));
            self.put(&format!("{into_real}/{name}"), meta, Content::Remove);
            // A file copied beside the links goes with the last link to it.
            let copied = &before[name];
            if pattern == Pattern::Same && !copied.contains('/') && !kept.contains(copied) {
                let at = format!("{into_real}/{copied}");
                if matches!(self.view.entry(&at)?, Some(Entry::File { .. })) {
                    let meta = self.meta(Meta::root(0o444, 0));
                    self.put(&at, meta, Content::Remove);
                }
            }
        }
        Ok(())
    }

    /// The hash links of the real directory `dir`: name → target, in the root (`planned`:
    /// as they are once the plan is applied).
    fn links(&self, dir: &str, planned: bool) -> Result<BTreeMap<String, String>, StoreError> {
        let mut out = BTreeMap::new();
        for name in self.view.list(dir)? {
            if let (true, Some(Entry::Symlink { target, .. })) = (
                is_hash_link(&name),
                self.view.entry(&format!("{dir}/{name}"))?,
            ) {
                out.insert(name, target);
            }
        }
        if planned {
            for (path, item) in &self.items {
                let name = file_name(path);
                if path.strip_suffix(name).and_then(|p| p.strip_suffix('/')) != Some(dir)
                    || !is_hash_link(name)
                {
                    continue;
                }
                match &item.content {
                    Content::Symlink(target) => {
                        out.insert(name.to_owned(), target.clone());
                    }
                    _ => {
                        out.remove(name);
                    }
                }
            }
        }
        Ok(out)
    }

    /// A file of the hashed directory copied beside the mirrored links (the `Same` pattern).
    fn mirror_file(&mut self, from: &str, into: &str, name: &str) -> Result<(), StoreError> {
        if name.contains('/') {
            return Ok(());
        }
        let Some((_, meta, bytes)) = self.current_file(&format!("{from}/{name}"))? else {
            return Ok(());
        };
        let at = format!("{into}/{name}");
        if self.current(&at)?.as_deref() != Some(bytes.as_slice()) {
            self.put(&at, meta, Content::File(bytes));
        }
        Ok(())
    }
}
