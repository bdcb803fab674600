//! One proxy: a listener, its connections, and the two pumps of each connection that carry
//! bytes through the proxy's toxics.
//!
//! Both pumps of a connection share the two sockets (`Arc<TcpStream>`, read with
//! `readable` + `try_read`), so either can end the whole connection: close it, or reset it
//! with SO_LINGER 0, which a split `OwnedWriteHalf` could not do.

use super::toxics::{self, Kind, Stream, Toxic};
use std::{
    collections::HashMap,
    io,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, RwLock,
    },
    time::Duration,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    time::{sleep, sleep_until, timeout, Instant},
};

/// How long connecting to the upstream may take before the client is closed.
pub const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const BUFFER: usize = 32 * 1024;

/// A proxy's settings and live state.
pub struct Proxy {
    pub name: String,
    state: Mutex<State>,
    toxics: RwLock<Arc<Vec<Toxic>>>,
    /// Bumped on every toxic change, so waiting pumps pick changes up at once.
    version: watch::Sender<u64>,
}

struct State {
    /// As configured (`127.0.0.1:0` until bound, then the bound address).
    listen: String,
    upstream: String,
    enabled: bool,
    /// Raising it stops the listener and every connection.
    stop: Option<watch::Sender<bool>>,
    /// The accept loop; awaited on disable, so the port is closed when disable returns.
    accepting: Option<tokio::task::JoinHandle<()>>,
}

/// What a proxy looks like to the API.
#[derive(Debug, Clone)]
pub struct ProxyView {
    pub name: String,
    pub listen: String,
    pub upstream: String,
    pub enabled: bool,
    pub toxics: Vec<Toxic>,
}

impl Proxy {
    pub fn new(name: String, listen: String, upstream: String) -> Arc<Proxy> {
        Arc::new(Proxy {
            name,
            state: Mutex::new(State {
                listen,
                upstream,
                enabled: false,
                stop: None,
                accepting: None,
            }),
            toxics: RwLock::new(Arc::new(Vec::new())),
            version: watch::channel(0).0,
        })
    }

    pub fn view(&self) -> ProxyView {
        let state = self.state.lock().expect("proxy state");
        ProxyView {
            name: self.name.clone(),
            listen: state.listen.clone(),
            upstream: state.upstream.clone(),
            enabled: state.enabled,
            toxics: self.toxics().as_ref().clone(),
        }
    }

    pub fn toxics(&self) -> Arc<Vec<Toxic>> {
        self.toxics.read().expect("toxics").clone()
    }

    /// Replace the toxics (all changes go through here, so pumps are told).
    pub fn set_toxics(&self, toxics: Vec<Toxic>) {
        *self.toxics.write().expect("toxics") = Arc::new(toxics);
        self.version.send_modify(|v| *v += 1);
    }

