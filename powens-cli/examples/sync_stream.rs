//! The README's "sync stream" example, run against the embedded sandbox:
//! `cargo run -p powens-cli --example sync_stream`.
//!
//! A `PowensConnector` runs in the connector-core `Engine`; an `AckChannelSink` turns the records
//! into a stream the caller consumes batch by batch (a slow consumer slows the sync down
//! instead of growing memory), and the file state store makes the next run resume.

use std::sync::Arc;

use connector_core::engine::EngineConfig;
use connector_core::openbanking::{ForwardedUser, Token};
use connector_core::sink::AckChannelSink;
use connector_core::state::FileStateStore;
use connector_core::Engine;
use connector_powens::{PowensConfig, PowensConnector};
use powens_sandbox::{Sandbox, SandboxSize};
use secrecy::SecretString;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A sandbox with one user who already linked a bank (use your config.json for real).
    let size = SandboxSize {
        users: 1,
        ..SandboxSize::default()
    };
    let sandbox = Sandbox::builder().size(size).start().await?;
    let mut config_json = sandbox.install_payload();
    config_json["pageSize"] = 500.into();
    let seeded = sandbox.users().first().ok_or("no user")?;
    let token = seeded.token.clone();
    let state_dir = tempfile::tempdir()?;

    // --- the README example starts here ---
    let config = PowensConfig::from_value(config_json)?; // or PowensConfig::from_json(&bytes)
    let connector = Arc::new(PowensConnector::new(config)?);
    let store = Arc::new(FileStateStore::open(state_dir.path())?); // resumable watermarks
    let (sink, mut deliveries) = AckChannelSink::new(16);
    let psu = ForwardedUser {
        psu_id: "psu-1".into(),
        connector_id: "powens".into(),
        access_token: Some(Token::new(SecretString::from(token), None)), // the PSU's Powens token
        psp_user_id: None,
        metadata: Default::default(),
    };
    let engine = Engine::new(connector, store, Arc::new(sink), EngineConfig::default())?
        .with_psus(vec![Arc::new(psu)]);
    let cycle = tokio::spawn(async move { engine.run_once(&Default::default()).await });
    let mut records = 0;
    while let Some(delivery) = deliveries.recv().await {
        for record in delivery.records() {
            records += 1;
            if records <= 3 {
                println!("{} {}", record.kind(), serde_json::to_string(record)?);
            }
        }
        delivery.ack(); // stored: only now may the engine commit this page's state
    }
    let summary = cycle.await??;
    println!("{records} records, {} tasks failed", summary.tasks_failed);
    // --- the README example ends here ---

    sandbox.shutdown().await;
    Ok(())
}
