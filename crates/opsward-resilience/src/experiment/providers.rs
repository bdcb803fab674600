//! The providers an experiment's activities call: `http` and `process` as Chaos Toolkit runs
//! them, and the `python` functions of `chaostoolkit-toxiproxy` (`chaostoxi.*`), done natively
//! through the Toxiproxy API (so they work against `opsward faultproxy` or Toxiproxy itself).

use serde_json::{json, Map, Value};
use std::{process::Stdio, time::Duration};
use tokio::io::AsyncReadExt;

/// Used when a provider names no timeout: every call ends.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Output kept per stream of a process.
const KEEP: usize = 64 * 1024;

/// The experiment's configuration, which `${name}` in activities refers to, and which some
/// actions extend (creating a proxy records `<name>_PORT`, as chaostoolkit-toxiproxy does).
pub struct Context {
    pub configuration: Map<String, Value>,
    http: reqwest::Client,
}

impl Context {
    /// Resolve `{"type": "env", "key": ..., "default": ...}` entries from the environment.
    pub fn new(configuration: &Map<String, Value>) -> Result<Context, String> {
        let mut resolved = Map::new();
        for (k, v) in configuration {
            let value = match v.get("type").and_then(Value::as_str) {
                Some("env") => {
                    let key = v
                        .get("key")
                        .and_then(Value::as_str)
                        .ok_or(format!("configuration {k}: env without a key"))?;
                    match std::env::var(key) {
                        Ok(text) => Value::String(text),
                        Err(_) => v.get("default").cloned().ok_or(format!(
                            "configuration {k}: environment variable {key} is not set"
                        ))?,
                    }
                }
                _ => v.clone(),
            };
            resolved.insert(k.clone(), value);
        }
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Context {
            configuration: resolved,
            http,
        })
    }

    /// Replace `${name}` in every string of `value` with configuration values.
    pub fn substitute(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => {
                // A string that is exactly one reference keeps the value's type.
                if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
                    if let Some(v) = self.configuration.get(name) {
                        return v.clone();
                    }
                }
                let mut out = s.clone();
                for (k, v) in &self.configuration {
                    let text = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    out = out.replace(&format!("${{{k}}}"), &text);
                }
                Value::String(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|v| self.substitute(v)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), self.substitute(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn toxiproxy_base(&self) -> String {
        if let Some(url) = self
            .configuration
            .get("toxiproxy_url")
            .and_then(Value::as_str)
        {
            return url.trim_end_matches('/').to_string();
        }
        let host = self
            .configuration
            .get("toxiproxy_host")
            .and_then(Value::as_str)
            .unwrap_or("127.0.0.1");
        let port = self
            .configuration
            .get("toxiproxy_port")
            .map(|p| {
                p.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| p.to_string())
            })
            .unwrap_or_else(|| "8474".into());
        format!("http://{host}:{port}")
    }
}

fn timeout_of(provider: &Value) -> Duration {
    match provider.get("timeout") {
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_TIMEOUT),
        // [connect, read]: the whole call may take both.
        Some(Value::Array(a)) => {
            Duration::from_secs_f64(a.iter().filter_map(Value::as_f64).sum::<f64>().max(0.001))
        }
        _ => DEFAULT_TIMEOUT,
    }
}

/// Run an activity's provider (already substituted); its output, or why it failed.
pub async fn run(provider: &Value, ctx: &mut Context) -> Result<Value, String> {
    match provider.get("type").and_then(Value::as_str) {
        Some("http") => http(provider, ctx).await,
        Some("process") => process(provider).await,
        Some("python") => python(provider, ctx).await,
        Some(other) => Err(format!("{other:?} providers are not supported natively")),
        None => Err("provider without a type".into()),
    }
}

