//! `powens link`: a Webview link for a PSU.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::live::*;
use common::*;

#[test]
fn link_prints_a_sandbox_webview_connect_url_with_code_redirect_and_state() {
    let run = powens(&["link", "--psu", "Jane Doe", "--no-serve"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    let link = url::Url::parse(run.stdout.trim()).expect("one URL on stdout");
    assert_eq!(link.host_str(), Some("127.0.0.1"));
    assert_eq!(link.path(), "/en/connect");
    let query: std::collections::BTreeMap<String, String> =
        link.query_pairs().into_owned().collect();
    for key in [
        "domain",
        "client_id",
        "code",
        "redirect_uri",
        "state",
        "max_connections",
    ] {
        assert!(query.contains_key(key), "{key} in {link}");
    }
    assert_eq!(
        query["redirect_uri"],
        "http://127.0.0.1:8080/powens/callback"
    );
}

#[test]
fn link_with_a_config_needs_a_state_directory() {
    let run = powens(&["link", "--psu", "jane", "--config", "config.json"], b"");
    assert_one_line_failure(&run, 2, "pass --state DIR");
}

#[test]
fn link_refuses_a_redirect_with_a_query_string_as_a_usage_error() {
    let run = powens(
        &[
            "link",
            "--psu",
            "jane",
            "--no-serve",
            "--redirect-uri",
            "https://app.example/cb?x=1",
        ],
        b"",
    );
    assert_one_line_failure(&run, 2, "--redirect-uri");
    assert!(run.stderr.contains("query string"), "{run:?}");
}

/// `powens link --config config.json --state state --psu NAME extra…` in the sandbox's
/// directory.
fn link_live(sandbox: &LiveSandbox, name: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "link",
        "--config",
        "config.json",
        "--state",
        "state",
        "--psu",
        name,
    ];
    args.extend_from_slice(extra);
    powens_in(sandbox.dir(), &args, b"")
}

/// The saved PSUs: (psuID, token) in file order.
fn saved_psus(sandbox: &LiveSandbox) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(sandbox.dir().join("state/psus.json")).unwrap();
    let users: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    users
        .iter()
        .map(|u| {
            (
                u["psuID"].as_str().unwrap().to_owned(),
                u["authToken"]["token"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn link_with_an_invalid_redirect_uri_creates_no_powens_user() {
    let sandbox = LiveSandbox::start(0);
    for uri in [
        "https://app.example/cb?x=1",
        "http://app.example/cb",
        "app/cb",
    ] {
        let run = link_live(&sandbox, "Alice", &["--redirect-uri", uri]);
        assert_one_line_failure(&run, 2, "--redirect-uri");
        assert!(run.stdout.is_empty(), "{run:?}");
    }
    assert_eq!(sandbox.control().user_count(), 0);
    assert!(!sandbox.dir().join("state/psus.json").exists());
}

#[test]
fn link_with_a_bad_psu_id_or_a_missing_config_creates_no_powens_user() {
    let sandbox = LiveSandbox::start(0);
    let run = link_live(&sandbox, "Alice", &["--psu-id", "alice/../x"]);
    assert_one_line_failure(&run, 2, "--psu-id: a PSU id is 1 to 64");
    let run = link_live(&sandbox, "!!!", &[]);
    assert_one_line_failure(&run, 2, "--psu needs a name with at least one ASCII letter");
    let run = powens_in(
        sandbox.dir(),
        &[
            "link",
            "--config",
            "absent.json",
            "--state",
            "state",
            "--psu",
            "Alice",
        ],
        b"",
    );
    assert_one_line_failure(&run, 1, "cannot read absent.json");
    assert_eq!(sandbox.control().user_count(), 0);
}

#[test]
fn link_saves_the_psu_and_its_token_then_prints_the_link() {
    let sandbox = LiveSandbox::start(0);
    let run = link_live(&sandbox, "Alice", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let link = url::Url::parse(run.stdout.trim()).expect("one URL on stdout");
    assert_eq!(link.path(), "/en/connect");
    assert_eq!(sandbox.control().user_count(), 1);
    let saved = saved_psus(&sandbox);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].0, "psu-alice");
    assert!(!saved[0].1.is_empty());
    // The token is in the file, never on the screen.
    assert!(!run.stdout.contains(&saved[0].1), "{run:?}");
    assert!(!run.stderr.contains(&saved[0].1), "{run:?}");
}

#[test]
fn link_keeps_the_saved_psu_when_its_link_cannot_be_created() {
    use powens_sandbox::{Fault, FaultRoute, FaultRule};
    let sandbox = LiveSandbox::start(0);
    sandbox.control().inject_fault(
        FaultRule::new(
            FaultRoute::AuthTokenCode,
            1,
            Fault::ServerError { status: 403 },
        )
        .times(10),
    );
    let run = link_live(&sandbox, "Alice", &[]);
    assert_one_line_failure(&run, 1, "cannot create a link for psu-alice");
    assert!(run.stderr.contains("--again"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    // The user Powens created is not orphaned: its token is saved.
    assert_eq!(sandbox.control().user_count(), 1);
    assert_eq!(saved_psus(&sandbox)[0].0, "psu-alice");
    sandbox.control().clear_faults();
    let again = link_live(&sandbox, "Alice", &["--again"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(sandbox.control().user_count(), 1);
}

#[test]
fn link_never_overwrites_a_saved_psu_of_the_same_name() {
    let sandbox = LiveSandbox::start(0);
    assert_eq!(link_live(&sandbox, "Alice", &[]).code, 0);
    let before = std::fs::read(sandbox.dir().join("state/psus.json")).unwrap();
    let run = link_live(&sandbox, "Alice", &[]);
    assert_one_line_failure(&run, 2, "PSU psu-alice is already saved in state/psus.json");
    assert!(run.stderr.contains("--again"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert_eq!(sandbox.control().user_count(), 1, "no second Powens user");
    let after = std::fs::read(sandbox.dir().join("state/psus.json")).unwrap();
    assert_eq!(before, after, "psus.json unchanged");
}

#[test]
fn link_never_overwrites_a_psu_whose_name_gives_the_same_id() {
    let sandbox = LiveSandbox::start(0);
    assert_eq!(link_live(&sandbox, "Alice", &[]).code, 0);
    let run = link_live(&sandbox, "alice!", &[]);
    assert_one_line_failure(&run, 2, "PSU psu-alice is already saved");
    assert!(run.stderr.contains("--psu-id"), "{run:?}");
    assert_eq!(sandbox.control().user_count(), 1);
    // The second person gets an id of their own.
    let run = link_live(&sandbox, "alice!", &["--psu-id", "psu-alice-2"]);
    assert_eq!(run.code, 0, "{run:?}");
    let saved = saved_psus(&sandbox);
    let ids: Vec<&str> = saved.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["psu-alice", "psu-alice-2"]);
    assert_ne!(saved[0].1, saved[1].1, "two Powens users, two tokens");
    assert_eq!(sandbox.control().user_count(), 2);
}

#[test]
fn link_again_prints_a_new_link_for_the_saved_psu_and_creates_no_user() {
    let sandbox = LiveSandbox::start(0);
    let first = link_live(&sandbox, "Alice", &[]);
    assert_eq!(first.code, 0, "{first:?}");
    let before = saved_psus(&sandbox);
    let again = link_live(&sandbox, "Alice", &["--again"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(url::Url::parse(again.stdout.trim()).is_ok(), "{again:?}");
    assert_ne!(first.stdout, again.stdout, "a new single-use code");
    assert_eq!(sandbox.control().user_count(), 1);
    assert_eq!(saved_psus(&sandbox), before);
    // --again for a PSU that is not saved creates nothing either.
    let run = link_live(&sandbox, "Bob", &["--again"]);
    assert_one_line_failure(&run, 2, "--again: no PSU psu-bob is saved");
    assert_eq!(sandbox.control().user_count(), 1);
}

#[test]
fn link_state_and_again_without_a_config_are_usage_errors() {
    let run = powens(
        &["link", "--psu", "jane", "--no-serve", "--state", "s"],
        b"",
    );
    assert_one_line_failure(&run, 2, "pass --config too");
    let run = powens(&["link", "--psu", "jane", "--no-serve", "--again"], b"");
    assert_one_line_failure(&run, 2, "pass --config too");
}

#[cfg(unix)]
#[test]
fn link_writes_psus_json_0600_in_a_new_0700_state_directory() {
    let sandbox = LiveSandbox::start(0);
    let run = powens_in(
        sandbox.dir(),
        &[
            "link",
            "--config",
            "config.json",
            "--state",
            "new/state",
            "--psu",
            "Alice",
        ],
        b"",
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(mode_of(&sandbox.dir().join("new")), 0o700);
    assert_eq!(mode_of(&sandbox.dir().join("new/state")), 0o700);
    assert_eq!(mode_of(&sandbox.dir().join("new/state/psus.json")), 0o600);
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(sandbox.dir().join("new/state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[cfg(unix)]
#[test]
fn link_into_an_existing_open_state_directory_warns_and_writes_0600() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = LiveSandbox::start(0);
    let state = sandbox.dir().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    // An older psus.json written with the default mode is replaced by a 0600 one.
    std::fs::write(state.join("psus.json"), "[]\n").unwrap();
    std::fs::set_permissions(
        state.join("psus.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let run = link_live(&sandbox, "Alice", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("warning: state is open to other users (mode 755)"),
        "{run:?}"
    );
    assert_eq!(
        mode_of(&state),
        0o755,
        "a directory it did not create is left as is"
    );
    assert_eq!(mode_of(&state.join("psus.json")), 0o600);
}
