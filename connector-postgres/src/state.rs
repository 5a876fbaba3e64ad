//! The [`StateStore`] of [`PgBackend`]: the `states` table, compare-and-set on `version`.

use connector_core::model::Capability;
use connector_core::state::{StateError, StateKey, StateScope, StateStore, Version, Versioned};
use deadpool_postgres::GenericClient;
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::backend::PgBackend;
use crate::error::PgError;

fn encode(key: &StateKey, value: &serde_json::Value) -> Result<String, StateError> {
    serde_json::to_string(value).map_err(|source| StateError::Encode {
        key: key.to_string(),
        source,
    })
}

fn to_i64(version: Version) -> i64 {
    i64::try_from(version.0).unwrap_or(i64::MAX)
}

fn to_version(stored: i64) -> Version {
    Version(u64::try_from(stored).unwrap_or(0))
}

/// `sql` prepared once per connection.
pub(crate) async fn prepare<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
) -> Result<tokio_postgres::Statement, PgError> {
    client
        .prepare_cached(sql)
        .await
        .map_err(PgError::query("preparing a statement"))
}

/// The version stored under `key_id`, if any.
async fn actual<C: GenericClient + Sync>(
    client: &C,
    key: &StateKey,
) -> Result<Option<Version>, PgError> {
    let row = client
        .query_opt("SELECT version FROM states WHERE key_id = $1", &[&key.id()])
        .await
        .map_err(PgError::query(format!("reading the version of {key}")))?;
    Ok(row.map(|row| to_version(row.get(0))))
}

/// Compare-and-set write of `value` under `key`, on `client` (a connection or an open
/// transaction): the new version, or [`StateError::Conflict`] with the version found.
pub(crate) async fn put<C: GenericClient + Sync>(
    client: &C,
    key: &StateKey,
    expected: Option<Version>,
    value: &serde_json::Value,
) -> Result<Version, StateError> {
    let text = encode(key, value)?;
    let operation = || format!("writing the state of {key}");
    let written = match expected {
        None => client
            .query_opt(
                &prepare(
                    client,
                    "INSERT INTO states (key_id, capability, psu_id, parent, version, value) \
                 VALUES ($1, $2, $3, $4, 1, $5::text::jsonb) \
                 ON CONFLICT (key_id) DO NOTHING RETURNING version",
                )
                .await?,
                &[
                    &key.id(),
                    &key.capability.as_str(),
                    &key.scope.psu_id,
                    &key.scope.parent,
                    &text,
                ],
            )
            .await
            .map_err(PgError::query(operation()))?,
        Some(version) => client
            .query_opt(
                &prepare(
                    client,
                    "UPDATE states SET version = version + 1, value = $3::text::jsonb, \
                     updated_at = now() WHERE key_id = $1 AND version = $2 RETURNING version",
                )
                .await?,
                &[&key.id(), &to_i64(version), &text],
            )
            .await
            .map_err(PgError::query(operation()))?,
    };
    match written {
        Some(row) => Ok(to_version(row.get(0))),
        None => Err(StateError::Conflict {
            key: key.to_string(),
            expected,
            actual: actual(client, key).await?,
        }),
    }
}

fn capability_of(text: &str) -> Result<Capability, PgError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| {
        PgError::Corrupt {
            what: "a state's capability".into(),
            message: e.to_string(),
        }
    })
}

fn value_of(key: &StateKey, text: &str) -> Result<serde_json::Value, PgError> {
    serde_json::from_str(text).map_err(|e| PgError::Corrupt {
        what: format!("the state of {key}"),
        message: e.to_string(),
    })
}

impl PgBackend {
    async fn get_state(&self, key: &StateKey) -> Result<Option<Versioned>, PgError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT version, value::text FROM states WHERE key_id = $1",
                &[&key.id()],
            )
            .await
            .map_err(PgError::query(format!("reading the state of {key}")))?;
        row.map(|row| {
            Ok(Versioned {
                version: to_version(row.get(0)),
                value: value_of(key, row.get(1))?,
            })
        })
        .transpose()
    }

    async fn put_state(
        &self,
        key: &StateKey,
        expected: Option<Version>,
        value: serde_json::Value,
    ) -> Result<Version, StateError> {
        let client = self.client().await?;
        put(&client, key, expected, &value).await
    }

    async fn delete_state(&self, key: &StateKey, expected: Version) -> Result<(), StateError> {
        let client = self.client().await?;
        let deleted = client
            .execute(
                "DELETE FROM states WHERE key_id = $1 AND version = $2",
                &[&key.id(), &to_i64(expected)],
            )
            .await
            .map_err(PgError::query(format!("deleting the state of {key}")))?;
        if deleted == 1 {
            return Ok(());
        }
        Err(StateError::Conflict {
            key: key.to_string(),
            expected: Some(expected),
            actual: actual(&client, key).await?,
        })
    }

    async fn list_states(&self) -> Result<Vec<(StateKey, Versioned)>, PgError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT capability, psu_id, parent, version, value::text FROM states",
                &[],
            )
            .await
            .map_err(PgError::query("listing the states"))?;
        let mut states = rows
            .iter()
            .map(|row| {
                let key = StateKey {
                    capability: capability_of(row.get(0))?,
                    scope: StateScope {
                        psu_id: row.get(1),
                        parent: row.get(2),
                    },
                };
                let value = value_of(&key, row.get(4))?;
                Ok((
                    key,
                    Versioned {
                        version: to_version(row.get(3)),
                        value,
                    },
                ))
            })
            .collect::<Result<Vec<_>, PgError>>()?;
        states.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(states)
    }
}

impl StateStore for PgBackend {
    fn get<'a>(
        &'a self,
        key: &'a StateKey,
    ) -> BoxFuture<'a, Result<Option<Versioned>, StateError>> {
        async move { Ok(self.get_state(key).await?) }.boxed()
    }

    fn put<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Option<Version>,
        value: serde_json::Value,
    ) -> BoxFuture<'a, Result<Version, StateError>> {
        self.put_state(key, expected, value).boxed()
    }

    fn delete<'a>(
        &'a self,
        key: &'a StateKey,
        expected: Version,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        self.delete_state(key, expected).boxed()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<(StateKey, Versioned)>, StateError>> {
        async move { Ok(self.list_states().await?) }.boxed()
    }
}