    /// Start listening, if not already. A proxy that cannot bind stays disabled.
    pub async fn enable(self: &Arc<Self>) -> io::Result<()> {
        let listen = {
            let state = self.state.lock().expect("proxy state");
            if state.enabled {
                return Ok(());
            }
            state.listen.clone()
        };
        let listener = TcpListener::bind(&listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let accepting = tokio::spawn(accept_loop(self.clone(), listener, stopped));
        {
            let mut state = self.state.lock().expect("proxy state");
            state.listen = addr.to_string();
            state.enabled = true;
            state.stop = Some(stop);
            state.accepting = Some(accepting);
        }
        tracing::info!(proxy = %self.name, %addr, "fault proxy listening");
        Ok(())
    }

    /// Stop listening and drop every connection. When it returns, the port is closed.
    pub async fn disable(&self) {
        let (stop, accepting) = {
            let mut state = self.state.lock().expect("proxy state");
            state.enabled = false;
            (state.stop.take(), state.accepting.take())
        };
        if let Some(stop) = stop {
            let _ = stop.send(true);
        }
        if let Some(accepting) = accepting {
            let _ = accepting.await;
        }
    }

    /// Change where it listens or what it forwards to; an enabled proxy restarts.
    pub async fn reconfigure(
        self: &Arc<Self>,
        listen: Option<String>,
        upstream: Option<String>,
    ) -> io::Result<()> {
        let was_enabled = self.state.lock().expect("proxy state").enabled;
        let relisten = listen.is_some();
        if relisten && was_enabled {
            self.disable().await;
        }
        {
            let mut state = self.state.lock().expect("proxy state");
            if let Some(l) = listen {
                state.listen = l;
            }
            if let Some(u) = upstream {
                state.upstream = u;
            }
        }
        if relisten && was_enabled {
            self.enable().await?;
        }
        Ok(())
    }

    fn upstream(&self) -> String {
        self.state.lock().expect("proxy state").upstream.clone()
    }
}

async fn accept_loop(proxy: Arc<Proxy>, listener: TcpListener, stopped: watch::Receiver<bool>) {
    let mut stop = stopped.clone();
    loop {
        tokio::select! {
            _ = raised(&mut stop) => return,
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    tokio::spawn(connection(proxy.clone(), client, peer, stopped.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(proxy = %proxy.name, error = %e, "accept failed");
                    sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// How one direction of a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The sender closed; the close was passed on.
    Eof,
    /// A toxic closed the connection.
    Close,
    /// A toxic reset the connection.
    Reset,
    /// The other direction or the proxy ended it.
    Killed,
    Error,
}

/// Per-connection state shared by its two pumps.
struct Conn {
    proxy: Arc<Proxy>,
    client: Arc<TcpStream>,
    server: Arc<TcpStream>,
    kill: watch::Sender<bool>,
    /// Per toxic name: whether it applies to this connection (rolled once against its
    /// toxicity) and when this connection first met it (its timers run from then).
    rolls: Mutex<HashMap<(Stream, String), (bool, Instant)>>,
    sent: [AtomicU64; 2],
}

impl Conn {
    /// The toxics that apply to `stream` on this connection, with when each was first met.
    fn active(&self, stream: Stream) -> Vec<(Toxic, Instant)> {
        let toxics = self.proxy.toxics();
        let mut rolls = self.rolls.lock().expect("rolls");
        toxics
            .iter()
            .filter(|t| t.stream == stream)
            .filter_map(|t| {
                let (applies, since) =
                    *rolls.entry((stream, t.name.clone())).or_insert_with(|| {
                        (
                            rand::random::<f64>() < t.toxicity || t.toxicity >= 1.0,
                            Instant::now(),
                        )
                    });
                applies.then(|| (t.clone(), since))
            })
            .collect()
    }

    fn sent(&self, stream: Stream) -> &AtomicU64 {
        &self.sent[stream as usize]
    }
}

async fn connection(
    proxy: Arc<Proxy>,
    client: TcpStream,
    peer: SocketAddr,
    mut stopped: watch::Receiver<bool>,
) {
    let upstream = proxy.upstream();
    let server = match timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(&upstream)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(proxy = %proxy.name, %upstream, error = %e, "upstream refused; closing the client");
            return;
        }
        Err(_) => {
            tracing::warn!(proxy = %proxy.name, %upstream, "upstream connect timed out; closing the client");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let conn = Arc::new(Conn {
        proxy,
        client: Arc::new(client),
        server: Arc::new(server),
        kill: watch::channel(false).0,
        rolls: Mutex::new(HashMap::new()),
        sent: [AtomicU64::new(0), AtomicU64::new(0)],
    });
    let up = tokio::spawn(pump(conn.clone(), Stream::Upstream));
    let down = tokio::spawn(pump(conn.clone(), Stream::Downstream));
    let mut ends = Vec::new();
    let killer = conn.clone();
    let watch_stop = async move {
        raised(&mut stopped).await;
        let _ = killer.kill.send(true);
    };
    let both = async {
        for pump in [up, down] {
            ends.push(pump.await.unwrap_or(End::Error));
        }
    };
    tokio::select! {
        _ = both => {}
        _ = watch_stop => {}
    }
    if ends.contains(&End::Reset) {
        for s in [&conn.client, &conn.server] {
            let _ = socket2::SockRef::from(s.as_ref()).set_linger(Some(Duration::ZERO));
        }
    }
    tracing::debug!(%peer, ?ends, "connection closed");
    // The sockets close when the last Arc (ours, the pumps have ended or were killed) drops.
}

/// Wait until a stop flag is raised (or its sender is gone). The guard `wait_for` returns
/// is dropped in here, so the callers' futures stay `Send`.
async fn raised(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|raised| *raised).await;
}

async fn write_all(to: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        to.writable().await?;
        match to.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn pump(conn: Arc<Conn>, stream: Stream) -> End {
    let (from, to) = match stream {
        Stream::Upstream => (conn.client.clone(), conn.server.clone()),
        Stream::Downstream => (conn.server.clone(), conn.client.clone()),
    };
    let mut killed = conn.kill.subscribe();
    let mut changed = conn.proxy.version.subscribe();
    let mut buf = vec![0u8; BUFFER];
    let end = loop {
        let toxics = conn.active(stream);
        let mut deadline: Option<(Instant, End)> = None;
        let mut drop_data = false;
        for (t, since) in &toxics {
            let due = match t.kind {
                Kind::Timeout { timeout } => {
                    drop_data = true;
                    (timeout > 0).then(|| (*since + Duration::from_millis(timeout), End::Close))
                }
                Kind::ResetPeer { timeout } => {
                    Some((*since + Duration::from_millis(timeout), End::Reset))
                }
                _ => None,
            };
            if let Some(d) = due {
                if deadline.is_none_or(|(at, _)| d.0 < at) {
                    deadline = Some(d);
                }
            }
        }
        // A timer that is already due ends the connection now: a sleep that is due still
        // waits for the timer's next tick, and data could slip through meanwhile.
        if let Some((at, end)) = deadline {
            if Instant::now() >= at {
                break end;
            }
        }
        // Biased: a due deadline or a kill wins over data that is waiting, so a reset with
        // no timeout resets before anything more gets through.
        tokio::select! {
            biased;
            _ = raised(&mut killed) => break End::Killed,
            _ = async { sleep_until(deadline.expect("guarded").0).await }, if deadline.is_some() => break deadline.expect("guarded").1,
            _ = changed.changed() => continue,
            ready = from.readable() => if ready.is_err() { break End::Error },
        }
        let n = match from.try_read(&mut buf) {
            Ok(0) => {
                for (t, _) in &toxics {
                    if let Kind::SlowClose { delay } = t.kind {
                        sleep(Duration::from_millis(delay)).await;
                    }
                }
                let _ = socket2::SockRef::from(to.as_ref()).shutdown(std::net::Shutdown::Write);
                break End::Eof;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => break End::Error,
        };
        if drop_data {
            continue;
        }
        let mut data = &buf[..n];
        let mut last_piece = false;
        let mut slicer = None;
        for (t, _) in &toxics {
            match t.kind {
                Kind::Latency { latency, jitter } => {
                    sleep(toxics::latency_delay(latency, jitter)).await
                }
                Kind::Bandwidth { rate } => sleep(toxics::bandwidth_delay(data.len(), rate)).await,
                Kind::LimitData { bytes } => {
                    let sent = conn.sent(stream).load(Ordering::Relaxed);
                    let allowed = bytes.saturating_sub(sent) as usize;
                    if data.len() >= allowed {
                        data = &data[..allowed];
                        last_piece = true;
                    }
                }
                Kind::Slicer {
                    average_size,
                    size_variation,
                    delay,
                } => slicer = Some((average_size, size_variation, delay)),
                _ => {}
            }
        }
        let written = match slicer {
            Some((average, variation, delay_us)) => {
                let mut rest = data;
                let mut result = Ok(());
                for size in toxics::slices(rest.len(), average, variation) {
                    let (piece, tail) = rest.split_at(size);
                    result = write_all(&to, piece).await;
                    if result.is_err() {
                        break;
                    }
                    rest = tail;
                    if !rest.is_empty() {
                        sleep(Duration::from_micros(delay_us)).await;
                    }
                }
                result
            }
            None => write_all(&to, data).await,
        };
        if written.is_err() {
            break End::Error;
        }
        conn.sent(stream)
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        if last_piece {
            break End::Close;
        }
    };
    if matches!(end, End::Close | End::Reset | End::Error) {
        let _ = conn.kill.send(true);
    }
    end
}
