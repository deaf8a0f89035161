//! The limits benchmark: issue #5's and #7's targets, measured in one run. Run: `cargo bench --bench
//! limits`. Prints each part's tables, then one table of every target against this run (`targets`), and
//! writes everything to `target/bench-limits.json`. Parts (`AUGCHATD_BENCH_PARTS`, default both):
//! - `process` (`process.rs`): the release binary in production mode as its own process: idle RSS,
//!   `POST /sessions` per second, RSS per idle session at 10,000 sessions.
//! - `relay` (this file): what augchatd adds to a streamed model reply, how many streams it holds at
//!   50 tokens/s, and (`open.rs`) how many slow streams it holds open at once.
//!
//! `AUGCHATD_BENCH_MAX_STREAMS` caps the concurrency sweep (default 4,000), `AUGCHATD_BENCH_LEVELS=1,100,300`
//! replaces its levels, `AUGCHATD_BENCH_OPEN_STREAMS` sets the open-streams phase's size (default 10,000,
//! capped by the open-file limit), `AUGCHATD_BENCH_HARNESS_THREADS` sets the client's and the model's
//! worker threads (default 2 each).
//!
//! # Method of the relay part
//! - **A scripted model paced like a real one.** An Anthropic Messages SSE server (hyper, own runtime of
//!   two threads named `bench-llm`) answers `GET /v1/models` (demo boot probes the key) and streams
//!   `POST /v1/messages`: `message_start` at once, then after a think delay one `text_delta` per
//!   `INTERVAL` (20 ms, 50 tokens/s), 200 of them, then the closing events. Each delta's text is the
//!   stamp ` ~<sent ns>;` (the first also carries `.<request received ns>`), on the machine's monotonic clock.
//! - **The real daemon in-process.** `Application::build` in demo mode over plain HTTP (`AUGCHATD_MODE=demo`,
//!   `DEMO_MODEL_*` pointing at the scripted server through `AUGCHATD_ANTHROPIC_BASE_URL`), on its own
//!   actix system thread with its default two workers. Sessions come from `POST /demo/sessions`, one per
//!   client slot, minted before any measurement; every demo session is the same user, so all turns share
//!   one `UserDbWriter` (a worst case for the writer). Logging is not initialised (no log cost).
//! - **One client, three routes, same run.** A hyper HTTP/1.1 client (runtime `bench-client`, two threads)
//!   keeps one connection per slot and runs turns back to back on it, either *direct* (`POST /v1/messages`
//!   to the scripted server), through the *bare relay* (the same request), or *through* augchatd
//!   (`POST /chat`). It never parses JSON: it scans each line for the stamps. Per delta, latency =
//!   arrival − sent stamp; per turn, the TTFT overhead = (first delta's arrival − request start) − (its
//!   sent stamp − request received by the model), i.e. time to first token minus the model's own think
//!   time. "Added" is the through (or bare relay) percentile minus the direct percentile.
//! - **The bare relay: this machine's floor for any relay.** Two threads (`bench-bare`), each a
//!   single-threaded tokio runtime, copy each connection's bytes both ways to a connection of their own to
//!   the model, parsing nothing: per delta the receive and send any relay must make, and nothing else.
//!   What it adds over direct is what the machine charges before any relay logic. It holds a level when
//!   one of `ATTEMPTS` tries of its own has no stall; the sweep goes on with it alone (and direct) past
//!   augchatd's last level until it or direct stalls in every try, and says which.
//! - **TTFT at one stream**: `TTFT_SAMPLES` one-token turns per route, alternating direct and through.
//!   For scale, the machine's floor: a round trip to another thread that sat idle 5 ms (`wake_floor`);
//!   every hop of a turn (client → worker → writer → worker → model → worker → client) pays one.
//! - **Concurrency sweep**: for each level N, N slots start evenly over one turn's length (so turns start
//!   at a steady rate, not in waves), keep turning for `HOLD`, then finish the turn they are in; direct
//!   first, then the bare relay, then through. A turn *stalls* if one of its deltas reaches the client
//!   more than `STALL_LATENCY` (2 × interval + 10 ms) after the model sent it, if it fails, or if it
//!   comes back short. Latency rather than the gap between arrivals, so the scripted model's own timer
//!   jitter (this process shares two cores) is not blamed on the relay; the longest gap is reported too.
//!   A level is held when one of `ATTEMPTS` (2) tries has no stall on direct or through (a lone hiccup of
//!   the shared VM then does not end the sweep; saturation stalls every try). The sweep stops at the
//!   first level not held; the answer is the highest level held.
//! - **CPU per reply**: per-thread on-CPU time (`/proc/self/task/*/schedstat`) over the through phase,
//!   summed over the daemon's threads (every thread not named `bench-*` nor the main thread), divided by
//!   the turns completed; the bare relay's the same way over its phase. The client's and the model's
//!   threads are reported apart, and so are the daemon threads' voluntary context switches per reply (wake-ups: on a VM each one is expensive). From the
//!   CPU per reply at the highest level held, the summary extrapolates how many streams the daemon alone
//!   could carry on all cores (labelled as such: nothing else running, cost linear).
//! - **RSS per open stream**: `malloc_trim`, VmRSS baseline, then VmRSS halfway through the hold divided
//!   by the streams open at that moment; the daemon's share is through minus direct (the client and the
//!   model hold one connection per stream in both routes).
//! - **Disturbance**: machine busy time (`/proc/stat`) minus this process's, per phase, in cores: another
//!   build on a shared machine shows in the JSON and in the last column of the level table.
//! - Everything shares the same cores: the client and the scripted model compete with the daemon, so the
//!   concurrency held is a lower bound for the daemon alone. Each through stream costs four file
//!   descriptors in this process, so the open-file limit caps the sweep too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic, clippy::disallowed_methods)]

mod child;
#[path = "../common/mod.rs"]
mod common;
mod open;
#[path = "../../tests/api/peers/pki.rs"]
#[allow(dead_code)]
mod pki;
mod process;
#[path = "../../tests/api/peers/s3.rs"]
#[allow(dead_code)]
mod s3_peer;
mod targets;
use common::{rss_kb, trim_heap};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use augchatd::Application;
use augchatd::config::Config;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::client::conn::{http1, http2};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

/// The scripted model's think time before the first token of a full reply.
const THINK: Duration = Duration::from_millis(200);
/// Pacing between two tokens: 50 tokens/s, a typical streaming speed.
const INTERVAL: Duration = Duration::from_millis(20);
/// Tokens in a full reply.
const REPLY_TOKENS: usize = 200;
/// A delta that reaches the client this long after the model sent it is a stall (2 × `INTERVAL` + 10 ms).
const STALL_LATENCY: Duration = Duration::from_millis(50);
/// One-stream TTFT turns per route.
const TTFT_SAMPLES: usize = 500;
/// Think time of the one-token TTFT turns; it is subtracted out, so it only sets the pace.
const TTFT_THINK: Duration = Duration::from_millis(10);
/// Round trips measured by `wake_floor`.
const WAKE_SAMPLES: usize = 300;
/// Unmeasured turns per route before the TTFT samples (pools, caches, SQLite pages).
const WARMUP_TURNS: usize = 20;
/// One full reply's length; a level's slots start evenly over it, so turns start at a steady rate.
const RAMP: Duration = STREAMING.length();

