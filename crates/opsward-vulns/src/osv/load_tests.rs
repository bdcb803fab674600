//! Hostile archives: zip bombs and oversized entry counts are refused while streaming.

use super::*;
use flate2::{Compress, Compression, FlushCompress};
use std::io::Write;

/// A raw deflate stream of `copies` MiB of zeros: one MiB compressed from a fresh state
/// (it only refers back into itself) and sync-flushed to a byte boundary, repeated, then a
/// final empty block. About 1 KiB per MiB, so 1 GiB fits in about 1 MiB.
fn zeros_deflate(copies: usize) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(64 << 10);
    Compress::new(Compression::best(), false)
        .compress_vec(&vec![0u8; 1 << 20], &mut chunk, FlushCompress::Sync)
        .unwrap();
    let mut out = Vec::with_capacity(chunk.len() * copies + 2);
    for _ in 0..copies {
        out.extend_from_slice(&chunk);
    }
    out.extend_from_slice(&[0x03, 0x00]); // final fixed-Huffman block with no data
    out
}

/// A one-entry zip written by hand, so the entry can inflate to far more than the test
/// would like to compress. The CRC is of the real content (zeros), as a real bomb's is.
fn zip_of(name: &str, deflated: &[u8], inflated_len: u64) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..inflated_len >> 20 {
        crc.update(&zeros);
    }
    let (crc, csize, usize_) = (crc.sum(), deflated.len() as u32, inflated_len as u32);
    let mut z = Vec::new();
    let header = |z: &mut Vec<u8>, central: bool| {
        if central {
            z.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            z.extend_from_slice(&20u16.to_le_bytes()); // version made by
        } else {
            z.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        }
        for v in [20u16, 0, 8, 0, 0x21] {
            z.extend_from_slice(&v.to_le_bytes()); // needed, flags, deflate, time, date
        }
        for v in [crc, csize, usize_] {
            z.extend_from_slice(&v.to_le_bytes());
        }
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes()); // extra
        if central {
            for v in [0u16, 0, 0] {
                z.extend_from_slice(&v.to_le_bytes()); // comment, disk, internal attrs
            }
            z.extend_from_slice(&0u32.to_le_bytes()); // external attrs
            z.extend_from_slice(&0u32.to_le_bytes()); // local header offset
        }
        z.extend_from_slice(name.as_bytes());
    };
    header(&mut z, false);
    z.extend_from_slice(deflated);
    let central_at = z.len() as u32;
    header(&mut z, true);
    let central_len = z.len() as u32 - central_at;
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, 1, 1] {
        z.extend_from_slice(&v.to_le_bytes());
    }
    z.extend_from_slice(&central_len.to_le_bytes());
    z.extend_from_slice(&central_at.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

/// Peak resident memory of this process (nextest runs each test in its own process).
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

/// Issue 19, failure 6: a 1 MiB zip holding a 1 GiB entry took 1.08 GB of memory before it
/// failed. Now it is refused at the entry limit, with a clear reason and bounded memory.
#[test]
fn a_zip_bomb_is_refused_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.zip");
    let zip = zip_of("GHSA-bomb.json", &zeros_deflate(1024), 1 << 30);
    assert!(zip.len() < 2 << 20, "{} bytes", zip.len());
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&zip)
        .unwrap();
    let loaded = load_path(&path);
    assert!(loaded.records.is_empty());
    assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
    let reason = &loaded.problems[0].reason;
    assert!(
        reason.contains("more than 33554432 bytes") && reason.contains("zip bomb"),
        "{reason}"
    );
    let peak = peak_rss_bytes();
    eprintln!(
        "peak RSS while refusing a 1 GiB zip bomb: {} MiB",
        peak >> 20
    );
    assert!(peak < 200 << 20, "peak RSS {} MiB", peak >> 20);
}

#[test]
fn archive_total_and_entry_count_are_limited() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..3 {
        writer
            .start_file(
                format!("r{i}.json"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
        writer.write_all(&[b' '; 1000]).unwrap();
    }
    writer.finish().unwrap();
    let few = ArchiveLimits {
        max_entries: 2,
        ..ArchiveLimits::default()
    };
    let loaded = load_path_with(&path, &few);
    assert!(
        loaded.problems[0].reason.contains("3 entries"),
        "{:?}",
        loaded.problems
    );
    let small = ArchiveLimits {
        max_archive_bytes: 2500,
        ..ArchiveLimits::default()
    };
    let loaded = load_path_with(&path, &small);
    assert!(
        loaded
            .problems
            .iter()
            .any(|p| p.reason.contains("archive limit")),
        "{:?}",
        loaded.problems
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// Arbitrary bytes as an `all.zip`, or as a zip whose entry is arbitrary: never a panic,
    /// and anything refused says why.
    #[test]
    fn fuzz_osv_zip(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
                    entry in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024)) {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw.zip");
        std::fs::write(&raw, &bytes).unwrap();
        let loaded = load_path(&raw);
        proptest::prop_assert!(loaded.records.len() <= 1);
        let path = dir.path().join("all.zip");
        let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        writer.start_file("x.json", zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(&entry).unwrap();
        writer.finish().unwrap();
        let loaded = load_path(&path);
        proptest::prop_assert!(loaded.problems.iter().all(|p| !p.reason.is_empty()));
    }
}
