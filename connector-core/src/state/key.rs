//! State keys: one state per (capability, PSU, parent item).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::model::Capability;

/// Where a task's state applies: the PSU it runs for and the parent item (the account, for
/// balances and payments). Formance keys states by `"<CAPABILITY>-<parent id>"` only, which
/// lets users collide; this scope names the PSU explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateScope {
    /// The PSU, for per-PSU tasks.
    #[serde(default, rename = "psuID")]
    pub psu_id: Option<String>,
    /// The parent item's reference (the account reference for balances and payments).
    #[serde(default)]
    pub parent: Option<String>,
}

/// The key of one task's state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StateKey {
    /// The task's capability.
    pub capability: Capability,
    /// The PSU and parent it runs for.
    pub scope: StateScope,
}

impl StateKey {
    /// A key with an empty scope.
    pub fn new(capability: Capability) -> Self {
        StateKey {
            capability,
            scope: StateScope::default(),
        }
    }

    /// This key scoped to `psu_id`.
    pub fn for_psu(mut self, psu_id: impl Into<String>) -> Self {
        self.scope.psu_id = Some(psu_id.into());
        self
    }

    /// This key scoped to the parent item `parent`.
    pub fn for_parent(mut self, parent: impl Into<String>) -> Self {
        self.scope.parent = Some(parent.into());
        self
    }

    /// Whether this is a key of `capability` for no PSU whose parent starts with `prefix`:
    /// the states a service keeps for itself next to the task states (the inbox's
    /// `webhook/…` keys, a registry's `service/…` entries), for
    /// [`StateStore::list_matching`](super::StateStore::list_matching).
    ///
    /// ```
    /// use connector_core::model::Capability;
    /// use connector_core::state::StateKey;
    ///
    /// let key = StateKey::new(Capability::TranslateWebhooks).for_parent("webhook/k-1");
    /// assert!(key.is_unscoped_under(Capability::TranslateWebhooks, "webhook/"));
    /// assert!(!key.clone().for_psu("alice").is_unscoped_under(Capability::TranslateWebhooks, "webhook/"));
    /// assert!(!key.is_unscoped_under(Capability::TranslateWebhooks, "service/"));
    /// ```
    pub fn is_unscoped_under(&self, capability: Capability, prefix: &str) -> bool {
        self.capability == capability
            && self.scope.psu_id.is_none()
            && self
                .scope
                .parent
                .as_deref()
                .is_some_and(|parent| parent.starts_with(prefix))
    }

    /// A stable, file-name-safe identifier: base64url (no padding) of the key's JSON.
    pub fn id(&self) -> String {
        // A struct of strings always serialises; an empty id would only collide with itself.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.capability)?;
        if let Some(psu) = &self.scope.psu_id {
            write!(f, " psu={psu}")?;
        }
        if let Some(parent) = &self.scope.parent {
            write!(f, " parent={parent}")?;
        }
        Ok(())
    }
}