async fn http(p: &Value, ctx: &Context) -> Result<Value, String> {
    let url = p
        .get("url")
        .and_then(Value::as_str)
        .ok_or("http provider without a url")?;
    let method = p
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("bad method {method}"))?;
    let mut req = ctx.http.request(method.clone(), url).timeout(timeout_of(p));
    if let Some(headers) = p.get("headers").and_then(Value::as_object) {
        for (k, v) in headers {
            req = req.header(
                k,
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            );
        }
    }
    if let Some(args) = p.get("arguments").filter(|a| !a.is_null()) {
        req = if method == reqwest::Method::GET {
            let pairs: Vec<(String, String)> = args
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            req.query(&pairs)
        } else {
            req.json(args)
        };
    }
    let response = req
        .send()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let headers: Map<String, Value> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Value::String(v.to_str().unwrap_or("").to_string()),
            )
        })
        .collect();
    let is_json = headers
        .get("content-type")
        .and_then(Value::as_str)
        .is_some_and(|c| c.contains("json"));
    let text = response
        .text()
        .await
        .map_err(|e| format!("{method} {url}: reading the body: {e}"))?;
    let body = if is_json {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    if let Some(expected) = p.get("expected_status").and_then(Value::as_u64) {
        if u64::from(status) != expected {
            return Err(format!("{url} answered {status}, expected {expected}"));
        }
    }
    Ok(json!({"status": status, "headers": headers, "body": body}))
}

async fn process(p: &Value) -> Result<Value, String> {
    let path = p
        .get("path")
        .and_then(Value::as_str)
        .ok_or("process provider without a path")?;
    let args: Vec<String> = match p.get("arguments") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => shlex::split(s).ok_or(format!("cannot split arguments {s:?}"))?,
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect(),
        Some(other) => return Err(format!("arguments must be a string or a list, not {other}")),
    };
    let mut child = tokio::process::Command::new(path)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {path}: {e}"))?;
    let (mut out, mut err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let limit = timeout_of(p);
    let finished = tokio::time::timeout(limit, async {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let _ = tokio::join!(out.read_to_end(&mut o), err.read_to_end(&mut e));
        (child.wait().await, o, e)
    })
    .await
    .map_err(|_| format!("{path} did not finish within {} s", limit.as_secs_f64()))?;
    let (status, stdout, stderr) = finished;
    let status = status.map_err(|e| format!("waiting for {path}: {e}"))?;
    let text = |b: &[u8]| String::from_utf8_lossy(&b[b.len().saturating_sub(KEEP)..]).into_owned();
    Ok(json!({"status": status.code(), "stdout": text(&stdout), "stderr": text(&stderr)}))
}

fn arg<'a>(args: &'a Value, name: &str) -> Result<&'a Value, String> {
    args.get(name)
        .filter(|v| !v.is_null())
        .ok_or(format!("argument {name} is required"))
}
fn text_arg(args: &Value, name: &str) -> Result<String, String> {
    let v = arg(args, name)?;
    Ok(v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string()))
}

