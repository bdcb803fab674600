//! Whether a probe's output is within its tolerance, as Chaos Toolkit decides it
//! (chaoslib's `within_tolerance`): a literal is compared with the output (for an HTTP or
//! process probe, an integer with its status), a list is a set of accepted values, and
//! `{"type": "range" | "regex", ...}` match a range or a pattern, against `target` when given.

use regex::Regex;
use serde_json::Value;

/// Where a literal is compared in structured output: HTTP and process probes answer
/// `{"status", ...}` and are judged by status; text tolerances look at the body or stdout.
fn status_of(value: &Value) -> &Value {
    value.get("status").unwrap_or(value)
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("stdout").or_else(|| o.get("body")).map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        }),
        other => Some(other.to_string()),
    }
}

fn same(tolerance: &Value, value: &Value) -> bool {
    match tolerance {
        Value::Number(_) => status_of(value).as_f64() == tolerance.as_f64(),
        Value::Bool(b) => match value {
            Value::Bool(v) => v == b,
            // A process "succeeds" with exit status 0.
            other => other.get("status").and_then(Value::as_i64).map(|s| s == 0) == Some(*b),
        },
        Value::String(s) => match value {
            Value::String(v) => v == s,
            other => text_of(other)
                .map(|t| t.trim() == s.trim())
                .unwrap_or(false),
        },
        _ => tolerance == value,
    }
}

/// `Ok(met)`, or why the tolerance cannot be judged here.
pub fn within(tolerance: &Value, value: &Value) -> Result<bool, String> {
    match tolerance {
        Value::Array(accepted) => Ok(accepted.iter().any(|t| same(t, value))),
        Value::Object(spec) => {
            let kind = spec.get("type").and_then(Value::as_str).unwrap_or_default();
            let target = match spec.get("target").and_then(Value::as_str) {
                Some(key) => value.get(key).cloned().unwrap_or(Value::Null),
                None => value.clone(),
            };
            match kind {
                "range" => {
                    let bounds = spec.get("range").and_then(Value::as_array).ok_or("range tolerance without a range")?;
                    let (Some(lo), Some(hi)) = (bounds.first().and_then(Value::as_f64), bounds.get(1).and_then(Value::as_f64)) else {
                        return Err("range must be two numbers".into());
                    };
                    let v = status_of(&target).as_f64().ok_or("range tolerance on a value that is not a number")?;
                    Ok(v >= lo && v <= hi)
                }
                "regex" => {
                    let pattern = spec.get("pattern").and_then(Value::as_str).ok_or("regex tolerance without a pattern")?;
                    let re = Regex::new(pattern).map_err(|e| format!("bad pattern: {e}"))?;
                    Ok(text_of(&target).is_some_and(|t| re.is_match(&t)))
                }
                other => Err(format!("{other:?} tolerances are not supported natively; run this experiment with `chaos run`")),
            }
        }
        literal => Ok(same(literal, value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_lists_ranges_and_patterns() {
        let http = json!({"status": 200, "headers": {}, "body": "ok: all good"});
        let process = json!({"status": 0, "stdout": "3 replicas ready\n", "stderr": ""});
        assert_eq!(within(&json!(200), &http), Ok(true));
        assert_eq!(within(&json!(503), &http), Ok(false));
        assert_eq!(within(&json!([200, 204]), &http), Ok(true));
        assert_eq!(within(&json!(true), &process), Ok(true));
        assert_eq!(within(&json!(0), &process), Ok(true));
        assert_eq!(within(&json!("3 replicas ready"), &process), Ok(true));
        assert_eq!(
            within(
                &json!({"type": "range", "range": [200, 299], "target": "status"}),
                &http
            ),
            Ok(true)
        );
        assert_eq!(
            within(
                &json!({"type": "regex", "pattern": "^ok:", "target": "body"}),
                &http
            ),
            Ok(true)
        );
        assert_eq!(
            within(&json!({"type": "regex", "pattern": "replicas"}), &process),
            Ok(true)
        );
        assert_eq!(within(&json!(4), &json!(4)), Ok(true));
        assert!(within(&json!({"type": "jsonpath", "path": "$.x"}), &http).is_err());
        assert!(within(&json!({"type": "regex", "pattern": "("}), &http).is_err());
    }
}
