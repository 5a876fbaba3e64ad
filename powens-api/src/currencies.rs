//! Currencies: the `Currency` object and `GET /currencies`.

use http::Method;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_with::{serde_as, DefaultOnNull};

use crate::client::send::ApiRequest;
use crate::client::PowensClient;
use crate::error::Error;

use crate::wire::lenient::BlankAsNone;
use crate::wire::{money, PowensDateTime};

/// A Powens currency (`BankAccount.currency`, `Transaction.original_currency`, `GET /currencies`).
///
/// Only `id` is required: some payloads carry just `{id, precision}`.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Currency {
    /// ISO 4217 code (crypto codes too), e.g. `EUR`.
    pub id: String,
    /// Display name, e.g. `Euro`.
    #[serde(default)]
    pub name: Option<String>,
    /// Symbol, e.g. `€`.
    #[serde(default)]
    pub symbol: Option<String>,
    /// Number of decimal places Powens uses for this currency.
    #[serde(default)]
    pub precision: Option<u32>,
    /// Whether it is a cryptocurrency (deprecated upstream).
    #[serde(default)]
    pub crypto: Option<bool>,
    /// Whether the symbol is written before the amount.
    #[serde(default)]
    pub prefix: Option<bool>,
    /// Market capitalisation in EUR (cryptocurrencies).
    #[serde(default, deserialize_with = "money::option")]
    pub marketcap: Option<Decimal>,
    /// Timestamp of `marketcap`.
    #[serde(default)]
    #[serde_as(deserialize_as = "BlankAsNone")]
    pub datetime: Option<PowensDateTime>,
}

impl Currency {
    /// A currency with only its code set.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            symbol: None,
            precision: None,
            crypto: None,
            prefix: None,
            marketcap: None,
            datetime: None,
        }
    }
}

/// The body of `GET /currencies`.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CurrenciesList {
    /// The currencies.
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub currencies: Vec<Currency>,
}

impl PowensClient {
    /// `GET /currencies`: every currency Powens knows. Whether Powens requires a token here is
    /// unconfirmed; pass one when you have it.
    pub async fn list_currencies(
        &self,
        user_token: Option<&SecretString>,
    ) -> Result<CurrenciesList, Error> {
        let url = self.endpoint().api("currencies")?;
        self.send_json(ApiRequest::new(Method::GET, url, user_token))
            .await
    }
}
