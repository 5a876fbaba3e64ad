//! `powens webhook verify|translate`.

use powens_api::webhooks::signature::{SignatureHeaders, SignatureVerifier};
use secrecy::SecretString;

use crate::cli::{TranslateArgs, VerifyArgs};
use crate::error::CliError;
use crate::output::{print_line, read_stdin};

/// Verifies the signature of the raw body on stdin.
pub fn verify(args: VerifyArgs) -> Result<(), CliError> {
    let body = read_stdin()?;
    let verifier = SignatureVerifier::new(SecretString::from(args.secret), args.path);
    let headers = SignatureHeaders {
        signature: args.signature,
        date: args.date,
    };
    match verifier.verify(&headers, &body) {
        Ok(()) => print_line("valid"),
        Err(reason) => {
            print_line(&format!("invalid: {reason}"))?;
            Err(CliError::reported())
        }
    }
}

/// Translates a webhook body on stdin.
pub async fn translate(args: TranslateArgs) -> Result<(), CliError> {
    let _ = read_stdin()?;
    Err(CliError::failure(format!(
        "webhook translation of {} is not available yet",
        args.event
    )))
}
