//! `powens serve --psu-tokens-file FILE`: PSUs for existing Powens users, imported at start.
//!
//! The file is the one `powens sync --psu-tokens-file` reads: `PSU_ID TOKEN` per line, or a
//! bare `TOKEN` (the PSU `powens-user-<Powens user id>`); blank lines and whole lines
//! starting with `#` are skipped. Each new PSU costs one `GET /users/me` (the token is checked
//! and its Powens user id learnt, so that its webhooks reach it); a PSU already stored with the
//! same token costs nothing, so the same file can be given at every start.

use std::collections::HashMap;
use std::path::Path;

use connector_powens::service::{PsuImport, Service};
use futures::StreamExt;
use secrecy::SecretString;

use crate::error::CliError;
use crate::sync::live::{file_sources, Given};

/// PSUs imported at the same time (each is one Powens request and two state writes).
const CONCURRENT_IMPORTS: usize = 16;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportCounts {
    /// PSUs added.
    pub imported: usize,
    /// PSUs that were stored already with the same token.
    pub known: usize,
}

/// Imports every PSU of `path` into `service`. A token or a PSU id given twice is refused
/// before any request; the first line Powens or the store refuses stops the import with its
/// line (the lines before it stay imported: run again once it is fixed).
pub async fn import_psus(service: &Service, path: &Path) -> Result<ImportCounts, CliError> {
    let sources = file_sources(path)?;
    let mut tokens: HashMap<String, String> = HashMap::new();
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut lines = Vec::with_capacity(sources.len());
    for source in sources {
        let token = source.token().unwrap_or_default().to_owned();
        if let Some(first) = tokens.insert(token.clone(), source.origin.clone()) {
            return Err(CliError::usage(format!(
                "the same token is given by {first} and by {}: one Powens user must be one PSU",
                source.origin
            )));
        }
        let id = match &source.given {
            Given::Named(user) => {
                let id = user.psu_id.clone();
                if let Some(first) = ids.insert(id.clone(), source.origin.clone()) {
                    return Err(CliError::usage(format!(
                        "PSU id {id} is given by {first} and by {}: a PSU id names one person",
                        source.origin
                    )));
                }
                Some(id)
            }
            Given::Bare(_) => None,
        };
        lines.push((source.origin, id, SecretString::from(token)));
    }
    let results: Vec<_> = futures::stream::iter(lines)
        .map(|(origin, id, token)| async move {
            let result = service.import_psu(id.as_deref(), &token).await;
            (origin, result)
        })
        .buffered(CONCURRENT_IMPORTS)
        .collect()
        .await;
    let mut counts = ImportCounts::default();
    for (origin, result) in results {
        match result {
            Ok(PsuImport::Imported(_)) => counts.imported += 1,
            Ok(PsuImport::AlreadyKnown(_)) => counts.known += 1,
            Err(error) => {
                return Err(CliError::failure(format!(
                    "cannot import the PSU of {origin}: {error} (the lines that went through are imported; start again once it is fixed)"
                )))
            }
        }
    }
    Ok(counts)
}
