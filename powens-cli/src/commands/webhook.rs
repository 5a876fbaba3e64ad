//! `powens webhook verify|translate|urls`.

use connector_core::model::Record;
use connector_core::webhook::WebhookResponse;
use connector_powens::webhooks::{
    self, PowensWebhooks, SignatureHeaders, SignatureVerifier, WebhookOptions,
};
use secrecy::SecretString;

use crate::cli::{TranslateArgs, UrlsArgs, VerifyArgs};
use crate::commands::map::report_skipped;
use crate::error::{failure_of, CliError};
use crate::output::{print_line, read_stdin, RecordLines};

/// Verifies the signature of the raw body on stdin.
pub fn verify(args: VerifyArgs) -> Result<(), CliError> {
    let secret = webhook_secret(args.secret, args.secret_file.as_deref())?;
    let body = read_stdin()?;
    let mut verifier = SignatureVerifier::new(secret, args.path);
    if let Some(max_age) = &args.max_age {
        let window = connector_powens::parse_duration(max_age, true).map_err(|e| {
            CliError::usage(format!("--max-age {max_age:?}: {e} (e.g. 5m, 12h, 3d)"))
        })?;
        verifier = verifier.with_freshness(window);
    }
    let headers = SignatureHeaders {
        signature: args.signature,
        date: args.date,
    };
    match verifier.verify_at(&headers, &body, chrono::Utc::now()) {
        Ok(()) => print_line("valid"),
        Err(reason) => {
            print_line(&format!("invalid: {reason}"))?;
            Err(CliError::reported())
        }
    }
}

/// The environment variable `powens webhook verify` reads the secret from.
pub const SECRET_ENV: &str = "POWENS_WEBHOOK_SECRET";

/// The secret from `--secret-file`, else `--secret`, else [`SECRET_ENV`]; never printed.
fn webhook_secret(
    flag: Option<String>,
    file: Option<&std::path::Path>,
) -> Result<SecretString, CliError> {
    let secret = match (file, flag) {
        (Some(path), _) => std::fs::read_to_string(path)
            .map_err(|e| failure_of(&format!("cannot read {}", path.display()), &e))?
            .trim()
            .to_owned(),
        (None, Some(secret)) => secret,
        (None, None) => std::env::var(SECRET_ENV).unwrap_or_default(),
    };
    if secret.is_empty() {
        return Err(CliError::usage(format!(
            "a webhook secret is needed: --secret-file FILE, {SECRET_ENV}, or --secret"
        )));
    }
    Ok(SecretString::from(secret))
}

/// Translates a webhook body on stdin as the engine's inbox does (one read of the body),
/// every response printed as one JSON line with a `kind`; with `--psu`, every record carries
/// that PSU.
pub async fn translate(args: TranslateArgs) -> Result<(), CliError> {
    let event = args.event.trim().to_ascii_uppercase();
    let route = webhooks::route_for_event(&event).ok_or_else(|| {
        let known: Vec<&str> = webhooks::WEBHOOK_ROUTES.iter().map(|r| r.event).collect();
        CliError::usage(format!(
            "--event {:?} is not an event the connector translates (known: {})",
            args.event,
            known.join(", ")
        ))
    })?;
    let body = read_stdin()?;
    // Signatures are not checked here (`powens webhook verify` does that): the config only
    // names the event.
    let config = webhooks::config_for(route, "http://127.0.0.1/webhooks", "");
    let handler = PowensWebhooks::new(WebhookOptions::default());
    let translation = handler
        .translate_body(&body, &config)
        .map_err(|e| failure_of("cannot translate the webhook body", &e))?;
    drop(body);
    report_skipped(&translation.skipped);
    let mut out = RecordLines::stdout();
    for response in translation.responses {
        match response_line(response)? {
            Line::Record(mut record) => {
                if let Some(psu) = &args.psu {
                    record.set_psu(psu);
                }
                out.write(&record)?
            }
            Line::Other(value) => out.write_value(&value)?,
        }
    }
    out.finish()
}

/// Prints `EVENT URL` per line: what to register in the Powens console.
pub fn urls(args: UrlsArgs) -> Result<(), CliError> {
    let base = url::Url::parse(args.base.trim()).map_err(|e| {
        CliError::usage(format!(
            "--base {:?} is not an absolute URL ({e}); e.g. https://example.org/hooks",
            args.base
        ))
    })?;
    if base.query().is_some() || base.fragment().is_some() {
        return Err(CliError::usage(format!(
            "--base {:?} must not carry a query or fragment: Powens signs the path only",
            args.base
        )));
    }
    for (event, url) in webhooks::webhook_urls(base.as_str()) {
        print_line(&format!("{event} {url}"))?;
    }
    Ok(())
}

enum Line {
    Record(Box<Record>),
    Other(serde_json::Value),
}

/// A response as a record, or, for engine instructions that are not records
/// (`DataReadyToFetch`, `UserLinkSessionFinished`), the same `kind`-tagged object shape.
fn response_line(response: WebhookResponse) -> Result<Line, CliError> {
    let tagged = match response {
        WebhookResponse::UserLinkSessionFinished(_) | WebhookResponse::DataReadyToFetch(_) => {
            serde_json::to_value(&response)
                .map_err(|e| CliError::failure(format!("cannot encode a webhook response: {e}")))?
        }
        other => {
            return other
                .into_record()
                .map(|record| Line::Record(Box::new(record)))
                .ok_or_else(|| CliError::failure("a webhook response has no record"));
        }
    };
    let Some((name, body)) = tagged.as_object().and_then(|o| o.iter().next()) else {
        return Err(CliError::failure("a webhook response has no variant name"));
    };
    let mut object = serde_json::Map::new();
    object.insert("kind".into(), snake_case(name).into());
    if let Some(fields) = body.as_object() {
        object.extend(fields.clone());
    }
    Ok(Line::Other(serde_json::Value::Object(object)))
}

fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
