//! Toxics: what a proxy does to the bytes passing through it. The wire format (name, type,
//! stream, toxicity, attributes) and the attribute names and units are Toxiproxy's.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// Which way the bytes flow: `upstream` is client to service, `downstream` service to client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Upstream,
    #[default]
    Downstream,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }
}

/// A toxic's behaviour with its attributes, in Toxiproxy's units.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Delay every chunk by `latency` ms, plus or minus up to `jitter` ms.
    Latency { latency: u64, jitter: u64 },
    /// At most `rate` KB/s (1 KB = 1000 bytes).
    Bandwidth { rate: u64 },
    /// Delay closing the connection by `delay` ms.
    SlowClose { delay: u64 },
    /// Let no data through; close after `timeout` ms (0: never, until the toxic is removed).
    Timeout { timeout: u64 },
    /// Reset the connection (TCP RST) after `timeout` ms.
    ResetPeer { timeout: u64 },
    /// Cut data into pieces of `average_size` +- `size_variation` bytes, `delay` us apart.
    Slicer {
        average_size: u64,
        size_variation: u64,
        delay: u64,
    },
    /// Close the connection after `bytes` bytes.
    LimitData { bytes: u64 },
}

/// The attribute names of each type, with their defaults.
fn schema(kind: &str) -> Option<&'static [(&'static str, u64)]> {
    Some(match kind {
        "latency" => &[("latency", 0), ("jitter", 0)],
        "bandwidth" => &[("rate", 0)],
        "slow_close" => &[("delay", 0)],
        "timeout" => &[("timeout", 0)],
        "reset_peer" => &[("timeout", 0)],
        "slicer" => &[("average_size", 0), ("size_variation", 0), ("delay", 0)],
        "limit_data" => &[("bytes", 0)],
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToxicError {
    #[error("invalid toxic type: {0}")]
    UnknownType(String),
    #[error("attribute {0} must be a non-negative integer")]
    BadAttribute(String),
    #[error("toxicity must be between 0 and 1")]
    BadToxicity,
    #[error("stream must be upstream or downstream")]
    BadStream,
    #[error("toxic name must not be empty")]
    EmptyName,
}

/// A toxic as the API shows it; `kind` is its parsed behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    pub name: String,
    pub type_name: String,
    pub stream: Stream,
    pub toxicity: f64,
    pub kind: Kind,
}

fn parse_kind(type_name: &str, attributes: &Map<String, Value>) -> Result<Kind, ToxicError> {
    let fields = schema(type_name).ok_or_else(|| ToxicError::UnknownType(type_name.into()))?;
    let mut values = Vec::with_capacity(fields.len());
    for (name, default) in fields {
        let v = match attributes.get(*name) {
            None | Some(Value::Null) => *default,
            // Clients send numbers; some send integral floats (JSON from JavaScript).
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                        .map(|f| f as u64)
                })
                .ok_or_else(|| ToxicError::BadAttribute((*name).into()))?,
        };
        values.push(v);
    }
    Ok(match type_name {
        "latency" => Kind::Latency {
            latency: values[0],
            jitter: values[1],
        },
        "bandwidth" => Kind::Bandwidth { rate: values[0] },
        "slow_close" => Kind::SlowClose { delay: values[0] },
        "timeout" => Kind::Timeout { timeout: values[0] },
        "reset_peer" => Kind::ResetPeer { timeout: values[0] },
        "slicer" => Kind::Slicer {
            average_size: values[0],
            size_variation: values[1],
            delay: values[2],
        },
        "limit_data" => Kind::LimitData { bytes: values[0] },
        other => return Err(ToxicError::UnknownType(other.into())),
    })
}

/// A toxic as sent to create one: everything but `type` is optional.
#[derive(Debug, Clone, Deserialize)]
pub struct ToxicInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub stream: Option<String>,
    #[serde(default)]
    pub toxicity: Option<f64>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// A change to a toxic: attributes and/or toxicity.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ToxicPatch {
    #[serde(default)]
    pub toxicity: Option<f64>,
    #[serde(default)]
    pub attributes: Option<Map<String, Value>>,
}

fn check_toxicity(t: f64) -> Result<f64, ToxicError> {
    if (0.0..=1.0).contains(&t) {
        Ok(t)
    } else {
        Err(ToxicError::BadToxicity)
    }
}

impl Toxic {
    /// A new toxic; Toxiproxy's defaults: downstream, toxicity 1, name `<type>_<stream>`.
    pub fn from_input(input: ToxicInput) -> Result<Toxic, ToxicError> {
        let stream = match input.stream.as_deref() {
            None | Some("") => Stream::Downstream,
            Some("upstream") => Stream::Upstream,
            Some("downstream") => Stream::Downstream,
            Some(_) => return Err(ToxicError::BadStream),
        };
        let kind = parse_kind(&input.type_name, &input.attributes)?;
        let name = match input.name {
            Some(n) if n.trim().is_empty() => return Err(ToxicError::EmptyName),
            Some(n) => n,
            None => format!("{}_{}", input.type_name, stream.as_str()),
        };
        Ok(Toxic {
            name,
            type_name: input.type_name,
            stream,
            toxicity: check_toxicity(input.toxicity.unwrap_or(1.0))?,
            kind,
        })
    }