/// How the scripted model paces a reply.
#[derive(Clone, Copy)]
struct Pace {
    think: Duration,
    interval: Duration,
    tokens: usize,
}

impl Pace {
    /// One reply's length at this pace.
    const fn length(self) -> Duration {
        self.think.saturating_add(self.interval.saturating_mul(self.tokens as u32))
    }

    fn json(self) -> Value {
        json!({"think_ms": self.think.as_millis() as u64, "interval_ms": self.interval.as_millis() as u64,
               "tokens": self.tokens})
    }
}

/// A streaming reply: the concurrency sweep's pace.
const STREAMING: Pace = Pace { think: THINK, interval: INTERVAL, tokens: REPLY_TOKENS };
/// A slow reply (a reasoning model thinking, a turn waiting on tools): one token a second after a
/// second of silence. The open-streams phase holds many of these at once.
const SLOW: Pace = Pace { think: Duration::from_secs(1), interval: Duration::from_secs(1), tokens: 20 };
/// Streams the open-streams phase holds (issue #7: at least 10,000).
const OPEN_STREAMS: usize = 10_000;
/// The open-file limit this bench asks for (it is root on CI machines; otherwise the hard limit stays).
const WANTED_NOFILE: u64 = 65_536;
/// How long every slot of a level keeps turning once all have started.
const HOLD: Duration = Duration::from_secs(4);
/// Concurrency levels of the sweep, up to the cap (`AUGCHATD_BENCH_LEVELS` replaces the list).
const LEVELS: &[usize] = &[1, 100, 200, 300, 400, 500, 750, 1_000, 1_500, 2_000, 3_000, 4_000, 5_000];
/// Tries per level: a level is held if one try has no stall on either route, so one scheduling hiccup
/// of a shared VM does not end the sweep, while saturation (which stalls every time) does.
const ATTEMPTS: usize = 2;
/// Worker threads of the client's and of the model's runtimes (`AUGCHATD_BENCH_HARNESS_THREADS`).
const HARNESS_THREADS: usize = 2;
/// Default cap of the sweep (`AUGCHATD_BENCH_MAX_STREAMS`).
const DEFAULT_MAX_STREAMS: usize = 4_000;
/// Sockets per through stream in this process: client, daemon in, daemon out, model in.
const FDS_PER_STREAM: u64 = 4;
/// File descriptors kept for everything else.
const FD_RESERVE: u64 = 512;
/// The daemons' JWT signing key.
const JWT_SECRET: &str = "bench-jwt-secret-of-at-least-32-bytes!!";
/// The key the scripted model accepts.
const API_KEY: &str = "sk-bench-key";
/// A model without extended thinking, so the request is a plain streaming call.
const MODEL: &str = "claude-haiku-4-5";

/// The one clock of the machine (`CLOCK_MONOTONIC`), in nanoseconds: the model's process stamps with it
/// and the client's reads it.
fn now_ns() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the local struct.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(now.tv_nsec).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// A latency histogram in microseconds, filled from many tasks: exact below 1,024 µs, then 64 buckets
/// per doubling (each under 1.6 % wide). Fixed size, so recording never allocates mid-measurement.
struct Hist {
    counts: Vec<AtomicU64>,
}

/// Values below this many µs have a bucket each.
const EXACT: u64 = 1_024;
/// Buckets per doubling above `EXACT`.
const SUB: u64 = 64;

impl Hist {
    fn new() -> Self {
        Self { counts: (0..EXACT + 54 * SUB).map(|_| AtomicU64::new(0)).collect() }
    }

    fn index(us: u64) -> usize {
        if us < EXACT {
            return us as usize;
        }
        let octave = 63 - u64::from(us.leading_zeros());
        let sub = (us >> (octave - 6)) & (SUB - 1);
        (EXACT + (octave - 10) * SUB + sub) as usize
    }

    fn lower_bound(index: usize) -> u64 {
        let i = index as u64;
        if i < EXACT {
            return i;
        }
        let (octave, sub) = (10 + (i - EXACT) / SUB, (i - EXACT) % SUB);
        (SUB + sub) << (octave - 6)
    }

    fn record_ns(&self, ns: u64) {
        let index = Self::index(ns / 1_000).min(self.counts.len() - 1);
        self.counts[index].fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile in µs (bucket lower bound), `None` when empty.
    fn quantile(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count.load(Ordering::Relaxed);
            if seen >= rank {
                return Some(Self::lower_bound(index));
            }
        }
        None
    }

    fn summary(&self) -> Value {
        json!({"n": self.count(), "p50_us": self.quantile(0.50), "p99_us": self.quantile(0.99),
               "max_us": self.quantile(1.0)})
    }
}

/// What one route did during one phase; shared by its slots.
struct PhaseStats {
    /// TTFT overhead per turn.
    ttft: Hist,
    /// Sent-to-arrival latency per delta.
    chunk: Hist,
    turns_ok: AtomicU64,
    turns_failed: AtomicU64,
    turns_stalled: AtomicU64,
    deltas: AtomicU64,
    max_gap_ns: AtomicU64,
    max_latency_ns: AtomicU64,
    /// Turns between request start and end of body.
    open: AtomicUsize,
    max_open: AtomicUsize,
}

impl PhaseStats {
    fn new() -> Self {
        Self {
            ttft: Hist::new(),
            chunk: Hist::new(),
            turns_ok: AtomicU64::new(0),
            turns_failed: AtomicU64::new(0),
            turns_stalled: AtomicU64::new(0),
            deltas: AtomicU64::new(0),
            max_gap_ns: AtomicU64::new(0),
            max_latency_ns: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            max_open: AtomicUsize::new(0),
        }
    }

    fn stalled(&self) -> bool {
        self.turns_failed.load(Ordering::Relaxed) + self.turns_stalled.load(Ordering::Relaxed) > 0
    }
}

/// How late the scripted model sent its deltas against its schedule (the harness's own health).
static MODEL_LAG: LazyLock<Hist> = LazyLock::new(Hist::new);

