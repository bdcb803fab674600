//! `opsward_bm25`: FTS5's own `bm25` ranking, except that the caller supplies how many
//! documents contain each phrase instead of FTS5 counting them.
//!
//! Why: to compute a phrase's IDF, the built-in `bm25` walks the phrase's whole doclist once
//! per query (`xQueryPhrase`). For a word in most of a million items that is most of the
//! index, 30-60 ms per query, however few rows are ranked; the same query without `bm25`
//! takes 1 ms. FTS5 keeps no per-term document counts, so the caller counts (or estimates)
//! them cheaply and passes them in: `opsward_bm25(fts_table, n0, n1, ...)`, one count per
//! phrase in the `MATCH` expression, in order. Everything else (k1 = 1.2, b = 0.75, the
//! IDF formula and its floor, term frequency over all columns, document length and the
//! table's average length) is computed exactly as `bm25` does in SQLite 3.46's `fts5_aux.c`,
//! so with exact counts the two return the same score (a test checks this).
//!
//! The function is registered on every connection of the SQLite pool (see
//! [`register`], called from the pool's `after_connect`).

use libsqlite3_sys as ffi;
use std::{
    ffi::{c_int, c_void},
    ptr::{self, NonNull},
};

/// The SQL name of the ranking function.
pub const FUNCTION: &str = "opsward_bm25";
/// [`FUNCTION`] for the C API (a test checks that the two agree).
const FUNCTION_C: &std::ffi::CStr = c"opsward_bm25";

/// More phrases than any query opsward builds (at most 32 search terms); the frequencies of
/// one row live in a stack array of this size.
const MAX_PHRASES: usize = 64;

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Registers [`FUNCTION`] with the FTS5 module of one connection.
///
/// # Safety
/// `db` must be a valid, open connection that no other thread uses during the call.
pub unsafe fn register(db: NonNull<ffi::sqlite3>) -> Result<(), String> {
    let api = fts5_api(db)?;
    let create = (*api)
        .xCreateFunction
        .ok_or_else(|| "FTS5 offers no xCreateFunction".to_string())?;
    let rc = create(
        api,
        FUNCTION_C.as_ptr(),
        ptr::null_mut(),
        Some(opsward_bm25),
        None,
    );
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(format!("registering {FUNCTION} failed (SQLite code {rc})"))
    }
}

/// The connection's `fts5_api`, obtained the documented way: `SELECT fts5(?1)` with a
/// pointer bound under the type name `fts5_api_ptr`.
unsafe fn fts5_api(db: NonNull<ffi::sqlite3>) -> Result<*mut ffi::fts5_api, String> {
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    let sql = c"SELECT fts5(?1)";
    let rc = ffi::sqlite3_prepare_v2(db.as_ptr(), sql.as_ptr(), -1, &mut stmt, ptr::null_mut());
    if rc != ffi::SQLITE_OK {
        return Err(format!("FTS5 is not available (SQLite code {rc})"));
    }
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    let mut rc = ffi::sqlite3_bind_pointer(
        stmt,
        1,
        (&mut api as *mut *mut ffi::fts5_api).cast::<c_void>(),
        c"fts5_api_ptr".as_ptr(),
        None,
    );
    if rc == ffi::SQLITE_OK {
        rc = ffi::sqlite3_step(stmt);
    }
    ffi::sqlite3_finalize(stmt);
    if rc != ffi::SQLITE_ROW && rc != ffi::SQLITE_DONE && rc != ffi::SQLITE_OK {
        return Err(format!(
            "asking SQLite for the FTS5 API failed (SQLite code {rc})"
        ));
    }
    if api.is_null() {
        return Err("SQLite returned no FTS5 API".to_string());
    }
    Ok(api)
}

/// The inverse document frequency of a phrase in `n` of `rows` documents, floored as
/// `bm25` floors it: a phrase in half the documents or more would otherwise score negative.
fn idf(rows: f64, n: f64) -> f64 {
    let n = n.clamp(0.0, rows);
    let idf = ((rows - n + 0.5) / (n + 0.5)).ln();
    if idf <= 0.0 {
        1e-6
    } else {
        idf
    }
}

