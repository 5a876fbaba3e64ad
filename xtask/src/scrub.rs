//! Scrubbing recorded Powens responses: names, IBANs, account numbers, tokens and ids become
//! stable fakes (the same real value always gets the same fake within a refresh, and the fakes
//! depend only on the order of first appearance, so a refresh of the same data is identical).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Keys whose string values are personal names or free text naming people.
const NAME_KEYS: &[&str] = &[
    "name",
    "original_name",
    "label",
    "signin",
    "login",
    "email",
    "firstname",
    "lastname",
    "owner_name",
    "company_name",
    "wording",
    "original_wording",
    "simplified_wording",
    "stemmed_wording",
    "comment",
];
/// Keys holding IBANs (or a counterparty identification, which is one when the scheme says).
const IBAN_KEYS: &[&str] = &["iban", "account_identification"];
/// Keys holding account numbers and card numbers.
const NUMBER_KEYS: &[&str] = &[
    "number",
    "account_number",
    "webid",
    "card",
    "original_number",
];
/// Ids of public reference data (categories, banks, connectors), kept as they are.
const PUBLIC_ID_KEYS: &[&str] = &[
    "id_category",
    "id_connector",
    "id_bank",
    "id_type",
    "id_cluster",
];
/// Keys holding secrets.
const TOKEN_KEYS: &[&str] = &[
    "auth_token",
    "access_token",
    "token",
    "code",
    "secret_key",
    "client_secret",
    "refresh_token",
];

/// Replaces sensitive values with stable fakes; `hosts` are base URLs (e.g. the live domain)
/// rewritten to `https://example.biapi.pro` in every string.
#[derive(Debug, Default)]
pub struct Scrubber {
    hosts: Vec<String>,
    hosts_only: bool,
    ids: BTreeMap<String, u64>,
    strings: BTreeMap<(&'static str, String), String>,
    counters: BTreeMap<&'static str, u64>,
}

impl Scrubber {
    /// A scrubber that also rewrites the given base URLs.
    pub fn new(hosts: Vec<String>) -> Self {
        Scrubber {
            hosts,
            ..Scrubber::default()
        }
    }

    /// A scrubber that only rewrites the given base URLs (for data that is already fake).
    pub fn hosts_only(hosts: Vec<String>) -> Self {
        Scrubber {
            hosts,
            hosts_only: true,
            ..Scrubber::default()
        }
    }

    /// Scrubs `value` in place.
    pub fn scrub(&mut self, value: &mut Value) {
        match value {
            Value::Object(map) if !self.hosts_only => self.scrub_object(map),
            Value::Object(map) => map.values_mut().for_each(|v| self.scrub(v)),
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub(item)),
            Value::String(text) => *text = self.rewrite_hosts(text),
            _ => {}
        }
    }

    fn scrub_object(&mut self, map: &mut Map<String, Value>) {
        for (key, value) in map.iter_mut() {
            let key = key.as_str();
            let is_id = (key == "id" || key.starts_with("id_") || key == "user_id")
                && !PUBLIC_ID_KEYS.contains(&key);
            match value {
                Value::Number(number) if is_id => {
                    let fake = self.fake_id(&number.to_string());
                    *value = Value::from(fake);
                }
                Value::String(text)
                    if is_id && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    *text = self.fake_id(text).to_string();
                }
                Value::String(text) if NAME_KEYS.contains(&key) => {
                    *text = self.fake_string("name", text, |n| format!("Name {n}"));
                }
                Value::String(text) if IBAN_KEYS.contains(&key) => {
                    *text = self.fake_string("iban", text, |n| format!("FR76{n:023}"));
                }
                Value::String(text) if NUMBER_KEYS.contains(&key) => {
                    *text = self.fake_string("number", text, |n| format!("{n:011}"));
                }
                Value::String(text) if TOKEN_KEYS.contains(&key) => {
                    *text = self.fake_string("token", text, |n| format!("scrubbed-token-{n}"));
                }
                other => self.scrub(other),
            }
        }
    }

    fn fake_id(&mut self, real: &str) -> u64 {
        let next = 1000 + self.ids.len() as u64 + 1;
        *self.ids.entry(real.to_owned()).or_insert(next)
    }

    fn fake_string(
        &mut self,
        class: &'static str,
        real: &str,
        make: impl FnOnce(u64) -> String,
    ) -> String {
        if let Some(fake) = self.strings.get(&(class, real.to_owned())) {
            return fake.clone();
        }
        let counter = self.counters.entry(class).or_insert(0);
        *counter += 1;
        let fake = make(*counter);
        self.strings.insert((class, real.to_owned()), fake.clone());
        fake
    }

    fn rewrite_hosts(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for host in &self.hosts {
            out = out.replace(host.as_str(), "https://example.biapi.pro");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_ibans_numbers_tokens_and_ids_become_stable_fakes() {
        let mut input = serde_json::json!({
            "accounts": [
                {"id": 4711, "id_connection": 9, "name": "Compte de Jean Dupont",
                 "iban": "FR7630006000011234567890189", "number": "12345678901",
                 "balance": 12.5, "currency": {"id": "EUR"}},
                {"id": 4712, "id_connection": 9, "name": "Livret A",
                 "iban": "FR7630006000011234567890189"}
            ],
            "transactions": [
                {"id": 1, "id_account": 4711, "value": -3.2,
                 "counterparty": {"label": "Jean Dupont",
                                  "account_identification": "FR7630006000011234567890189"}}
            ],
            "auth_token": "s3cr3t",
            "_links": {"next": {"href": "https://acme.biapi.pro/2.0/users/me/transactions?offset=50"}}
        });
        let mut scrubber = Scrubber::new(vec!["https://acme.biapi.pro".into()]);
        scrubber.scrub(&mut input);
        assert_eq!(
            input,
            serde_json::json!({
                "accounts": [
                    {"id": 1001, "id_connection": 1002, "name": "Name 1",
                     "iban": "FR7600000000000000000000001", "number": "00000000001",
                     "balance": 12.5, "currency": {"id": "EUR"}},
                    {"id": 1003, "id_connection": 1002, "name": "Name 2",
                     "iban": "FR7600000000000000000000001"}
                ],
                "transactions": [
                    {"id": 1004, "id_account": 1001, "value": -3.2,
                     "counterparty": {"label": "Name 3",
                                      "account_identification": "FR7600000000000000000000001"}}
                ],
                "auth_token": "scrubbed-token-1",
                "_links": {"next": {"href": "https://example.biapi.pro/2.0/users/me/transactions?offset=50"}}
            })
        );
    }

    #[test]
    fn the_same_input_scrubs_to_the_same_output() {
        let input = serde_json::json!({"id": 5, "name": "X", "iban": "DE89370400440532013000"});
        let mut a = input.clone();
        let mut b = input;
        Scrubber::default().scrub(&mut a);
        Scrubber::default().scrub(&mut b);
        assert_eq!(a, b);
    }
}