fn reset(hist: &Hist) {
    for count in &hist.counts {
        count.store(0, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// Process measurements

/// On-CPU nanoseconds by owner.
#[derive(Clone, Copy, Default)]
struct Cpu {
    daemon: u64,
    client: u64,
    model: u64,
    bare: u64,
    /// Whole process from `/proc/self/stat` (includes threads that have exited; tick resolution).
    process: u64,
    /// Times a daemon thread went to sleep (voluntary context switches): each is a wake-up later.
    daemon_sleeps: u64,
}

/// One thread's name, on-CPU nanoseconds and voluntary context switches (times it went to sleep).
struct ThreadUse {
    name: String,
    ns: u64,
    sleeps: u64,
}

/// Every live thread by tid, and the whole process's CPU time.
struct Threads {
    threads: HashMap<String, ThreadUse>,
    process: u64,
}

fn threads_now() -> Threads {
    let mut threads = HashMap::new();
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default().trim().to_owned();
        let ns: u64 = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let sleeps: u64 = std::fs::read_to_string(dir.join("status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        threads.insert(task.file_name().to_string_lossy().into_owned(), ThreadUse { name, ns, sleeps });
    }
    Threads { threads, process: cpu_ns_of("self") }
}

/// Milliseconds on CPU per thread name between two `threads_now` samples, for the daemon's threads.
fn daemon_threads_ms(before: &Threads, after: &Threads) -> Value {
    let mut by_name: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    for (tid, thread) in &after.threads {
        if owner(tid, &thread.name) == Owner::Daemon {
            let earlier = before.threads.get(tid).map_or(0, |t| t.ns);
            *by_name.entry(thread.name.clone()).or_default() += thread.ns.saturating_sub(earlier) as f64 / 1e6;
        }
    }
    by_name.into_iter().map(|(name, ms)| (name, json!(round1(ms)))).collect::<serde_json::Map<_, _>>().into()
}

#[derive(PartialEq, Eq)]
enum Owner {
    Daemon,
    Client,
    Model,
    Bare,
}

/// The model's runtime names its threads `bench-llm`, the bare relay's `bench-bare`; every other
/// `bench-*` thread and the main thread belong to the client side.
fn owner(tid: &str, comm: &str) -> Owner {
    if comm.starts_with("bench-llm") {
        Owner::Model
    } else if comm.starts_with("bench-bare") {
        Owner::Bare
    } else if comm.starts_with("bench-") || tid == std::process::id().to_string() {
        Owner::Client
    } else {
        Owner::Daemon
    }
}

/// On-CPU time by owner between two samples; threads born in between count from zero.
fn cpu_between(before: &Threads, after: &Threads) -> Cpu {
    let mut cpu = Cpu::default();
    for (tid, thread) in &after.threads {
        let earlier = before.threads.get(tid);
        let spent = thread.ns.saturating_sub(earlier.map_or(0, |t| t.ns));
        match owner(tid, &thread.name) {
            Owner::Daemon => {
                cpu.daemon += spent;
                cpu.daemon_sleeps += thread.sleeps.saturating_sub(earlier.map_or(0, |t| t.sleeps));
            }
            Owner::Client => cpu.client += spent,
            Owner::Model => cpu.model += spent,
            Owner::Bare => cpu.bare += spent,
        }
    }
    cpu.process = after.process.saturating_sub(before.process);
    cpu
}

fn ticks_to_ns(ticks: u64) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100).max(1);
    ticks * 1_000_000_000 / per_second
}

/// User + system time of process `pid` (or `self`) from `/proc/<pid>/stat`, in ns (clock-tick resolution).
fn cpu_ns_of(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    ticks_to_ns(fields.get(11..13).map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum()).unwrap_or(0))
}

/// The machine's busy and stolen time from `/proc/stat`, and this process's, at one instant.
#[derive(Clone, Copy)]
struct Machine {
    at: Instant,
    busy_ns: u64,
    steal_ns: u64,
    process_ns: u64,
}

fn machine_now() -> Machine {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .map(|l| l.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default();
    let field = |i: usize| ticks.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = field(0) + field(1) + field(2) + field(5) + field(6);
    Machine {
        at: Instant::now(),
        busy_ns: ticks_to_ns(busy),
        steal_ns: ticks_to_ns(field(7)),
        process_ns: cpu_ns_of("self"),
    }
}

/// Cores used by other processes, and stolen by the hypervisor, on average between two samples: what
/// disturbed the measurement (the machine is shared).
fn disturbance(before: Machine, after: Machine) -> Value {
    let wall = after.at.duration_since(before.at).as_nanos().max(1) as f64;
    let ours = after.process_ns.saturating_sub(before.process_ns);
    let others = after.busy_ns.saturating_sub(before.busy_ns).saturating_sub(ours) as f64 / wall;
    let steal = after.steal_ns.saturating_sub(before.steal_ns) as f64 / wall;
    json!({"other_processes_cores": round3(others), "steal_cores": round3(steal)})
}

/// Raises the open-file limit to `WANTED_NOFILE` where allowed, else the soft limit to the hard one;
/// returns the limit in force.
fn raise_nofile() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1_024;
        }
        let wanted = libc::rlimit { rlim_cur: WANTED_NOFILE, rlim_max: WANTED_NOFILE.max(limit.rlim_max) };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

// ---------------------------------------------------------------------------------------------
// The scripted model

type ModelBody = UnsyncBoxBody<Bytes, Infallible>;

fn full(status: StatusCode, content_type: &str, body: String) -> Response<ModelBody> {
    let mut res = Response::new(Full::new(Bytes::from(body)).boxed_unsync());
    *res.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        res.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    res
}

/// `name=<digits>` in the request body (the user's text carries the script), else `default`.
fn knob(body: &[u8], name: &str, default: u64) -> u64 {
    let needle = format!("{name}=");
    body.windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .map(|at| {
            body[at + needle.len()..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'))
        })
        .unwrap_or(default)
}

/// Where a reply is in its script.
struct Script {
    received_ns: u64,
    start: Instant,
    think: Duration,
    interval: Duration,
    tokens: u64,
    next: u64,
}

const OPENING: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-haiku-4-5\"}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
const CLOSING: &str = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":200}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

/// The next SSE event of a reply, sent on schedule; one frame per event, as a provider flushes them.
async fn next_event(mut script: Script) -> Option<(Result<Frame<Bytes>, Infallible>, Script)> {
    let step = script.next;
    script.next += 1;
    let bytes = if step == 0 {
        Bytes::from_static(OPENING.as_bytes())
    } else if step <= script.tokens {
        let due = script.start + script.think + script.interval * u32::try_from(step - 1).unwrap_or(u32::MAX);
        tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        let sent = now_ns();
        MODEL_LAG.record_ns(u64::try_from(Instant::now().saturating_duration_since(due).as_nanos()).unwrap_or(0));
        let received = if step == 1 { format!(".{}", script.received_ns) } else { String::new() };
        Bytes::from(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\" ~{sent}{received};\"}}}}\n\n"
        ))
    } else if step == script.tokens + 1 {
        Bytes::from_static(CLOSING.as_bytes())
    } else {
        return None;
    };
    Some((Ok(Frame::data(bytes)), script))
}

async fn model_route(req: Request<Incoming>) -> Result<Response<ModelBody>, Infallible> {
    let received_ns = now_ns();
    let start = Instant::now();
    let authorized = req.headers().get("x-api-key").is_some_and(|k| k.as_bytes() == API_KEY.as_bytes());
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if !authorized {
        let error = json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}});
        return Ok(full(StatusCode::UNAUTHORIZED, "application/json", error.to_string()));
    }
    Ok(match (method, path.as_str()) {
        (Method::GET, "/v1/models") => {
            let list = json!({"data": [{"type": "model", "id": MODEL, "display_name": "Bench"}], "has_more": false});
            full(StatusCode::OK, "application/json", list.to_string())
        }
        (Method::POST, "/v1/messages") => {
            let think = Duration::from_millis(knob(&body, "think", THINK.as_millis() as u64));
            let interval = Duration::from_millis(knob(&body, "interval", INTERVAL.as_millis() as u64));
            let tokens = knob(&body, "tokens", REPLY_TOKENS as u64);
            let script = Script { received_ns, start, think, interval, tokens, next: 0 };
            let stream = futures_util::stream::unfold(script, next_event);
            let mut res = Response::new(StreamBody::new(stream).boxed_unsync());
            res.headers_mut()
                .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/event-stream"));
            res
        }
        _ => full(StatusCode::NOT_FOUND, "application/json", "{}".to_owned()),
    })
}

