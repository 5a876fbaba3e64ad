//! Splitting: boundaries, headers, exact numbers, maturation groups, errors.

use super::*;

#[test]
fn trimming_splits_per_account_and_per_chunk_at_the_boundaries() {
    for (n, expected) in [
        (0, vec![0]),
        (1, vec![1]),
        (100, vec![100]),
        (101, vec![100, 1]),
        (250, vec![100, 100, 50]),
    ] {
        let body = synced(&[account(17, n, 1)]);
        let got = pieces(100, &body, "CONNECTION_SYNCED");
        assert_eq!(transaction_counts(&got), expected, "{n} transactions");
    }
}

#[test]
fn trimming_keeps_the_connection_header_and_the_account_balance_in_every_piece() {
    let body = synced(&[account(17, 5, 1), account(18, 0, 100), account(19, 3, 200)]);
    let got = pieces(2, &body, "CONNECTION_SYNCED");
    assert_eq!(transaction_counts(&got), [2, 2, 1, 0, 2, 1]);
    let accounts: Vec<i64> = got
        .iter()
        .map(|p| p["connection"]["accounts"][0]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(accounts, [17, 17, 17, 18, 19, 19]);
    for piece in &got {
        assert_eq!(piece["user"]["id"], json!(42));
        assert_eq!(piece["id_webhook_data"], json!(1001));
        assert_eq!(piece["connection"]["id"], json!(7));
        assert_eq!(
            piece["connection"]["last_update"],
            json!("2026-06-18 07:30:00")
        );
        let account = &piece["connection"]["accounts"][0];
        assert_eq!(account["currency"]["id"], json!("EUR"));
        assert_eq!(account["balance"].to_string(), "1234567890123456789.01");
    }
    // Transactions keep their order across pieces.
    let ids: Vec<i64> = got
        .iter()
        .flat_map(|p| {
            p["connection"]["accounts"][0]["transactions"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 200, 201, 202]);
}

#[test]
fn trimming_preserves_exact_numbers_byte_for_byte() {
    let exact = r#"{"id": 1, "id_account": 17, "date": "2026-06-18", "value": -0.1000000000000000055511151231257827, "type": "card", "coming": false, "extra": 1e400}"#;
    let body = synced(&[account(17, 0, 0).replace(
        r#""transactions": []"#,
        &format!(r#""transactions": [{exact}]"#),
    )]);
    let trimmed = handler(100)
        .trim(envelope(body), &config("CONNECTION_SYNCED"))
        .unwrap();
    let text = String::from_utf8(trimmed[0].body.clone()).unwrap();
    assert!(text.contains(exact), "{text}");
    assert!(text.contains("1234567890123456789.01"), "{text}");
}

#[test]
fn a_connection_without_accounts_still_yields_one_piece_for_its_state() {
    let body = connection_synced(r#""SCARequired""#, &[], "null");
    let got = pieces(100, &body, "CONNECTION_SYNCED");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["connection"]["accounts"], json!([]));
    assert_eq!(got[0]["connection"]["state"], json!("SCARequired"));
}

#[test]
fn user_synced_and_account_synced_are_split_too_and_other_events_pass_whole() {
    let second = format!(r#"{{"id": 8, "accounts": [{}]}}"#, account(18, 3, 1));
    let body = format!(
        r#"{{"user": {{"id": 42}}, "connections": [{}, {second}], "id_webhook_data": 5}}"#,
        r#"{"id": 7, "accounts": []}"#,
    );
    let got = pieces(2, &body, "USER_SYNCED");
    let shape: Vec<(i64, usize)> = got
        .iter()
        .map(|p| {
            let c = &p["connections"][0];
            let n = c["accounts"][0]["transactions"]
                .as_array()
                .map_or(0, Vec::len);
            (c["id"].as_i64().unwrap(), n)
        })
        .collect();
    assert_eq!(shape, [(7, 0), (8, 2), (8, 1)]);

    let got = pieces(2, &account(18, 5, 1), "ACCOUNT_SYNCED");
    let sizes: Vec<usize> = got
        .iter()
        .map(|p| p["transactions"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [2, 2, 1]);

    let deleted = r#"{"id": 7, "id_user": 42}"#;
    let whole = handler(1)
        .trim(envelope(deleted), &config("CONNECTION_DELETED"))
        .unwrap();
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].body, deleted.as_bytes());
}

#[test]
fn malformed_json_and_unknown_events_are_typed_errors() {
    let h = handler(100);
    for body in [
        "",
        "{",
        "[1,2]",
        r#"{"user": {"id": 1}}"#,
        r#"{"connection": 5}"#,
    ] {
        let err = h
            .trim(envelope(body), &config("CONNECTION_SYNCED"))
            .unwrap_err();
        assert!(
            matches!(err, WebhookError::Unsplittable { .. }),
            "{body}: {err}"
        );
        let err = h
            .translate(&envelope(body), &config("CONNECTION_SYNCED"))
            .unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedBody(_)),
            "{body}: {err}"
        );
        let connector = ConnectorError::from(err);
        assert!(
            matches!(connector, ConnectorError::Validation { .. }) && !connector.is_retryable()
        );
    }
    let mut unknown = config("USER_DELETED");
    unknown.name = "ACCOUNT_FOUND".into();
    let err = h.translate(&envelope("{}"), &unknown).unwrap_err();
    assert!(matches!(err, WebhookError::UnknownEvent { .. }), "{err}");
    assert!(err.to_string().contains("CONNECTION_SYNCED"), "{err}");
    assert!(h.trim(envelope("{}"), &unknown).is_err());
}

#[test]
fn a_deleted_row_and_its_possible_replacements_stay_in_one_piece() {
    let rows = [
        r#"{"id": 1, "id_account": 17, "date": "2026-06-10", "value": -5.00, "type": "card", "coming": false}"#,
        r#"{"id": 2, "id_account": 17, "date": "2026-06-11", "value": -120.5, "type": "card", "coming": true, "deleted": "2026-06-18 07:00:00"}"#,
        r#"{"id": 3, "id_account": 17, "date": "2026-06-12", "value": -6.00, "type": "card", "coming": false}"#,
        r#"{"id": 4, "id_account": 17, "date": "2026-06-13", "value": -7.00, "type": "card", "coming": false}"#,
        r#"{"id": 5, "id_account": 17, "date": "2026-06-14", "value": -120.50, "type": "card", "coming": false}"#,
    ];
    let account = account(17, 0, 0).replace(
        r#""transactions": []"#,
        &format!(r#""transactions": [{}]"#, rows.join(",")),
    );
    let body = synced(&[account]);
    let got = pieces(1, &body, "CONNECTION_SYNCED");
    let ids: Vec<Vec<i64>> = got
        .iter()
        .map(|p| {
            p["connection"]["accounts"][0]["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(ids, [vec![1], vec![3], vec![4], vec![2, 5]]);
    // The last piece retires the provisional row as the whole body would.
    let h = handler(1);
    let last = h
        .trim(envelope(body), &config("CONNECTION_SYNCED"))
        .unwrap()
        .pop()
        .unwrap();
    let responses = h
        .translate(&last, &config("CONNECTION_SYNCED"))
        .unwrap()
        .responses;
    assert_eq!(
        kinds(&responses),
        [
            "reconnected",
            "account",
            "payment",
            "payment_to_delete",
            "balance"
        ]
    );
}
