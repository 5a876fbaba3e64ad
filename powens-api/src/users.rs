//! Users: the `User` object, `GET /users/me` and `DELETE /users/me`.

use http::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_with::serde_as;

use crate::client::send::ApiRequest;
use crate::client::PowensClient;
use crate::error::Error;

use crate::wire::lenient::BlankAsNone;
use crate::wire::PowensDateTime;

/// A Powens user (`GET /users/{id|me}`, webhook `user` objects).
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user id.
    pub id: i64,
    /// When the user was created (naive Powens datetime).
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub signin: Option<PowensDateTime>,
    /// Legacy platform label seen in old webhook bodies.
    #[serde(default)]
    pub platform: Option<String>,
}

impl PowensClient {
    /// `GET /users/me`: the user owning the token.
    pub async fn get_me(&self, user_token: &SecretString) -> Result<User, Error> {
        let url = self.endpoint().api("users/me")?;
        self.send_json(ApiRequest::new(Method::GET, url, Some(user_token)))
            .await
    }

    /// `DELETE /users/me`: deletes the user and all its data (Powens then emits
    /// `USER_DELETED`).
    pub async fn delete_me(&self, user_token: &SecretString) -> Result<(), Error> {
        let url = self.endpoint().api("users/me")?;
        self.send_no_content(ApiRequest::new(Method::DELETE, url, Some(user_token)))
            .await
    }
}
