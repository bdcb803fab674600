//! Loading advisories from zips (osv.dev's `all.zip`, osv-scanner's offline layout), single
//! files and broken inputs: each problem names the file and why.

use std::io::Write;

use opsward_vulns::osv::load_path;

use crate::real_data::shared_data;

fn zip_of(files: &[(&str, String)]) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buffer);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        writer.start_file(*name, options).unwrap();
        writer.write_all(text.as_bytes()).unwrap();
    }
    writer.finish().unwrap();
    buffer.into_inner()
}

fn real(id: &str) -> (String, String) {
    let path = shared_data().join(format!("osv/crates.io/{id}.json"));
    (format!("{id}.json"), std::fs::read_to_string(path).unwrap())
}

#[test]
fn osv_scanner_offline_layout_and_single_files() {
    let temp = tempfile::tempdir().unwrap();
    let (a_name, a) = real("RUSTSEC-2016-0001");
    let (b_name, b) = real("RUSTSEC-2019-0009");
    std::fs::create_dir_all(temp.path().join("crates.io")).unwrap();
    std::fs::write(
        temp.path().join("crates.io/all.zip"),
        zip_of(&[(&a_name, a), (&b_name, b)]),
    )
    .unwrap();
    let pypi = shared_data().join("osv/PyPI/PYSEC-2005-1.yaml");
    std::fs::create_dir_all(temp.path().join("PyPI")).unwrap();
    std::fs::copy(&pypi, temp.path().join("PyPI/PYSEC-2005-1.yaml")).unwrap();
    std::fs::write(temp.path().join("README.md"), "not an advisory").unwrap();

    let loaded = load_path(temp.path());
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let ids: Vec<&str> = loaded.records.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["PYSEC-2005-1", "RUSTSEC-2016-0001", "RUSTSEC-2019-0009"]
    );
    assert!(loaded.records[1]
        .0
        .ends_with("all.zip!RUSTSEC-2016-0001.json"));

    let single = load_path(&pypi);
    assert_eq!(single.records.len(), 1);
}

#[test]
fn a_truncated_zip_and_a_bad_record_are_reported_with_file_and_reason() {
    let temp = tempfile::tempdir().unwrap();
    let (a_name, a) = real("RUSTSEC-2016-0001");
    let whole = zip_of(&[(&a_name, a)]);
    let truncated = temp.path().join("all.zip");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let loaded = load_path(&truncated);
    assert!(loaded.records.is_empty());
    assert_eq!(loaded.problems.len(), 1);
    assert_eq!(loaded.problems[0].file, truncated.display().to_string());
    assert!(
        loaded.problems[0].reason.contains("zip"),
        "{}",
        loaded.problems[0]
    );

    let bad = temp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("X-1.json"),
        "{\"id\": \"X-1\",\n \"modified\": \"2024-01-01T00:00:00Z\",\n \"affected\": 7}",
    )
    .unwrap();
    let loaded = load_path(&bad);
    assert_eq!(loaded.problems.len(), 1);
    let problem = &loaded.problems[0];
    assert!(
        problem.file.ends_with("X-1.json") && problem.line == Some(3),
        "{problem}"
    );
}
