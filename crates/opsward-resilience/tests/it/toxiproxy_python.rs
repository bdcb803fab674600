//! Toxiproxy's own Python client (`toxiproxy-python` from PyPI) drives the fault proxy: it
//! creates a proxy, adds toxics and measures their effect on a real socket.

use crate::support::*;

const SCRIPT: &str = r#"
import socket, sys, time
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer

APIConsumer.host, APIConsumer.port = sys.argv[1], int(sys.argv[2])
upstream = sys.argv[3]
server = Toxiproxy()
assert server.running()
assert b"2." in server.version()
proxy = server.create(upstream=upstream, name="echo", listen="127.0.0.1:0")
host, port = proxy.listen.rsplit(":", 1)

def round_trip(payload=b"ping"):
    s = socket.create_connection((host, int(port)), timeout=5)
    start = time.monotonic()
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    return got, time.monotonic() - start

got, base = round_trip()
assert got == b"ping", got
proxy.add_toxic(type="latency", attributes={"latency": 150})
assert "latency_downstream" in proxy.toxics()
got, slow = round_trip()
assert got == b"ping" and slow >= 0.14, slow
proxy.destroy_toxic("latency_downstream")

proxy.add_toxic(type="bandwidth", attributes={"rate": 100})
got, took = round_trip(b"b" * 50000)
assert len(got) == 50000 and took >= 0.45, took  # 50 KB at 100 KB/s
proxy.destroy_toxic("bandwidth_downstream")

proxy.add_toxic(type="limit_data", stream="downstream", attributes={"bytes": 3})
got, _ = round_trip(b"abcdef")
assert got == b"abc", got
server.reset()
assert proxy.toxics() == {}

proxy.add_toxic(type="reset_peer", attributes={"timeout": 0})
try:
    # The reset may already arrive while connecting.
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"x")
    data = s.recv(10)
    raise SystemExit("expected a reset, got %r" % data)
except ConnectionResetError:
    pass
server.reset()

with proxy.down():
    try:
        socket.create_connection((host, int(port)), timeout=2)
        raise SystemExit("connected to a disabled proxy")
    except OSError:
        pass
got, _ = round_trip()
assert got == b"ping"
assert set(server.proxies()) == {"echo"}
proxy.destroy()
assert server.proxies() == {}
print("OK")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_toxiproxy_python_client_drives_it() {
    let api = Api::start().await;
    let upstream = echo_server().await;
    let (host, port) = api
        .base
        .trim_start_matches("http://")
        .rsplit_once(':')
        .unwrap();
    let python = opsward_testkit::python();
    let out = tokio::process::Command::new(&python)
        .args(["-c", SCRIPT, host, port, &upstream.to_string()])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "toxiproxy-python (pip install toxiproxy-python==0.1.1, as .ci/run does) failed:\n{stdout}\n{stderr}"
    );
}
