//! Payment service users and their forwarding to a provider.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Token;

/// How to reach a payment service user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactDetails {
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Preferred locale, e.g. `fr-FR`.
    #[serde(default)]
    pub locale: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Street name.
    #[serde(default)]
    pub street_name: Option<String>,
    /// Street number.
    #[serde(default)]
    pub street_number: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Region or state.
    #[serde(default)]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// Country (ISO 3166 alpha-2).
    #[serde(default)]
    pub country: Option<String>,
}

/// A payment service user (PSU): the end user whose bank data is synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentServiceUser {
    /// The PSU id (ours, not the provider's).
    pub id: String,
    /// The user's name.
    pub name: String,
    /// When the PSU was created.
    pub created_at: DateTime<Utc>,
    /// How to reach the user.
    #[serde(default)]
    pub contact_details: Option<ContactDetails>,
    /// The user's address.
    #[serde(default)]
    pub address: Option<Address>,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// A PSU as known to the provider: its provider user id and permanent token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardedUser {
    /// The PSU id.
    #[serde(rename = "psuID")]
    pub psu_id: String,
    /// The connector instance.
    #[serde(rename = "connectorID")]
    pub connector_id: String,
    /// The provider's permanent user token (Formance's JSON key is `authToken`).
    #[serde(default, rename = "authToken")]
    pub access_token: Option<Token>,
    /// The provider's user id.
    #[serde(default, rename = "pspUserID")]
    pub psp_user_id: Option<String>,
    /// Provider facts about the user (e.g. token lifetime).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl ForwardedUser {
    /// The forwarded user to keep for `psu` after the connector's `create_user` returned
    /// `created`, for connector instance `connector_id`.
    pub fn from_created(
        connector_id: impl Into<String>,
        psu: &PaymentServiceUser,
        created: CreatedUser,
    ) -> Self {
        ForwardedUser {
            psu_id: psu.id.clone(),
            connector_id: connector_id.into(),
            access_token: created.permanent_token,
            psp_user_id: created.psp_user_id,
            metadata: created.metadata,
        }
    }
}

/// What a connector returns when it creates a user at the provider.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatedUser {
    /// The provider's permanent user token, when it issues one at creation.
    pub permanent_token: Option<Token>,
    /// The provider's user id.
    pub psp_user_id: Option<String>,
    /// Provider facts to keep on the forwarded user.
    pub metadata: BTreeMap<String, String>,
}
