//! The README's webhook verification example: `cargo run -p powens-cli --example
//! webhook_verify`. It checks the worked example of the Powens documentation.

use connector_powens::webhooks::{SignatureHeaders, SignatureVerifier};
use secrecy::SecretString;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // What the HTTP handler received: the raw body, byte for byte, and two headers.
    let body: &[u8] = b"test-body";
    let received = [
        (
            "BI-Signature",
            "mUs6KmQU26Ng7eu5vqm64PHWRy5WN+e6p05QwwVODLo=",
        ),
        ("bi-signature-date", "2023-01-01T00:00:00Z"), // header names are case-insensitive
    ];

    // The secret of the `hmac_signature` auth provider, and the public path the webhook was
    // registered under (not the path a proxy forwards to).
    let verifier = SignatureVerifier::new(SecretString::from("secret-key"), "/user-created");
    let headers = SignatureHeaders::from_pairs(received)?;
    verifier.verify(&headers, body)?; // constant-time; Err(Mismatch) on any change
    println!("valid");

    assert!(verifier.verify(&headers, b"test-body!").is_err());
    Ok(())
}
