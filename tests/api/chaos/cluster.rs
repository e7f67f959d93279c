//! The chaos test's processes, their database and nginx in front of them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;

/// One pairsync process on a fixed port.
pub(super) struct Process {
    pub(super) port: u16,
    pub(super) log: PathBuf,
    pub(super) child: Option<Child>,
    /// The id it logged at start (its database sessions are `pairsync-<id>`).
    pub(super) id: Option<String>,
}

/// The database sessions of the processes killed so far, until PostgreSQL has ended them.
/// A process killed with a transaction sent but not yet done leaves it to PostgreSQL,
/// which commits it when its `COMMIT` had arrived: the command the process never answered
/// may take effect after the proxy's 502. Until its sessions are gone, whether it did is
/// not known yet.
#[derive(Clone)]
pub(super) struct DeadSessions {
    url: String,
    names: Arc<Mutex<Vec<String>>>,
}

/// How long PostgreSQL may take to end the sessions of a killed process (it notices the
/// closed socket when the statement in hand, if any, is done: a few ms).
const SESSIONS_END_WITHIN: Duration = Duration::from_secs(10);

impl DeadSessions {
    /// Waits until PostgreSQL has ended every session of every process killed so far; how
    /// long that took, or why it did not.
    pub(super) async fn ended(&self) -> Result<Duration, String> {
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        let url = self.url.clone();
        let started = Instant::now();
        tokio::task::spawn_blocking(move || {
            use diesel::{Connection, RunQueryDsl};
            #[derive(diesel::QueryableByName)]
            struct Open {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let mut conn = diesel::PgConnection::establish(&url).map_err(|e| e.to_string())?;
            loop {
                let open: Open = diesel::sql_query(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = ANY($1)",
                )
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&names)
                .get_result(&mut conn)
                .map_err(|e| e.to_string())?;
                if open.n == 0 {
                    return Ok(started.elapsed());
                }
                if started.elapsed() > SESSIONS_END_WITHIN {
                    return Err(format!(
                        "{} database session(s) of killed processes still open after {:?}",
                        open.n, SESSIONS_END_WITHIN
                    ));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// Three processes on one fresh PostgreSQL database behind nginx; all of it stopped and
/// the database dropped when dropped.
pub(super) struct Cluster {
    pub(super) dir: tempfile::TempDir,
    pub(super) bin: PathBuf,
    pub(super) admin: String,
    pub(super) database: String,
    pub(super) url: String,
    pub(super) processes: Vec<Process>,
    pub(super) nginx: Option<Child>,
    /// `http://127.0.0.1:PORT` of nginx.
    pub(super) base: String,
    pub(super) dead: DeadSessions,
}

/// `n` ports free right now on 127.0.0.1 (held together while chosen, so distinct).
pub(super) fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("its address").port())
        .collect()
}

/// docs/nginx.conf with its upstream block replaced by the one of docs/nginx-cluster.conf,
/// the processes' ports in place of the documented ones, listening on `port`, with its
/// files in `dir`: what tests/proxy/cluster.sh runs.
pub(super) fn nginx_conf(dir: &Path, port: u16, upstreams: &[u16]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let conf = std::fs::read_to_string(root.join("docs/nginx.conf")).expect("docs/nginx.conf");
    let block = std::fs::read_to_string(root.join("docs/nginx-cluster.conf"))
        .expect("docs/nginx-cluster.conf");
    let at = block
        .find("    upstream pairsync {")
        .expect("the upstream block of docs/nginx-cluster.conf");
    let mut block = block[at..].to_string();
    for (documented, port) in ["8081", "8082", "8083"].iter().zip(upstreams) {
        block = block.replace(
            &format!("127.0.0.1:{documented}"),
            &format!("127.0.0.1:{port}"),
        );
    }
    let upstream = regex::Regex::new(r"(?s)    upstream pairsync \{.*?\n    \}\n").expect("regex");
    assert_eq!(
        upstream.find_iter(&conf).count(),
        1,
        "the upstream block of docs/nginx.conf"
    );
    let conf = upstream.replace(&conf, regex::NoExpand(&block)).to_string();
    let d = dir.to_str().expect("utf-8 path");
    let conf = conf
        .replace("__LISTEN_PORT__", &port.to_string())
        .replace("/run/nginx.pid", &format!("{d}/nginx.pid"))
        .replace("/var/log/nginx/", &format!("{d}/"))
        .replace("/var/lib/nginx/", &format!("{d}/"));
    // Debian's nginx drops to `www-data`, which may not read the scratch folder.
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let user = if root_user { "user root;" } else { "" };
    regex::Regex::new(r"(?m)^user .*$")
        .expect("regex")
        .replace(&conf, user)
        .to_string()
}

pub(super) fn nginx_binary() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}

impl Cluster {
    pub(super) async fn start(admin: &str) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = format!("pairsync_chaos_{}", uuid::Uuid::new_v4().simple());
        postgres_admin(admin, &format!("CREATE DATABASE {database}"));
        let url = postgres_url(admin, &database);
        let bin = std::env::var_os(BIN_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pairsync")));
        let ports = free_ports(PROCESSES + 1);
        let mut cluster = Cluster {
            processes: ports[1..]
                .iter()
                .enumerate()
                .map(|(i, port)| Process {
                    port: *port,
                    log: dir.path().join(format!("pairsync-{i}.log")),
                    child: None,
                    id: None,
                })
                .collect(),
            base: format!("http://127.0.0.1:{}", ports[0]),
            dir,
            bin,
            admin: admin.to_string(),
            database,
            dead: DeadSessions {
                url: url.clone(),
                names: Arc::default(),
            },
            url,
            nginx: None,
        };
        for i in 0..PROCESSES {
            cluster.launch(i).await;
        }
        let conf = cluster.dir.path().join("nginx.conf");
        std::fs::write(&conf, nginx_conf(cluster.dir.path(), ports[0], &ports[1..]))
            .expect("write nginx.conf");
        let nginx = nginx_binary();
        let prefix = cluster.dir.path().to_str().expect("utf-8 path").to_string();
        let conf = conf.to_str().expect("utf-8 path").to_string();
        let error_log = format!("{prefix}/error.log");
        let check = Command::new(&nginx)
            .args(["-t", "-q", "-p", &prefix, "-c", &conf, "-e", &error_log])
            .output()
            .unwrap_or_else(|e| panic!("nginx ({}) runs: {e}", nginx.display()));
        assert!(
            check.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        cluster.nginx = Some(
            Command::new(&nginx)
                .args(["-p", &prefix, "-c", &conf, "-e", &error_log])
                .args(["-g", "daemon off;"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx starts"),
        );
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let answer = client.get(format!("{}/healthz", cluster.base)).send().await;
            if answer.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(started.elapsed() < START_TIMEOUT, "nginx did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cluster
    }

    /// Starts process `i` on its port and waits until it listens and has said its id; how
    /// long that took.
    pub(super) async fn launch(&mut self, i: usize) -> Duration {
        let started = Instant::now();
        let process = &mut self.processes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&process.log)
            .expect("a log file");
        let seen = log.metadata().map_or(0, |m| m.len() as usize);
        let bind = format!("127.0.0.1:{}", process.port);
        let child = Command::new(&self.bin)
            .env_clear()
            .env("PAIRSYNC_BIND", &bind)
            .env("DATABASE_URL", &self.url)
            .env("RUST_LOG", "warn,pairsync::startup=info")
            .env("PAIRSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("PAIRSYNC_TRUSTED_PROXIES", "127.0.0.1")
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the server binary starts");
        process.child = Some(child);
        let wanted = format!("listening on http://{bind}");
        loop {
            let text = std::fs::read(&process.log).unwrap_or_default();
            let said = String::from_utf8_lossy(text.get(seen..).unwrap_or_default()).to_string();
            let id = said
                .split_once("process id ")
                .and_then(|(_, rest)| rest.split_whitespace().next());
            if let (true, Some(id)) = (said.contains(&wanted), id) {
                process.id = Some(id.to_string());
                return started.elapsed();
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "process {i} did not start on {bind}: {}",
                String::from_utf8_lossy(&text)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `kill -9` process `i`; when (epoch µs).
    pub(super) fn kill(&mut self, i: usize) -> i64 {
        let at = now_us();
        if let Some(mut child) = self.processes[i].child.take() {
            child.kill().expect("kill -9");
            child.wait().expect("reaped");
        }
        if let (Some(id), Ok(mut names)) = (self.processes[i].id.take(), self.dead.names.lock()) {
            names.push(format!("pairsync-{id}"));
        }
        at
    }

    /// The base URL of process `i` itself (not through nginx).
    pub(super) fn direct(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.processes[i].port)
    }

    /// The last lines each process logged (for a failure's message).
    pub(super) fn log_tails(&self) -> String {
        let mut out = String::new();
        for (i, p) in self.processes.iter().enumerate() {
            let text = std::fs::read_to_string(&p.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- process {i} ({}):\n", p.port));
            for line in &lines[lines.len().saturating_sub(15)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut nginx) = self.nginx.take() {
            // SIGTERM: the master takes its workers with it.
            let _ = Command::new("kill")
                .args(["-TERM", &nginx.id().to_string()])
                .status();
            let _ = nginx.wait();
        }
        for p in &mut self.processes {
            if let Some(mut child) = p.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        postgres_admin(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
        );
    }
}