/// The `chaostoolkit-toxiproxy` functions, done through the Toxiproxy API.
async fn python(p: &Value, ctx: &mut Context) -> Result<Value, String> {
    let module = p.get("module").and_then(Value::as_str).unwrap_or_default();
    let func = p.get("func").and_then(Value::as_str).unwrap_or_default();
    let args = p.get("arguments").cloned().unwrap_or(json!({}));
    let base = ctx.toxiproxy_base();
    let proxies = format!("{base}/proxies");
    let toxic = |attributes: Value, kind: &str| -> Result<Value, String> {
        Ok(
            json!({"name": text_arg(&args, "toxic_name")?, "type": kind, "stream": "downstream", "toxicity": 1.0, "attributes": attributes}),
        )
    };
    let n = |name: &str| arg(&args, name).cloned();
    let (method, url, body) = match (module, func) {
        ("chaostoxi.proxy.actions", "create_proxy") => {
            let listen = format!(
                "{}:{}",
                args.get("listen_host").and_then(Value::as_str).unwrap_or("0.0.0.0"),
                args.get("listen_port").map(|v| v.to_string().trim_matches('"').to_string()).unwrap_or_else(|| "0".into())
            );
            let upstream = format!("{}:{}", text_arg(&args, "upstream_host")?, text_arg(&args, "upstream_port")?);
            let body = json!({"name": text_arg(&args, "proxy_name")?, "listen": listen, "upstream": upstream,
                "enabled": args.get("enabled").and_then(Value::as_bool).unwrap_or(true)});
            ("POST", proxies.clone(), Some(body))
        }
        ("chaostoxi.proxy.actions", "disable_proxy") => ("POST", format!("{proxies}/{}", text_arg(&args, "proxy_name")?), Some(json!({"enabled": false}))),
        ("chaostoxi.proxy.actions", "enable_proxy") => ("POST", format!("{proxies}/{}", text_arg(&args, "proxy_name")?), Some(json!({"enabled": true}))),
        ("chaostoxi.proxy.actions", "modify_proxy") => {
            let mut body = Map::new();
            for (from, to) in [("listen_address", "listen"), ("upstream_address", "upstream"), ("enabled", "enabled")] {
                if let Some(v) = args.get(from).filter(|v| !v.is_null()) {
                    body.insert(to.into(), v.clone());
                }
            }
            ("POST", format!("{proxies}/{}", text_arg(&args, "proxy_name")?), Some(Value::Object(body)))
        }
        ("chaostoxi.proxy.actions", "delete_proxy") => ("DELETE", format!("{proxies}/{}", text_arg(&args, "proxy_name")?), None),
        ("chaostoxi.proxy.actions", "reset") => ("POST", format!("{base}/reset"), None),
        ("chaostoxi.proxy.probes", "proxy_exist") | ("chaostoxi.proxy.probes", "get_proxy_attribute") => {
            ("GET", format!("{proxies}/{}", text_arg(&args, "proxy_name")?), None)
        }
        ("chaostoxi.toxic.actions", "delete_toxic") => {
            ("DELETE", format!("{proxies}/{}/toxics/{}", text_arg(&args, "for_proxy")?, text_arg(&args, "toxic_name")?), None)
        }
        ("chaostoxi.toxic.actions", kind) => {
            let body = match kind {
                "create_toxic" => json!({
                    "name": text_arg(&args, "toxic_name")?, "type": text_arg(&args, "toxic_type")?,
                    "stream": args.get("stream").and_then(Value::as_str).unwrap_or("downstream"),
                    "toxicity": args.get("toxicity").and_then(Value::as_f64).unwrap_or(1.0),
                    "attributes": args.get("attributes").cloned().unwrap_or(json!({})),
                }),
                "create_latency_toxic" => toxic(json!({"latency": n("latency")?, "jitter": args.get("jitter").cloned().unwrap_or(json!(0))}), "latency")?,
                "create_bandwith_degradation_toxic" => toxic(json!({"rate": n("rate")?}), "bandwidth")?,
                "create_slow_connection_close_toxic" => toxic(json!({"delay": n("delay")?}), "slow_close")?,
                "create_timeout_toxic" => toxic(json!({"timeout": n("timeout")?}), "timeout")?,
                "create_slicer_toxic" => toxic(json!({"average_size": n("average_size")?, "size_variation": n("size_variation")?, "delay": n("delay")?}), "slicer")?,
                "create_limiter_toxic" => toxic(json!({"bytes": n("bytes")?}), "limit_data")?,
                other => return Err(format!("chaostoxi.toxic.actions.{other} is not known")),
            };
            ("POST", format!("{proxies}/{}/toxics", text_arg(&args, "for_proxy")?), Some(body))
        }
        _ => return Err(format!("python provider {module}.{func} is not supported natively (only chaostoolkit-toxiproxy's); run this experiment with `chaos run`")),
    };
    let mut req = ctx
        .http
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("a method"),
            &url,
        )
        .timeout(timeout_of(p));
    if let Some(b) = &body {
        req = req.json(b);
    }
    let response = req
        .send()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    match func {
        "proxy_exist" => return Ok(Value::Bool(status.is_success())),
        "get_proxy_attribute" => {
            let attribute = text_arg(&args, "attribute")?;
            return Ok(value.get(&attribute).cloned().unwrap_or(Value::Null));
        }
        _ => {}
    }
    if !status.is_success() {
        return Err(format!("{method} {url} answered {status}: {value}"));
    }
    if func == "create_proxy" {
        // As the extension does: later activities can use ${<proxy>_PORT}.
        if let Some(port) = value
            .get("listen")
            .and_then(Value::as_str)
            .and_then(|l| l.rsplit(':').next())
        {
            ctx.configuration.insert(
                format!("{}_PORT", text_arg(&args, "proxy_name")?),
                Value::String(port.to_string()),
            );
        }
        return Ok(Value::Bool(true));
    }
    Ok(match func {
        "create_toxic"
        | "create_latency_toxic"
        | "create_bandwith_degradation_toxic"
        | "create_slow_connection_close_toxic"
        | "create_timeout_toxic"
        | "create_slicer_toxic"
        | "create_limiter_toxic" => value,
        _ => Value::Bool(true),
    })
}