/// The FTS5 auxiliary function. Errors are reported through the SQL result, never a panic
/// across the C boundary.
unsafe extern "C" fn opsward_bm25(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    n_val: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    match score(&*api, fts, n_val, values) {
        Ok(score) => ffi::sqlite3_result_double(ctx, score),
        Err(Failure::Code(rc)) => ffi::sqlite3_result_error_code(ctx, rc),
        Err(Failure::Message(message)) => {
            ffi::sqlite3_result_error(ctx, message.as_ptr(), -1);
        }
    }
}

enum Failure {
    Code(c_int),
    Message(&'static std::ffi::CStr),
}

fn check(rc: c_int) -> Result<(), Failure> {
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(Failure::Code(rc))
    }
}

unsafe fn score(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    n_val: c_int,
    values: *mut *mut ffi::sqlite3_value,
) -> Result<f64, Failure> {
    let missing = || Failure::Message(c"opsward_bm25: FTS5 API function missing");
    let phrases = api.xPhraseCount.ok_or_else(missing)?(fts);
    let phrases = usize::try_from(phrases).unwrap_or(0);
    if phrases > MAX_PHRASES {
        return Err(Failure::Message(c"opsward_bm25: too many phrases"));
    }
    if usize::try_from(n_val).ok() != Some(phrases) {
        return Err(Failure::Message(
            c"opsward_bm25: give one document count per phrase of the MATCH expression",
        ));
    }

    let mut rows: ffi::sqlite3_int64 = 0;
    check(api.xRowCount.ok_or_else(missing)?(fts, &mut rows))?;
    let mut tokens: ffi::sqlite3_int64 = 0;
    check(api.xColumnTotalSize.ok_or_else(missing)?(
        fts,
        -1,
        &mut tokens,
    ))?;
    // An empty table has no rows to rank; the guard keeps the average finite anyway.
    let rows = rows.max(1) as f64;
    let average_length = tokens as f64 / rows;

    let mut frequency = [0.0f64; MAX_PHRASES];
    let mut instances: c_int = 0;
    check(api.xInstCount.ok_or_else(missing)?(fts, &mut instances))?;
    let inst = api.xInst.ok_or_else(missing)?;
    for i in 0..instances {
        let (mut phrase, mut column, mut offset) = (0, 0, 0);
        check(inst(fts, i, &mut phrase, &mut column, &mut offset))?;
        if let Some(f) = usize::try_from(phrase)
            .ok()
            .and_then(|p| frequency.get_mut(p))
        {
            *f += 1.0;
        }
    }
    let mut length: c_int = 0;
    check(api.xColumnSize.ok_or_else(missing)?(fts, -1, &mut length))?;
    let length = f64::from(length);

    let mut score = 0.0;
    for (p, f) in frequency.iter().take(phrases).enumerate() {
        let documents = ffi::sqlite3_value_double(*values.add(p));
        score += idf(rows, documents) * (f * (K1 + 1.0))
            / (f + K1 * (1.0 - B + B * length / average_length));
    }
    // Lower is better, as with `bm25`, so `ORDER BY` works the same way.
    Ok(-score)
}

#[cfg(test)]
mod tests {
    use super::{idf, FUNCTION, FUNCTION_C};

    #[test]
    fn both_names_agree() {
        assert_eq!(FUNCTION_C.to_str(), Ok(FUNCTION));
    }

    #[test]
    fn idf_is_floored_like_bm25() {
        assert!((idf(1000.0, 10.0) - (990.5f64 / 10.5).ln()).abs() < 1e-12);
        assert_eq!(idf(1000.0, 600.0), 1e-6);
        assert_eq!(
            idf(1000.0, 5000.0),
            1e-6,
            "a count above the rows is clamped"
        );
        assert!(idf(1000.0, -3.0) > idf(1000.0, 0.0) - 1e-12);
    }
}