/// Serves the scripted model on `listener` until the process exits.
async fn serve_model(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors or similar: the client sees a failed turn; keep accepting.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(model_route);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The daemon

/// The daemon's environment: demo mode, its model the scripted one at `model_base`, files under `data_dir`.
fn demo_env(model_base: &str, data_dir: &std::path::Path) -> HashMap<String, String> {
    [
        ("AUGCHATD_MODE", "demo"),
        ("AUGCHATD_DATA_DIR", data_dir.join("data").to_str().unwrap()),
        ("AUGCHATD_DEMO_SESSION_FILE", data_dir.join("no-demo-session.json").to_str().unwrap()),
        ("AUGCHATD_ANTHROPIC_BASE_URL", model_base),
        ("AUGCHATD_JWT_SECRET", JWT_SECRET),
        ("DEMO_MODEL_PROVIDER", "anthropic"),
        ("DEMO_MODEL_ID", MODEL),
        ("DEMO_MODEL_API_KEY", API_KEY),
        ("DEMO_SYSTEM_PROMPT", "You are a benchmark."),
        ("DEMO_TTL_SECONDS", "86400"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Boots augchatd in demo mode on its own actix system thread; returns its address.
fn boot_daemon(model_base: &str, data_dir: &std::path::Path) -> SocketAddr {
    let config = Config::load(&[], demo_env(model_base, data_dir)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("daemon".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(config, |_| std::net::TcpListener::bind("127.0.0.1:0")).await.unwrap();
                tx.send(app.port()).unwrap();
                app.run_until_stopped().await.unwrap();
            });
        })
        .unwrap();
    SocketAddr::from(([127, 0, 0, 1], rx.recv().unwrap()))
}

// ---------------------------------------------------------------------------------------------
// The bare relay

/// Starts the floor of any relay on this machine: each connection's bytes copied both ways to a
/// connection of its own to the model, nothing parsed. Per delta it makes the system calls a relay must
/// (a receive from the model, a send to the client) and nothing else, so what it adds to latency and
/// CPU is what the machine charges before any relay logic. Two threads named `bench-bare`, each a
/// single-threaded runtime with its own listener on one port (`SO_REUSEPORT`: the kernel spreads the
/// connections), as augchatd's two actix workers are. Returns the port's address.
fn start_bare(model: SocketAddr) -> SocketAddr {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 0));
    for _ in 0..2 {
        let (bound, port) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("bench-bare".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async move {
                    let socket = tokio::net::TcpSocket::new_v4().unwrap();
                    socket.set_reuseport(true).unwrap();
                    socket.bind(addr).unwrap();
                    let listener = socket.listen(1_024).unwrap();
                    bound.send(listener.local_addr().unwrap()).unwrap();
                    serve_bare(listener, model).await;
                });
            })
            .unwrap();
        addr = port.recv().unwrap();
    }
    addr
}

async fn serve_bare(listener: TcpListener, model: SocketAddr) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            let Ok(mut outbound) = TcpStream::connect(model).await else { return };
            let _ = inbound.set_nodelay(true);
            let _ = outbound.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The client

/// A client's way to a server: a connection of its own over HTTP/1.1 (as a browser tab has), or one
/// stream at a time on a shared HTTP/2 connection (as many users' streams arrive through an HTTP/2 proxy).
enum Conn {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

impl Conn {
    async fn ready(&mut self) -> Result<(), String> {
        match self {
            Conn::H1(send) => send.ready().await,
            Conn::H2(send) => send.ready().await,
        }
        .map_err(|e| e.to_string())
    }

    async fn send_request(&mut self, request: Request<Full<Bytes>>) -> Result<Response<Incoming>, String> {
        match self {
            Conn::H1(send) => send.send_request(request).await,
            Conn::H2(send) => send.send_request(request).await,
        }
        .map_err(|e| e.to_string())
    }
}

async fn connect(addr: SocketAddr) -> Result<Conn, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (send, conn) = http1::handshake(TokioIo::new(tcp)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn::H1(send))
}

/// Where a turn goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Straight to the scripted model.
    Direct,
    /// The model's own request, through the bare relay.
    Bare,
    /// `POST /chat` on augchatd.
    Through,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Direct => "direct",
            Route::Bare => "bare",
            Route::Through => "through",
        }
    }
}

/// The addresses and credentials the client needs.
struct Target {
    model: SocketAddr,
    /// The bare relay, when this run has one.
    bare: Option<SocketAddr>,
    daemon: SocketAddr,
    jwts: Vec<String>,
    /// HTTP/2 connections to the daemon that the through route's slots share; empty: a connection each.
    daemon_h2: Vec<http2::SendRequest<Full<Bytes>>>,
}

impl Target {
    /// A slot's way to the route's server.
    async fn dial(&self, route: Route, slot: usize) -> Result<Conn, String> {
        match route {
            Route::Through if !self.daemon_h2.is_empty() => {
                Ok(Conn::H2(self.daemon_h2[slot % self.daemon_h2.len()].clone()))
            }
            Route::Through => connect(self.daemon).await,
            Route::Direct => connect(self.model).await,
            Route::Bare => connect(self.bare.ok_or("no bare relay in this run")?).await,
        }
    }

    /// One turn's request; the user's text scripts the reply (`tokens=`, `think=`, `interval=`).
    fn request(&self, route: Route, slot: usize, pace: Pace) -> Request<Full<Bytes>> {
        let text = format!(
            "bench tokens={} think={} interval={}",
            pace.tokens,
            pace.think.as_millis(),
            pace.interval.as_millis()
        );
        let builder = Request::builder().method(Method::POST).header(hyper::header::HOST, "127.0.0.1");
        let (builder, body) = match route {
            Route::Direct | Route::Bare => (
                builder.uri("/v1/messages").header("x-api-key", API_KEY).header("anthropic-version", "2023-06-01"),
                json!({"model": MODEL, "max_tokens": 4096, "stream": true, "system": "You are a benchmark.",
                       "messages": [{"role": "user", "content": text}]}),
            ),
            Route::Through => (
                builder.uri("/chat").header(hyper::header::AUTHORIZATION, format!("Bearer {}", self.jwts[slot])),
                json!({"id": format!("bench-{slot}"), "trigger": "submit-message",
                       "messages": [{"id": format!("u-{slot}"), "role": "user", "parts": [{"type": "text", "text": text}]}]}),
            ),
        };
        builder
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    }
}

/// Calls `each(sent_ns, received_ns)` for every stamp ` ~<sent>[.<received>];` in `bytes`.
fn stamps(bytes: &[u8], mut each: impl FnMut(u64, Option<u64>)) {
    let number = |from: usize| {
        let digits = bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
        let value = bytes[from..from + digits].iter().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        (value, from + digits)
    };
    let mut at = 0;
    while let Some(offset) = bytes[at..].iter().position(|&b| b == b'~') {
        let (sent, end) = number(at + offset + 1);
        let (received, end) = if bytes.get(end) == Some(&b'.') {
            let (received, end) = number(end + 1);
            (Some(received), end)
        } else {
            (None, end)
        };
        each(sent, received);
        at = end;
    }
}