    /// Apply a change; attributes not named keep their values.
    pub fn patched(&self, patch: ToxicPatch) -> Result<Toxic, ToxicError> {
        let mut attributes = self.attributes();
        if let Some(changes) = patch.attributes {
            attributes.extend(changes);
        }
        Ok(Toxic {
            kind: parse_kind(&self.type_name, &attributes)?,
            toxicity: check_toxicity(patch.toxicity.unwrap_or(self.toxicity))?,
            ..self.clone()
        })
    }

    pub fn attributes(&self) -> Map<String, Value> {
        let pairs: Vec<(&str, u64)> = match self.kind {
            Kind::Latency { latency, jitter } => vec![("latency", latency), ("jitter", jitter)],
            Kind::Bandwidth { rate } => vec![("rate", rate)],
            Kind::SlowClose { delay } => vec![("delay", delay)],
            Kind::Timeout { timeout } | Kind::ResetPeer { timeout } => vec![("timeout", timeout)],
            Kind::Slicer {
                average_size,
                size_variation,
                delay,
            } => {
                vec![
                    ("average_size", average_size),
                    ("size_variation", size_variation),
                    ("delay", delay),
                ]
            }
            Kind::LimitData { bytes } => vec![("bytes", bytes)],
        };
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect()
    }

    /// The JSON Toxiproxy's API answers with.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "type": self.type_name,
            "stream": self.stream.as_str(),
            "toxicity": self.toxicity,
            "attributes": self.attributes(),
        })
    }
}

/// Delay for one latency toxic: `latency` +- a uniform `jitter`, never negative.
pub fn latency_delay(latency: u64, jitter: u64) -> Duration {
    let offset = if jitter == 0 {
        0
    } else {
        rand::random::<u64>() % (2 * jitter + 1)
    };
    Duration::from_millis((latency + offset).saturating_sub(jitter))
}

/// How long `bytes` take at `rate` KB/s.
pub fn bandwidth_delay(bytes: usize, rate_kb: u64) -> Duration {
    if rate_kb == 0 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(bytes as f64 / (rate_kb as f64 * 1000.0))
}

/// Piece sizes for the slicer: `average` +- `variation`, at least 1 byte, summing to `len`.
pub fn slices(len: usize, average: u64, variation: u64) -> Vec<usize> {
    let average = average.max(1);
    let mut out = Vec::new();
    let mut left = len;
    while left > 0 {
        let spread = if variation == 0 {
            0
        } else {
            rand::random::<u64>() % (2 * variation + 1)
        };
        let size = (average + spread).saturating_sub(variation).max(1) as usize;
        let size = size.min(left);
        out.push(size);
        left -= size;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> ToxicInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_follow_toxiproxy() {
        let t = Toxic::from_input(input(
            json!({"type": "latency", "attributes": {"latency": 100}}),
        ))
        .unwrap();
        assert_eq!(t.name, "latency_downstream");
        assert_eq!(t.stream, Stream::Downstream);
        assert_eq!(t.toxicity, 1.0);
        assert_eq!(
            t.to_json()["attributes"],
            json!({"latency": 100, "jitter": 0})
        );
    }

    #[test]
    fn bad_toxics_are_refused() {
        for (v, e) in [
            (
                json!({"type": "frobnicate"}),
                ToxicError::UnknownType("frobnicate".into()),
            ),
            (
                json!({"type": "latency", "attributes": {"latency": -5}}),
                ToxicError::BadAttribute("latency".into()),
            ),
            (
                json!({"type": "latency", "attributes": {"latency": "slow"}}),
                ToxicError::BadAttribute("latency".into()),
            ),
            (
                json!({"type": "latency", "toxicity": 1.5}),
                ToxicError::BadToxicity,
            ),
            (
                json!({"type": "latency", "stream": "sideways"}),
                ToxicError::BadStream,
            ),
        ] {
            assert_eq!(Toxic::from_input(input(v.clone())), Err(e), "{v}");
        }
    }

    #[test]
    fn patches_keep_what_they_do_not_name() {
        let t = Toxic::from_input(input(
            json!({"type": "slicer", "attributes": {"average_size": 10, "delay": 5}}),
        ))
        .unwrap();
        let p = t
            .patched(ToxicPatch {
                toxicity: Some(0.5),
                attributes: Some(serde_json::from_value(json!({"delay": 50})).unwrap()),
            })
            .unwrap();
        assert_eq!(
            p.kind,
            Kind::Slicer {
                average_size: 10,
                size_variation: 0,
                delay: 50
            }
        );
        assert_eq!(p.toxicity, 0.5);
    }

    #[test]
    fn arithmetic() {
        assert_eq!(bandwidth_delay(100_000, 100), Duration::from_secs(1));
        assert_eq!(latency_delay(100, 0), Duration::from_millis(100));
        for _ in 0..100 {
            let d = latency_delay(100, 20).as_millis();
            assert!((80..=120).contains(&d), "{d}");
            let s = slices(1000, 10, 5);
            assert_eq!(s.iter().sum::<usize>(), 1000);
            assert!(
                s[..s.len() - 1].iter().all(|n| (5..=15).contains(n)),
                "{s:?}"
            );
        }
        assert!(
            latency_delay(0, 50).as_millis() <= 50,
            "jitter never makes a delay negative"
        );
    }
}
