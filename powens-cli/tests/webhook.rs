//! `powens webhook verify|translate`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

/// The worked example of the Powens documentation.
const SIGNATURE: &str = "mUs6KmQU26Ng7eu5vqm64PHWRy5WN+e6p05QwwVODLo=";

fn verify(body: &[u8], signature: &str) -> Run {
    powens(
        &[
            "webhook",
            "verify",
            "--secret",
            "secret-key",
            "--path",
            "/user-created",
            "--date",
            "2023-01-01T00:00:00Z",
            "--signature",
            signature,
        ],
        body,
    )
}

#[test]
fn the_documented_example_is_valid() {
    let run = verify(b"test-body", SIGNATURE);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "valid\n", "")
    );
}

#[test]
fn the_secret_can_come_from_a_file_or_the_environment_instead_of_argv() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "secret-key\n").unwrap();
    let rest = [
        "--path",
        "/user-created",
        "--date",
        "2023-01-01T00:00:00Z",
        "--signature",
        SIGNATURE,
    ];
    let from_file: Vec<&str> = ["webhook", "verify", "--secret-file", file.to_str().unwrap()]
        .into_iter()
        .chain(rest)
        .collect();
    let run = powens_in(dir.path(), &from_file, b"test-body");
    assert_eq!((run.code, run.stdout.as_str()), (0, "valid\n"), "{run:?}");
    let bare: Vec<&str> = ["webhook", "verify"].into_iter().chain(rest).collect();
    let run = powens_with_env(
        dir.path(),
        &bare,
        b"test-body",
        &[("POWENS_WEBHOOK_SECRET", "secret-key")],
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, "valid\n"), "{run:?}");
    // No secret anywhere: a one-line usage error naming the three ways.
    let run = powens_in(dir.path(), &bare, b"test-body");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("--secret-file FILE, POWENS_WEBHOOK_SECRET, or --secret"),
        "{run:?}"
    );
}

#[test]
fn one_more_byte_of_body_is_invalid_with_the_reason() {
    let run = verify(b"test-body\n", SIGNATURE);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "invalid: webhook signature does not match (wrong secret, path, date or body)\n"
    );
}

#[test]
fn a_signature_that_is_not_base64_is_invalid_with_the_reason() {
    let run = verify(b"test-body", "not base64!");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "invalid: webhook header BI-Signature is not a base64 HMAC-SHA256 value\n"
    );
}

#[test]
fn user_deleted_translates_to_one_user_disconnected_line() {
    let run = powens(
        &["webhook", "translate", "--event", "USER_DELETED"],
        br#"{"id": 42, "signin": "2026-06-18 08:00:00", "id_webhook_data": 7}"#,
    );
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["kind"], "user_disconnected");
    assert_eq!(lines[0]["pspUserID"], "42");
}

#[test]
fn an_unknown_event_is_a_usage_error_naming_the_known_ones() {
    let run = powens(&["webhook", "translate", "--event", "NOPE"], b"{}");
    assert_one_line_failure(&run, 2, "CONNECTION_SYNCED");
}

#[test]
fn a_body_that_is_not_json_is_one_line_and_exit_1() {
    let run = powens(
        &["webhook", "translate", "--event", "CONNECTION_SYNCED"],
        b"\xff\xfe garbage",
    );
    assert_one_line_failure(&run, 1, "powens: ");
}