/// Runs one turn on `conn` and records it into `stats`.
async fn turn(conn: &mut Conn, request: Request<Full<Bytes>>, tokens: usize, stats: &PhaseStats) -> Result<(), String> {
    conn.ready().await?;
    let open = stats.open.fetch_add(1, Ordering::Relaxed) + 1;
    stats.max_open.fetch_max(open, Ordering::Relaxed);
    let outcome = read_turn(conn, request, stats).await;
    stats.open.fetch_sub(1, Ordering::Relaxed);
    let read = outcome?;
    if read.deltas != tokens {
        return Err(format!("{} of {tokens} deltas", read.deltas));
    }
    stats.max_gap_ns.fetch_max(read.max_gap_ns, Ordering::Relaxed);
    stats.max_latency_ns.fetch_max(read.max_latency_ns, Ordering::Relaxed);
    if read.max_latency_ns > STALL_LATENCY.as_nanos() as u64 {
        stats.turns_stalled.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// What the client saw of one reply.
struct Read {
    deltas: usize,
    /// Longest time between two deltas at the client (the model's pacing included).
    max_gap_ns: u64,
    /// Longest time from the model sending a delta to the client reading it.
    max_latency_ns: u64,
}

/// Sends the request and reads the reply to its end.
async fn read_turn(conn: &mut Conn, request: Request<Full<Bytes>>, stats: &PhaseStats) -> Result<Read, String> {
    let started = now_ns();
    let response = conn.send_request(request).await?;
    if response.status() != StatusCode::OK {
        return Err(format!("status {}", response.status()));
    }
    let mut body = response.into_body();
    let mut carry: Vec<u8> = Vec::with_capacity(512);
    let (mut seen, mut last_arrival, mut max_gap, mut max_latency) = (0usize, 0u64, 0u64, 0u64);
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|e| e.to_string())?.into_data() else { continue };
        let arrival = now_ns();
        carry.extend_from_slice(&data);
        let Some(end) = carry.iter().rposition(|&b| b == b'\n').map(|i| i + 1) else { continue };
        stamps(&carry[..end], |sent, received| {
            if seen == 0 {
                let model_time = received.map_or(0, |r| sent.saturating_sub(r));
                stats.ttft.record_ns(arrival.saturating_sub(started).saturating_sub(model_time));
            } else {
                max_gap = max_gap.max(arrival - last_arrival);
            }
            let latency = arrival.saturating_sub(sent);
            stats.chunk.record_ns(latency);
            max_latency = max_latency.max(latency);
            last_arrival = arrival;
            seen += 1;
        });
        carry.drain(..end);
    }
    stats.deltas.fetch_add(seen as u64, Ordering::Relaxed);
    Ok(Read { deltas: seen, max_gap_ns: max_gap, max_latency_ns: max_latency })
}

