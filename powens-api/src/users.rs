//! Users: the `User` object, `GET /users/me` and `DELETE /users/me`.

use serde::{Deserialize, Serialize};

use crate::wire::{datetime, PowensDateTime};

/// A Powens user (`GET /users/{id|me}`, webhook `user` objects).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user id.
    pub id: i64,
    /// When the user was created (naive Powens datetime).
    #[serde(default, deserialize_with = "datetime::option")]
    pub signin: Option<PowensDateTime>,
    /// Legacy platform label seen in old webhook bodies.
    #[serde(default)]
    pub platform: Option<String>,
}
