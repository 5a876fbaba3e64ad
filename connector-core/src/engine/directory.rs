//! The PSU directory: which PSU a provider user id belongs to, kept in the state store.
//!
//! Webhooks name the provider's user (Powens' `user.id`), never the PSU. The engine records
//! the forwarded user under its provider user id whenever it learns one
//! ([`Engine::forward_user`], [`Engine::register_psu`], and every PSU of every cycle), so
//! that the inbox can tie every record of a delivery to the same `psuID` polling gives, and
//! refuse a delivery for a user it does not know.
//!
//! One state per provider user: capability `TRANSLATE_WEBHOOKS`, parent `psp-user/<id>`,
//! value the [`ForwardedUser`] (with its token: the store is where forwarded users are kept).

use std::sync::Arc;

use super::{Engine, EngineError};
use crate::contract::ConnectorExt;
use crate::model::Capability;
use crate::openbanking::{ForwardedUser, PaymentServiceUser};
use crate::state::{StateError, StateKey, StateStore};

/// Provider user id → forwarded user, in a [`StateStore`].
#[derive(Clone)]
pub struct PsuDirectory {
    store: Arc<dyn StateStore>,
}

impl std::fmt::Debug for PsuDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PsuDirectory").finish_non_exhaustive()
    }
}

impl PsuDirectory {
    /// A directory kept in `store`.
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        Self { store }
    }

    fn key(psp_user_id: &str) -> StateKey {
        StateKey::new(Capability::TranslateWebhooks).for_parent(format!("psp-user/{psp_user_id}"))
    }

    /// The forwarded user of provider user `psp_user_id`, when recorded.
    pub async fn get(&self, psp_user_id: &str) -> Result<Option<ForwardedUser>, StateError> {
        let Some(stored) = self.store.get(&Self::key(psp_user_id)).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_value(stored.value).ok())
    }

    /// Forgets provider user `psp_user_id`: a later webhook about it is refused as unknown
    /// ([`InboxError::UnknownUser`](super::InboxError::UnknownUser)). Nothing to do when it
    /// is not recorded.
    pub async fn forget(&self, psp_user_id: &str) -> Result<(), StateError> {
        let key = Self::key(psp_user_id);
        for _ in 0..3 {
            let Some(current) = self.store.get(&key).await? else {
                return Ok(());
            };
            match self.store.delete(&key, current.version).await {
                Ok(()) => return Ok(()),
                Err(StateError::Conflict { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StateError::Conflict {
            key: key.to_string(),
            expected: None,
            actual: None,
        })
    }

    /// Records `user` under its provider user id (nothing to do without one). Unchanged
    /// entries are not written again.
    pub async fn record(&self, user: &ForwardedUser) -> Result<(), StateError> {
        let Some(psp_user_id) = user.psp_user_id.as_deref() else {
            return Ok(());
        };
        let key = Self::key(psp_user_id);
        let value = serde_json::to_value(user).map_err(|source| StateError::Encode {
            key: key.to_string(),
            source,
        })?;
        for _ in 0..3 {
            let current = self.store.get(&key).await?;
            if current.as_ref().is_some_and(|c| c.value == value) {
                return Ok(());
            }
            match self
                .store
                .put(&key, current.map(|c| c.version), value.clone())
                .await
            {
                Ok(_) => return Ok(()),
                Err(StateError::Conflict { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }
}

impl Engine {
    /// The PSU directory of this engine (in its state store).
    pub fn psu_directory(&self) -> PsuDirectory {
        PsuDirectory::new(Arc::clone(&self.store))
    }

    /// Forwards `psu` to the provider (the connector's `create_user`) and records the
    /// provider user id → PSU entry, so that webhooks about this user reach this PSU.
    /// Returns the forwarded user to keep.
    pub async fn forward_user(
        &self,
        psu: &PaymentServiceUser,
    ) -> Result<ForwardedUser, EngineError> {
        let created = self
            .connector
            .require_open_banking()?
            .create_user(psu)
            .await?;
        let forwarded = ForwardedUser::from_created(&self.config.connector_id, psu, created);
        self.register_psu(&forwarded).await?;
        Ok(forwarded)
    }

    /// Waits until no sync of PSU `psu_id` runs (polling or triggered: both hold the PSU's
    /// lock). A PSU's sync records its user in the directory when it ends, so a caller that
    /// forgets a PSU forgets its directory entry again after this.
    pub async fn psu_idle(&self, psu_id: &str) {
        let lock = self.psu_lock(psu_id);
        let _idle = lock.lock().await;
    }

    /// Records an already forwarded user in the directory (e.g. one forwarded before this
    /// engine existed, or rebuilt from the provider with the user's token).
    pub async fn register_psu(&self, forwarded: &ForwardedUser) -> Result<(), EngineError> {
        Ok(self.psu_directory().record(forwarded).await?)
    }
}