/// One client slot of a phase: waits for its start, connects, turns until `stop_at`.
async fn slot(
    target: Arc<Target>,
    route: Route,
    index: usize,
    pace: Pace,
    start_at: Instant,
    stop_at: Instant,
    stats: Arc<PhaseStats>,
) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(start_at)).await;
    let Ok(mut conn) = target.dial(route, index).await else {
        stats.turns_failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    loop {
        let request = target.request(route, index, pace);
        match turn(&mut conn, request, pace.tokens, &stats).await {
            Ok(()) => stats.turns_ok.fetch_add(1, Ordering::Relaxed),
            Err(_) => {
                stats.turns_failed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        if Instant::now() >= stop_at {
            return;
        }
    }
}

/// What one route did at one level.
struct Phase {
    route: Route,
    streams: usize,
    stats: Arc<PhaseStats>,
    cpu: Cpu,
    seconds: f64,
    rss_growth_kb: u64,
    open_at_rss: usize,
    model_lag_p99_us: Option<u64>,
    /// Where the daemon's CPU went, by thread name.
    daemon_threads_ms: Value,
    /// Other processes' CPU and steal during the phase.
    disturbance: Value,
}

impl Phase {
    fn per_reply_ms(&self, ns: u64) -> Option<f64> {
        let turns = self.stats.turns_ok.load(Ordering::Relaxed);
        (turns > 0).then(|| ns as f64 / turns as f64 / 1e6)
    }

    fn rss_per_stream_kb(&self) -> Option<f64> {
        (self.open_at_rss > 0).then(|| self.rss_growth_kb as f64 / self.open_at_rss as f64)
    }

    fn json(&self) -> Value {
        let s = &self.stats;
        json!({
            "route": self.route.name(), "streams": self.streams, "seconds": round1(self.seconds),
            "turns_ok": s.turns_ok.load(Ordering::Relaxed), "turns_failed": s.turns_failed.load(Ordering::Relaxed),
            "turns_stalled": s.turns_stalled.load(Ordering::Relaxed), "deltas": s.deltas.load(Ordering::Relaxed),
            "max_open": s.max_open.load(Ordering::Relaxed), "max_gap_ms": round1(s.max_gap_ns.load(Ordering::Relaxed) as f64 / 1e6),
            "max_latency_ms": round1(s.max_latency_ns.load(Ordering::Relaxed) as f64 / 1e6),
            "ttft_overhead": s.ttft.summary(), "chunk_latency": s.chunk.summary(),
            "cpu_ms_per_reply": {"daemon": self.per_reply_ms(self.cpu.daemon).map(round3),
                                 "client": self.per_reply_ms(self.cpu.client).map(round3),
                                 "model": self.per_reply_ms(self.cpu.model).map(round3),
                                 "bare": self.per_reply_ms(self.cpu.bare).map(round3),
                                 "process": self.per_reply_ms(self.cpu.process).map(round3)},
            "daemon_wakeups_per_reply": self.per_reply_ms(self.cpu.daemon_sleeps * 1_000_000).map(round1),
            "rss_growth_kb": self.rss_growth_kb, "open_at_rss_sample": self.open_at_rss,
            "rss_kb_per_open_stream": self.rss_per_stream_kb().map(round1),
            "model_lag_p99_us": self.model_lag_p99_us, "daemon_cpu_ms_by_thread": self.daemon_threads_ms,
            "disturbance": self.disturbance,
        })
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Runs `streams` slots on `route` at `pace`: ramp, hold, drain; measures CPU and RSS around it.
async fn phase(target: &Arc<Target>, route: Route, streams: usize, pace: Pace) -> Phase {
    trim_heap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    reset(&MODEL_LAG);
    let (rss_before, threads_before, machine_before) = (rss_kb(), threads_now(), machine_now());
    let begin = Instant::now();
    let ramp = pace.length();
    let stop_at = begin + ramp + HOLD;
    let stats = Arc::new(PhaseStats::new());
    let slots: Vec<_> = (0..streams)
        .map(|i| {
            let start_at = begin + ramp.mul_f64(i as f64 / streams as f64);
            tokio::spawn(slot(Arc::clone(target), route, i, pace, start_at, stop_at, Arc::clone(&stats)))
        })
        .collect();
    tokio::time::sleep_until(tokio::time::Instant::from_std(begin + ramp + HOLD / 2)).await;
    let (rss_mid, open_at_rss) = (rss_kb(), stats.open.load(Ordering::Relaxed));
    for slot in slots {
        let _ = slot.await;
    }
    let seconds = begin.elapsed().as_secs_f64();
    let threads_after = threads_now();
    let cpu = cpu_between(&threads_before, &threads_after);
    Phase {
        route,
        streams,
        stats,
        cpu,
        seconds,
        rss_growth_kb: rss_mid.saturating_sub(rss_before),
        open_at_rss,
        model_lag_p99_us: MODEL_LAG.quantile(0.99),
        daemon_threads_ms: daemon_threads_ms(&threads_before, &threads_after),
        disturbance: disturbance(machine_before, machine_now()),
    }
}

/// Mints demo sessions on `conn` until there are `count` JWTs.
async fn mint_until(mut conn: Conn, jwts: &mut Vec<String>, count: usize) {
    while jwts.len() < count {
        conn.ready().await.unwrap();
        let request = Request::post("/demo/sessions")
            .header(hyper::header::HOST, "127.0.0.1")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = conn.send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
        jwts.push(body["jwt"].as_str().unwrap().to_owned());
    }
}

/// What the one-stream TTFT turns measured, by route.
struct OneStream {
    direct: PhaseStats,
    bare: PhaseStats,
    through: PhaseStats,
    disturbance: Value,
}

/// One-stream TTFT: one-token turns, alternating routes on one kept-alive connection each.
async fn ttft_one_stream(target: &Arc<Target>) -> OneStream {
    let (direct, bare, through) = (PhaseStats::new(), PhaseStats::new(), PhaseStats::new());
    let machine_before = machine_now();
    let routes = [Route::Direct, Route::Bare, Route::Through];
    let mut conns = Vec::new();
    for (slot, route) in routes.into_iter().enumerate() {
        conns.push(target.dial(route, slot).await.unwrap());
    }
    let warmup = PhaseStats::new();
    for i in 0..WARMUP_TURNS + TTFT_SAMPLES {
        for (route, conn) in routes.into_iter().zip(conns.iter_mut()) {
            let stats = match (i < WARMUP_TURNS, route) {
                (true, _) => &warmup,
                (false, Route::Direct) => &direct,
                (false, Route::Bare) => &bare,
                (false, Route::Through) => &through,
            };
            let pace = Pace { think: TTFT_THINK, interval: INTERVAL, tokens: 1 };
            turn(conn, target.request(route, 0, pace), 1, stats).await.unwrap();
        }
    }
    OneStream { direct, bare, through, disturbance: disturbance(machine_before, machine_now()) }
}

/// The machine's floor for any relay: a round trip to another thread that has been idle for 5 ms (a
/// oneshot there and back), as every hop of a turn is. On a VM, waking an idle vCPU dominates it.
async fn wake_floor() -> Hist {
    let hist = Hist::new();
    let (to_thread, requests) = std::sync::mpsc::channel::<tokio::sync::oneshot::Sender<u64>>();
    std::thread::Builder::new()
        .name("bench-ping".into())
        .spawn(move || {
            for reply in requests {
                let _ = reply.send(now_ns());
            }
        })
        .unwrap();
    for _ in 0..WAKE_SAMPLES {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (reply, answered) = tokio::sync::oneshot::channel();
        let sent = now_ns();
        to_thread.send(reply).unwrap();
        answered.await.unwrap();
        hist.record_ns(now_ns() - sent);
    }
    hist
}

/// `{p50, p99}` of what `through` adds over `direct`.
fn added_pair(through: &Hist, direct: &Hist) -> Value {
    json!({"p50": added(through, direct, 0.5), "p99": added(through, direct, 0.99)})
}

/// An `added_pair` as `p50/p99` for the progress lines.
fn shown_pair(pair: &Value) -> String {
    let shown = |v: &Value| v.as_i64().map_or_else(|| "–".to_owned(), |v| v.to_string());
    format!("{}/{}", shown(&pair["p50"]), shown(&pair["p99"]))
}

fn added(through: &Hist, direct: &Hist, q: f64) -> Option<i64> {
    Some(i64::try_from(through.quantile(q)?).ok()? - i64::try_from(direct.quantile(q)?).ok()?)
}

fn show<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// The chat relay measures (issue #5 and the streaming half of issue #7); prints its tables.
async fn relay(
    model_addr: SocketAddr,
    bare_addr: SocketAddr,
    daemon_addr: SocketAddr,
    levels: &[usize],
    nproc: usize,
    nofile: u64,
    harness_threads: usize,
) -> Value {
    let mut jwts = Vec::new();
    mint_until(connect(daemon_addr).await.unwrap(), &mut jwts, 1).await;
    let target_with = |jwts: &[String]| {
        Arc::new(Target {
            model: model_addr,
            bare: Some(bare_addr),
            daemon: daemon_addr,
            jwts: jwts.to_vec(),
            daemon_h2: Vec::new(),
        })
    };
    let target = target_with(&jwts);

    let floor = wake_floor().await;
    println!(
        "machine floor: a round trip to a thread idle for 5 ms takes p50 {} / p99 {} µs",
        show(floor.quantile(0.5)),
        show(floor.quantile(0.99))
    );
    println!("one-stream TTFT: {TTFT_SAMPLES} one-token turns per route");
    let one_stream = ttft_one_stream(&target).await;
    println!("  other processes during it: {} cores", one_stream.disturbance["other_processes_cores"]);

    let mut rows = Vec::new();
    let mut held = 0;
    let mut bare_held = 0;
    // Why the bare relay's sweep ended, once it has.
    let mut bare_stop: Option<String> = None;
    let mut stop_reason = "reached the cap".to_owned();
    for &streams in levels {
        mint_until(connect(daemon_addr).await.unwrap(), &mut jwts, streams).await;
        let target = target_with(&jwts);
        let mut stalled_attempts = Vec::new();
        // The bare relay holds the level if one of its own tries has no stall, as augchatd does.
        let mut bare_ok = false;
        let (direct, mut bare, through) = loop {
            let direct = phase(&target, Route::Direct, streams, STREAMING).await;
            let bare = phase(&target, Route::Bare, streams, STREAMING).await;
            let through = phase(&target, Route::Through, streams, STREAMING).await;
            bare_ok |= !bare.stats.stalled();
            if (!direct.stats.stalled() && !through.stats.stalled()) || stalled_attempts.len() + 1 == ATTEMPTS {
                break (direct, bare, through);
            }
            println!("  {streams:>5} streams: stalled, once more");
            stalled_attempts.push(json!({"direct": direct.json(), "bare": bare.json(), "through": through.json()}));
        };
        let mut bare_tries = stalled_attempts.len() + 1;
        while !bare_ok && bare_tries < ATTEMPTS {
            bare = phase(&target, Route::Bare, streams, STREAMING).await;
            bare_ok = !bare.stats.stalled();
            bare_tries += 1;
        }
        let (d, b, t) = (&direct.stats, &bare.stats, &through.stats);
        let ok = !d.stalled() && !t.stalled();
        let daemon_rss = match (through.rss_per_stream_kb(), direct.rss_per_stream_kb()) {
            (Some(t), Some(d)) => Some(round1(t - d)),
            _ => None,
        };
        let row = json!({
            "streams": streams, "held": ok,
            "added_ttft_us": added_pair(&t.ttft, &d.ttft),
            "added_chunk_us": added_pair(&t.chunk, &d.chunk),
            "daemon_cpu_ms_per_reply": through.per_reply_ms(through.cpu.daemon).map(round3),
            "bare_held": bare_ok,
            "bare_added_ttft_us": added_pair(&b.ttft, &d.ttft),
            "bare_added_chunk_us": added_pair(&b.chunk, &d.chunk),
            "bare_cpu_ms_per_reply": bare.per_reply_ms(bare.cpu.bare).map(round3),
            "daemon_wakeups_per_reply": through.json()["daemon_wakeups_per_reply"],
            "process_cpu_ms_per_reply_through_minus_direct": through.per_reply_ms(through.cpu.process)
                .zip(direct.per_reply_ms(direct.cpu.process)).map(|(t, d)| round3(t - d)),
            "rss_kb_per_open_stream": {"process_through": through.rss_per_stream_kb().map(round1),
                                       "process_direct": direct.rss_per_stream_kb().map(round1),
                                       "daemon": daemon_rss},
            "direct": direct.json(), "bare": bare.json(), "through": through.json(),
            "stalled_attempts": stalled_attempts,
        });
        println!(
            "  {streams:>5} streams: {} | added TTFT p50/p99 {} µs | added chunk p50/p99 {} µs | max delta latency direct/through {:.1}/{:.1} ms | daemon CPU/reply {} ms, wake-ups/reply {} | RSS/stream daemon {} KB | other processes direct/through {}/{} cores",
            if ok { "held" } else { "STALLED" },
            shown_pair(&row["added_ttft_us"]),
            shown_pair(&row["added_chunk_us"]),
            d.max_latency_ns.load(Ordering::Relaxed) as f64 / 1e6,
            t.max_latency_ns.load(Ordering::Relaxed) as f64 / 1e6,
            show(row["daemon_cpu_ms_per_reply"].as_f64()),
            row["daemon_wakeups_per_reply"],
            show(daemon_rss),
            direct.disturbance["other_processes_cores"],
            through.disturbance["other_processes_cores"],
        );
        println!(
            "         bare relay: {} | added TTFT p50/p99 {} µs | added chunk p50/p99 {} µs | bare relay CPU/reply {} ms",
            if bare_ok { "held" } else { "STALLED" },
            shown_pair(&row["bare_added_ttft_us"]),
            shown_pair(&row["bare_added_chunk_us"]),
            show(row["bare_cpu_ms_per_reply"].as_f64()),
        );
        match (&bare_stop, bare_ok) {
            (Some(_), _) => {}
            (None, true) => bare_held = streams,
            (None, false) => bare_stop = Some(format!("the bare relay stalled at {streams}")),
        }
        rows.push(row);
        if ok {
            held = streams;
        } else {
            stop_reason = if d.stalled() {
                format!("the direct route (harness alone) stalled at {streams}")
            } else {
                format!("augchatd stalled at {streams}")
            };
            break;
        }
    }
    // Past augchatd's last level, the bare relay goes on alone (with the direct route, the harness's own
    // check) until it stalls too: the most streams any relay holds on this machine with this harness.
    let mut bare_rows = Vec::new();
    if bare_stop.is_none() {
        let last_held = bare_held;
        for streams in levels.iter().copied().filter(|&n| n > last_held) {
            let target = target_with(&jwts);
            // Tries as at augchatd's levels: held if one has no stall on the bare relay nor on direct.
            let mut stalled_attempts = Vec::new();
            let (direct, bare) = loop {
                let direct = phase(&target, Route::Direct, streams, STREAMING).await;
                let bare = phase(&target, Route::Bare, streams, STREAMING).await;
                let held = !direct.stats.stalled() && !bare.stats.stalled();
                if held || stalled_attempts.len() + 1 == ATTEMPTS {
                    break (direct, bare);
                }
                println!("  {streams:>5} streams, bare relay alone: stalled, once more");
                stalled_attempts.push(json!({"direct": direct.json(), "bare": bare.json()}));
            };
            let (d, b) = (&direct.stats, &bare.stats);
            let row = json!({"streams": streams, "bare_held": !b.stalled(), "direct_held": !d.stalled(),
                "bare_added_chunk_us": added_pair(&b.chunk, &d.chunk),
                "bare_cpu_ms_per_reply": bare.per_reply_ms(bare.cpu.bare).map(round3),
                "direct": direct.json(), "bare": bare.json(), "stalled_attempts": stalled_attempts});
            println!(
                "  {streams:>5} streams, bare relay alone: {} | direct {} | added chunk p50/p99 {} µs | bare relay CPU/reply {} ms",
                if b.stalled() { "STALLED" } else { "held" },
                if d.stalled() { "STALLED" } else { "held" },
                shown_pair(&row["bare_added_chunk_us"]),
                show(row["bare_cpu_ms_per_reply"].as_f64()),
            );
            bare_rows.push(row);
            if b.stalled() || d.stalled() {
                bare_stop = Some(if d.stalled() {
                    format!("the direct route (harness alone) stalled at {streams}")
                } else {
                    format!("the bare relay stalled at {streams}")
                });
                break;
            }
            bare_held = streams;
        }
    }
    let bare_stop = bare_stop.unwrap_or_else(|| "reached the cap".to_owned());

    let open = open::run(nofile).await;

    let level = |n: usize| rows.iter().find(|r| r["streams"] == n);
    let (one, top) = (level(1), level(held));
    let ttft_added = |q| added(&one_stream.through.ttft, &one_stream.direct.ttft, q);
    let bare_ttft_added = |q| added(&one_stream.bare.ttft, &one_stream.direct.ttft, q);
    // How many streams the daemon's own CPU per reply would allow on all the cores, if nothing else
    // ran and the cost stayed linear: an extrapolation, not a measurement.
    let projected = top.and_then(|r| r["daemon_cpu_ms_per_reply"].as_f64()).map(|cpu_ms| {
        let turn_ms = RAMP.as_secs_f64() * 1e3;
        (nproc as f64 * turn_ms / cpu_ms).floor()
    });
    let summary = json!({
        "added_ttft_us_one_stream": added_pair(&one_stream.through.ttft, &one_stream.direct.ttft),
        "added_chunk_us_one_stream": one.map(|r| r["added_chunk_us"].clone()),
        "most_streams_held": held,
        "sweep_ended": stop_reason,
        "at_most_held": top.map(|r| json!({
            "streams": r["streams"], "added_ttft_us": r["added_ttft_us"], "added_chunk_us": r["added_chunk_us"],
            "daemon_cpu_ms_per_200_token_reply": r["daemon_cpu_ms_per_reply"],
            "rss_kb_per_open_stream": r["rss_kb_per_open_stream"]})),
        "projected_streams_daemon_alone": projected,
        "bare_relay": {
            "added_ttft_us_one_stream": added_pair(&one_stream.bare.ttft, &one_stream.direct.ttft),
            "added_chunk_us_one_stream": one.map(|r| r["bare_added_chunk_us"].clone()),
            "most_streams_held": bare_held,
            "sweep_ended": bare_stop,
            "cpu_ms_per_200_token_reply_at_augchatds_most": top.map(|r| r["bare_cpu_ms_per_reply"].clone()),
        },
    });

    let cell = |r: Option<&Value>, path: &[&str]| {
        r.map_or_else(|| "–".to_owned(), |r| path.iter().fold(r, |v, key| &v[*key]).to_string())
    };
    let pair = |r: Option<&Value>, key: &str| format!("{} / {}", cell(r, &[key, "p50"]), cell(r, &[key, "p99"]));
    let ttft_p99 = ttft_added(0.99);
    println!("\n| measure | value | target |\n|---|---|---|");
    println!(
        "| added TTFT, 1 stream, p50 / p99 ({TTFT_SAMPLES} turns) | {} / {} µs | p99 < 1 ms: {} |",
        show(ttft_added(0.5)),
        show(ttft_p99),
        if ttft_p99.is_some_and(|v| v < 1_000) { "met" } else { "not met" }
    );
    println!("| added per chunk, 1 stream, p50 / p99 | {} µs | |", pair(one, "added_chunk_us"));
    println!(
        "| machine floor: round trip to a thread idle 5 ms, p50 / p99 | {} / {} µs | |",
        show(floor.quantile(0.5)),
        show(floor.quantile(0.99))
    );
    println!(
        "| most concurrent streams with no stall ({stop_reason}) | {held} | ≥ 2,000: {} |",
        if held >= 2_000 { "met" } else { "not met" }
    );
    println!("| added TTFT at {held} streams, p50 / p99 | {} µs | |", pair(top, "added_ttft_us"));
    println!("| added per chunk at {held} streams, p50 / p99 | {} µs | |", pair(top, "added_chunk_us"));
    println!("| daemon CPU per 200-token reply at {held} streams | {} ms | |", cell(top, &["daemon_cpu_ms_per_reply"]));
    println!(
        "| RSS per open stream at {held} streams: daemon share / whole process | {} / {} KB | |",
        cell(top, &["rss_kb_per_open_stream", "daemon"]),
        cell(top, &["rss_kb_per_open_stream", "process_through"])
    );
    println!("| streams the daemon's CPU alone would allow on {nproc} cores (extrapolated) | {} | |", show(projected));
    println!(
        "| bare relay, same run: added TTFT, 1 stream, p50 / p99 | {} / {} µs | |",
        show(bare_ttft_added(0.5)),
        show(bare_ttft_added(0.99))
    );
    println!("| bare relay: added per chunk, 1 stream, p50 / p99 | {} µs | |", pair(one, "bare_added_chunk_us"));
    println!("| bare relay: most concurrent streams with no stall ({bare_stop}) | {bare_held} | |");
    println!(
        "| bare relay: CPU per 200-token reply at {held} streams | {} ms | |",
        cell(top, &["bare_cpu_ms_per_reply"])
    );

    println!(
        "\n| streams | held | added TTFT p50 / p99 (µs) | added per chunk p50 / p99 (µs) | max delta latency direct / through (ms) | daemon CPU per reply (ms) | daemon wake-ups per reply | RSS per stream, daemon (KB) | bare relay: held, added per chunk p50 / p99 (µs), CPU per reply (ms) | other processes (cores) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let yes_no = |v: &Value| if *v == true { "yes" } else { "no" };
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} / {} | {} | {} | {} | {}, {}, {} | {} |",
            r["streams"],
            yes_no(&r["held"]),
            pair(Some(r), "added_ttft_us"),
            pair(Some(r), "added_chunk_us"),
            r["direct"]["max_latency_ms"],
            r["through"]["max_latency_ms"],
            r["daemon_cpu_ms_per_reply"],
            r["daemon_wakeups_per_reply"],
            r["rss_kb_per_open_stream"]["daemon"],
            yes_no(&r["bare_held"]),
            pair(Some(r), "bare_added_chunk_us"),
            r["bare_cpu_ms_per_reply"],
            r["through"]["disturbance"]["other_processes_cores"],
        );
    }
    for r in &bare_rows {
        println!(
            "| {} | (not run) | | | {} / – | | | | {}, {}, {} | {} |",
            r["streams"],
            r["direct"]["max_latency_ms"],
            yes_no(&r["bare_held"]),
            pair(Some(r), "bare_added_chunk_us"),
            r["bare_cpu_ms_per_reply"],
            r["bare"]["disturbance"]["other_processes_cores"],
        );
    }

    json!({
        "open_file_limit": nofile,
        "params": {"think_ms": THINK.as_millis() as u64, "interval_ms": INTERVAL.as_millis() as u64,
                   "reply_tokens": REPLY_TOKENS, "stall_latency_ms": STALL_LATENCY.as_millis() as u64, "harness_threads": harness_threads,
                   "ramp_ms": RAMP.as_millis() as u64, "hold_s": HOLD.as_secs(),
                   "ttft_samples": TTFT_SAMPLES, "ttft_think_ms": TTFT_THINK.as_millis() as u64},
        "ttft_one_stream": {"direct_overhead": one_stream.direct.ttft.summary(),
                            "bare_overhead": one_stream.bare.ttft.summary(),
                            "through_overhead": one_stream.through.ttft.summary(),
                            "direct_chunk": one_stream.direct.chunk.summary(),
                            "bare_chunk": one_stream.bare.chunk.summary(),
                            "through_chunk": one_stream.through.chunk.summary(),
                            "disturbance": one_stream.disturbance},
        "wake_floor": floor.summary(),
        "summary": summary,
        "open_streams": open,
        "levels": rows,
        "bare_relay_levels": bare_rows,
    })
}

fn main() {
    if std::env::var_os(open::MODEL_ROLE).is_some() {
        return open::serve_model_process();
    }
    let nofile = raise_nofile();
    // The daemon's build installs it too, but the process part's clients may come first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    let cap =
        std::env::var("AUGCHATD_BENCH_MAX_STREAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_MAX_STREAMS);
    let fd_cap = usize::try_from(nofile.saturating_sub(FD_RESERVE) / FDS_PER_STREAM).unwrap_or(usize::MAX);
    let levels: Vec<usize> = match std::env::var("AUGCHATD_BENCH_LEVELS") {
        Ok(list) => list.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => LEVELS.to_vec(),
    };
    let levels: Vec<usize> = levels.into_iter().filter(|&n| n > 0 && n <= cap && n <= fd_cap).collect();
    let harness_threads =
        std::env::var("AUGCHATD_BENCH_HARNESS_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(HARNESS_THREADS);
    println!("chat bench: {nproc} cores, open-file limit {nofile}, levels {levels:?}");

    let model_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(harness_threads)
        .thread_name("bench-llm")
        .enable_all()
        .build()
        .unwrap();
    let model_listener = model_runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let model_addr = model_listener.local_addr().unwrap();
    model_runtime.spawn(serve_model(model_listener));
    let bare_addr = start_bare(model_addr);

    let parts = std::env::var("AUGCHATD_BENCH_PARTS").unwrap_or_else(|_| "process,relay".to_owned());
    let dir = tempfile::tempdir().unwrap();
    // Only the relay part talks to an in-process daemon; the process part starts its own.
    let daemon_addr = parts.contains("relay").then(|| boot_daemon(&format!("http://{model_addr}"), dir.path()));

    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(harness_threads)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .unwrap();
    client_runtime.block_on(async move {
        let process =
            if parts.contains("process") { process::run(&format!("http://{model_addr}")).await } else { Value::Null };
        let relay = match daemon_addr {
            Some(daemon_addr) => {
                relay(model_addr, bare_addr, daemon_addr, &levels, nproc, nofile, harness_threads).await
            }
            None => Value::Null,
        };
        targets::print(&process, &relay);
        let date = time::OffsetDateTime::now_utc().date().to_string();
        let out_json = json!({"date": date, "cores": nproc, "process": process, "relay": relay});
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-limits.json");
        let _ = std::fs::create_dir_all(out.parent().unwrap());
        std::fs::write(&out, serde_json::to_string_pretty(&out_json).unwrap()).unwrap();
        println!("\nwritten to {}", out.display());
    });
    // The daemon still runs; its files go with the directory, then the process ends without joining it.
    drop(dir);
    std::process::exit(0);
}
