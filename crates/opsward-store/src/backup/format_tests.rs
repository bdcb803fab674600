//! The export format's parser takes files from outside (a snapshot anyone could have
//! edited): it must refuse bad input with an error, never panic, and read back exactly what
//! was written.

use super::format::*;
use proptest::prelude::*;

fn header() -> TableHeader {
    TableHeader {
        table: "things".into(),
        columns: [
            ("id", Kind::Int),
            ("score", Kind::Real),
            ("name", Kind::Text),
            ("done", Kind::Bool),
            ("at", Kind::Timestamp),
            ("on_day", Kind::Date),
            ("doc", Kind::Json),
            ("der", Kind::Bytes),
        ]
        .into_iter()
        .map(|(name, kind)| Column {
            name: name.into(),
            kind,
        })
        .collect(),
    }
}

fn cells() -> impl Strategy<Value = Vec<Cell>> {
    (
        any::<i64>(),
        // Binary fractions: serde_json reads every such number back exactly.
        (-1_000_000_000i64..1_000_000_000).prop_map(|n| n as f64 / 1024.0),
        ".*",
        any::<bool>(),
        0i64..4_102_444_800_000_000,
        0i32..3_000_000,
        prop::collection::btree_map("[a-z]{0,4}", any::<i32>(), 0..4),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(id, score, name, done, micros, days, doc, der)| {
            vec![
                Cell::Int(id),
                Cell::Real(score),
                Cell::Text(name),
                Cell::Bool(done),
                Cell::Timestamp(chrono::DateTime::from_timestamp_micros(micros).unwrap()),
                Cell::Date(chrono::NaiveDate::from_num_days_from_ce_opt(days.max(1)).unwrap()),
                Cell::Json(serde_json::to_value(doc).unwrap()),
                Cell::Bytes(der),
            ]
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rows_read_back_as_written(cells in cells(), nulls in prop::collection::vec(any::<bool>(), 8)) {
        let cells: Vec<Cell> = cells
            .into_iter()
            .zip(nulls)
            .map(|(c, null)| if null { Cell::Null } else { c })
            .collect();
        let line = row_line(&cells);
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(parse_row(&header(), &line).unwrap(), cells);
    }

    #[test]
    fn any_row_line_is_read_or_refused(line in ".*") {
        let _ = parse_row(&header(), &line);
    }

    #[test]
    fn any_json_row_is_read_or_refused(values in prop::collection::vec(
        prop_oneof![
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".*".prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
        ],
        0..10,
    )) {
        let _ = parse_row(&header(), &serde_json::Value::Array(values).to_string());
    }

    #[test]
    fn any_header_line_is_read_or_refused(line in ".*", table in ".*", column in ".*") {
        let _ = parse_header(&line);
        let made = serde_json::json!({"table": table, "columns": [{"name": column, "kind": "text"}]});
        if let Ok(header) = parse_header(&made.to_string()) {
            prop_assert!(is_identifier(&header.table));
            prop_assert!(header.columns.iter().all(|c| is_identifier(&c.name)));
        }
    }
}

#[test]
fn refuses_what_does_not_fit() {
    assert!(parse_header(
        r#"{"table":"x; DROP TABLE users","columns":[{"name":"a","kind":"text"}]}"#
    )
    .is_err());
    assert!(parse_header(
        r#"{"table":"x","columns":[{"name":"a","kind":"text"},{"name":"a","kind":"int"}]}"#
    )
    .is_err());
    assert!(parse_header(r#"{"table":"x","columns":[{"name":"a","kind":"money"}]}"#).is_err());
    assert!(parse_header(r#"{"table":"x","columns":[]}"#).is_err());
    let h = header();
    assert!(parse_row(&h, "[1]").is_err(), "too few values");
    assert!(parse_row(
        &h,
        r#"[1.5,1,"n",true,"2026-01-01T00:00:00+00:00","2026-01-01",{},"00"]"#
    )
    .is_err());
    assert!(parse_row(&h, r#"[1,1,"n",true,"yesterday","2026-01-01",{},"00"]"#).is_err());
    assert!(parse_row(
        &h,
        r#"[1,1,"n",true,"2026-01-01T00:00:00+00:00","2026-01-01",{},"zz"]"#
    )
    .is_err());
    assert!(parse_row(
        &h,
        r#"[1,1,"n",true,"2026-01-01T00:00:00+00:00","2026-01-01",{},"00"]"#
    )
    .is_ok());
}

#[test]
fn backends_values_become_one_canonical_form() {
    // SQLite's text with nanoseconds and PostgreSQL's microseconds are the same instant.
    let lite = Cell::from_raw(
        Kind::Timestamp,
        Raw::Text("2026-01-02T03:04:05.123456789+00:00".into()),
    )
    .unwrap();
    let pg = Cell::from_raw(
        Kind::Timestamp,
        Raw::Text("2026-01-02T04:04:05.123456+01:00".into()),
    )
    .unwrap();
    assert_eq!(lite, pg);
    assert_eq!(
        lite.to_json(),
        serde_json::json!("2026-01-02T03:04:05.123456+00:00")
    );
    let a = Cell::from_raw(
        Kind::Json,
        Raw::Text(r#"{"b":1,"a":[{"d":1,"c":2}]}"#.into()),
    )
    .unwrap();
    let b = Cell::from_raw(
        Kind::Json,
        Raw::Json(serde_json::json!({"a":[{"c":2,"d":1}],"b":1})),
    )
    .unwrap();
    assert_eq!(row_line(&[a]), row_line(&[b]));
    assert_eq!(
        Cell::from_raw(Kind::Bool, Raw::Int(1)).unwrap(),
        Cell::Bool(true)
    );
    assert!(Cell::from_raw(Kind::Bool, Raw::Int(2)).is_err());
    assert_eq!(
        Cell::from_raw(Kind::Bytes, Raw::Text("\\x00ff".into())).unwrap(),
        Cell::Bytes(vec![0, 255])
    );
    assert_eq!(
        Cell::from_raw(Kind::Real, Raw::Int(1)).unwrap(),
        Cell::Real(1.0)
    );
}
