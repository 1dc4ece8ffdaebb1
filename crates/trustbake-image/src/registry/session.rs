//! A session: the access of each side, the clients it connected (one per registry and side),
//! the bytes each moved, and the progress callback.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::client::Client;
use super::net::Budget;
use super::transfer::{ProgressFn, Transfer};
use super::{Access, RegistryError, Role};
use crate::reference::RegistryRef;

/// A registry session for one run: one client per registry and side, the bytes moved, and
/// one retry budget shared by every request of the run.
pub struct Session {
    source: Access,
    destination: Access,
    progress: Option<Arc<ProgressFn>>,
    clients: Mutex<HashMap<(String, bool), Arc<Client>>>,
    transfers: Mutex<BTreeMap<String, Arc<Transfer>>>,
    budget: Arc<Budget>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new(Access::default(), Access::default())
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("source", &self.source)
            .field("destination", &self.destination)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session reaching sources with `source` and destinations with `destination`.
    pub fn new(source: Access, destination: Access) -> Self {
        Session {
            budget: Arc::new(Budget::new(source.limits.retries)),
            source,
            destination,
            progress: None,
            clients: Mutex::new(HashMap::new()),
            transfers: Mutex::new(BTreeMap::new()),
        }
    }

    /// Retries used so far by the whole run.
    pub fn retries(&self) -> u32 {
        self.budget.used()
    }

    /// Reports every blob's transfer to `progress`.
    pub fn with_progress(mut self, progress: Arc<ProgressFn>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// What was moved, per registry.
    pub fn transfers(&self) -> Vec<(String, Arc<Transfer>)> {
        self.transfers
            .lock()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect())
            .unwrap_or_default()
    }

    /// The client for `registry` on `role`'s side (connected once per run).
    pub(crate) fn client(
        &self,
        reference: &RegistryRef,
        role: Role,
    ) -> Result<Arc<Client>, RegistryError> {
        let key = (reference.registry.clone(), role == Role::Destination);
        if let Some(found) = self.clients.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(found);
        }
        let transfer = {
            let mut all = self
                .transfers
                .lock()
                .map_err(|_| poisoned(&reference.registry))?;
            Arc::clone(all.entry(reference.registry.clone()).or_default())
        };
        let access = match role {
            Role::Source => &self.source,
            Role::Destination => &self.destination,
        };
        let mut client =
            Client::connect(reference, access, role, transfer, Arc::clone(&self.budget))?;
        client.progress = self.progress.clone();
        let client = Arc::new(client);
        if let Ok(mut clients) = self.clients.lock() {
            clients.insert(key, Arc::clone(&client));
        }
        Ok(client)
    }
}

fn poisoned(registry: &str) -> RegistryError {
    RegistryError::Protocol {
        registry: registry.to_owned(),
        what: "internal".into(),
        detail: "a worker thread failed".into(),
    }
}
