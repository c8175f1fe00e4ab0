//! The private PostgreSQL cluster used when no `DATABASE_URL` is given, and by the test suite.
//!
//! The cluster lives in one folder; the server listens only on a Unix socket in that same folder,
//! so nothing else on the machine can reach it over TCP. When we run as root, `initdb` and
//! `postgres` run as the `postgres` user, because PostgreSQL refuses to run as root.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::fcntl::{Flock, FlockArg};

use sqlx::postgres::PgConnectOptions;

/// Why the embedded cluster could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or in \
         /usr/lib/postgresql/*/bin: install them (Debian/Ubuntu: `apt-get install postgresql`) \
         or set DATABASE_URL"
    )]
    NoBinaries,
    #[error("running as root but there is no `postgres` user to run the cluster as: create it (`useradd --system postgres`) or set DATABASE_URL")]
    NoPostgresUser,
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Extra server settings for a cluster; tests trade durability for speed.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// `-c name=value` settings passed to the server.
    pub settings: Vec<(String, String)>,
}

impl ClusterOptions {
    /// Settings for the platform's own cluster: PostgreSQL's defaults but for its shared
    /// buffers, which the stock 128 MB sizes for a small shared machine. A quarter of the
    /// machine's memory (PostgreSQL's advice for a dedicated server), between 128 MB and 1 GB:
    /// an auction of 100,000 orders settles in a third less time with them (`bench/README.md`).
    pub fn for_server() -> Self {
        let mib = physical_memory_mib().map_or(128, |total| (total / 4).clamp(128, 1024));
        Self {
            settings: vec![("shared_buffers".to_owned(), format!("{mib}MB"))],
        }
    }

    /// Settings for throw-away test clusters: no fsync, many connections.
    pub fn for_tests() -> Self {
        let settings = [
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
            ("max_connections", "400"),
            ("shared_buffers", "128MB"),
        ];
        Self {
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }
}

/// The machine's memory in MiB, where the system says (`/proc/meminfo`).
fn physical_memory_mib() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// A running private cluster, shared by every Zhonglian process using the same folder.
///
/// Two lock files sit beside the cluster folder (`pg.start.lock` and `pg.users.lock` for
/// `data/pg`): a process holds the start lock while it checks, initialises or starts the
/// cluster, so two processes starting at once never both run `initdb` or `pg_ctl start`; and
/// every handle holds a shared lock on the users file for as long as it lives, so the process
/// that started the cluster can tell whether anyone else still uses it before stopping it.
#[derive(Debug, Clone)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    run_as: Option<String>,
    options: ClusterOptions,
    /// Whether this process started the cluster (or adopted one nobody was using); shared by
    /// the handle's clones, so a restart by the watcher makes the whole process the owner.
    started_here: Arc<AtomicBool>,
    /// Our shared lock on the users file, released when the last clone is dropped (none for
    /// handles from [`Cluster::existing`]).
    users: Option<Arc<Flock<File>>>,
}

/// The port only names the socket file (`.s.PGSQL.5432`); the server does not listen on TCP.
const PORT: u16 = 5432;

impl Cluster {
    /// Initialises the cluster in `dir` if needed, and starts it unless it is already running.
    ///
    /// A cluster found running belongs to whoever started it, and this handle will not stop it
    /// ([`Cluster::started_here`] is false); except that a cluster no other Zhonglian process
    /// is using (left behind by a server that was killed) is adopted, so that it is stopped
    /// again when this process is done with it.
    pub fn start(dir: &Path, options: &ClusterOptions) -> Result<Self, EmbeddedError> {
        std::fs::create_dir_all(dir)?;
        let dir = std::fs::canonicalize(dir)?;
        let _start = hold(lock_file(&dir, "start")?, FlockArg::LockExclusive)?;
        let mut cluster = Self::handle(&dir, options)?;
        if let Some(user) = &cluster.run_as {
            let user = nix::unistd::User::from_name(user)
                .ok()
                .flatten()
                .ok_or(EmbeddedError::NoPostgresUser)?;
            // Only the cluster folder is handed over; the checkout around it stays ours.
            nix::unistd::chown(&cluster.dir, Some(user.uid), Some(user.gid))
                .map_err(|e| EmbeddedError::Io(e.into()))?;
        }
        if !cluster.dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        // Nobody else holding the users lock means nobody else uses a running cluster.
        let users = lock_file(&cluster.dir, "users")?;
        let (users, alone) = match Flock::lock(users, FlockArg::LockExclusiveNonblock) {
            Ok(exclusive) => (exclusive, true),
            Err((users, _)) => (hold(users, FlockArg::LockShared)?, false),
        };
        if !cluster.is_running() {
            cluster.pg_ctl_start()?;
            cluster.started_here.store(true, Ordering::SeqCst);
        } else if alone {
            tracing::info!(dir = %cluster.dir.display(), "adopting an embedded PostgreSQL nobody is using");
            cluster.started_here.store(true, Ordering::SeqCst);
        }
        // Downgrade to a shared lock before the start lock goes and others may look.
        users
            .relock(FlockArg::LockShared)
            .map_err(std::io::Error::from)?;
        cluster.users = Some(Arc::new(users));
        Ok(cluster)
    }

    /// A handle on the cluster folder `dir` that neither starts the cluster nor counts as one
    /// of its users: for tools and tests that only look at it or clean it up.
    pub fn existing(dir: &Path) -> Result<Self, EmbeddedError> {
        Self::handle(&std::fs::canonicalize(dir)?, &ClusterOptions::default())
    }

    fn handle(dir: &Path, options: &ClusterOptions) -> Result<Self, EmbeddedError> {
        let bin = find_binaries()?;
        let run_as = if nix::unistd::geteuid().is_root() {
            Some("postgres".to_owned())
        } else {
            None
        };
        Ok(Self {
            dir: dir.to_owned(),
            bin,
            run_as,
            options: options.clone(),
            started_here: Arc::new(AtomicBool::new(false)),
            users: None,
        })
    }

    /// Whether this process started the cluster, and so is the one to stop it.
    pub fn started_here(&self) -> bool {
        self.started_here.load(Ordering::SeqCst)
    }

    /// Starts the cluster again if it is not running (the server's watcher calls this when the
    /// postmaster has gone). Returns whether it had to be started.
    pub fn ensure_running(&self) -> Result<bool, EmbeddedError> {
        let _start = hold(lock_file(&self.dir, "start")?, FlockArg::LockExclusive)?;
        if self.is_running() {
            return Ok(false);
        }
        self.pg_ctl_start()?;
        self.started_here.store(true, Ordering::SeqCst);
        Ok(true)
    }

    /// Whether the postmaster named in `postmaster.pid` is alive: cheap enough to ask every
    /// second, unlike `pg_ctl status`.
    pub fn postmaster_alive(&self) -> bool {
        self.postmaster_pid()
            .is_some_and(|pid| match nix::sys::signal::kill(pid, None) {
                Ok(()) => true,
                Err(errno) => errno == nix::errno::Errno::EPERM,
            })
    }

    /// The postmaster's process id, from the first line of `postmaster.pid`.
    pub fn postmaster_pid(&self) -> Option<nix::unistd::Pid> {
        let text = std::fs::read_to_string(self.dir.join("postmaster.pid")).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        (pid > 0).then(|| nix::unistd::Pid::from_raw(pid))
    }

    /// Stops the cluster if this process started it and no other Zhonglian process uses it;
    /// otherwise leaves it running. Returns whether it was stopped.
    pub fn stop_if_ours(self) -> Result<bool, EmbeddedError> {
        if !self.started_here() {
            return Ok(false);
        }
        let _start = hold(lock_file(&self.dir, "start")?, FlockArg::LockExclusive)?;
        // Turning our shared lock into an exclusive one succeeds only when we are alone.
        if let Some(users) = &self.users {
            if users.relock(FlockArg::LockExclusiveNonblock).is_err() {
                users
                    .relock(FlockArg::LockShared)
                    .map_err(std::io::Error::from)?;
                return Ok(false);
            }
        }
        self.stop()?;
        Ok(true)
    }

    /// The cluster's folder (also the folder of its Unix socket).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Connection options for `database` as the cluster's superuser, over the Unix socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.dir)
            .port(PORT)
            .username(&self.superuser())
            .database(database)
    }

    /// A libpq connection string, for `psql` and `pgbench`.
    pub fn libpq_url(&self, database: &str) -> String {
        format!(
            "postgresql://{}@/{}?host={}&port={}",
            self.superuser(),
            database,
            self.dir.display(),
            PORT
        )
    }

    fn superuser(&self) -> String {
        match &self.run_as {
            Some(user) => user.clone(),
            None => std::env::var("USER").unwrap_or_else(|_| "postgres".into()),
        }
    }

    /// Stops the server (fast shutdown: running transactions are rolled back).
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        self.run(
            "pg_ctl stop",
            self.tool("pg_ctl")
                .arg("stop")
                .arg("-D")
                .arg(&self.dir)
                .args(["-m", "fast", "-w"]),
        )
    }

    /// Asks a detached watcher to stop the server and delete its folder once process `pid` has
    /// exited. Throw-away test clusters use it so that no server outlives the test run.
    pub fn stop_and_remove_after(&self, pid: u32) -> Result<(), EmbeddedError> {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}; rm -rf '{dir}'",
            stop = self.shell_command("pg_ctl", &["stop", "-m", "immediate", "-D"]),
            dir = self.dir.display(),
        );
        // `setsid -f` forks the watcher into its own session and returns at once.
        let status = Command::new("setsid")
            .args(["-f", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(EmbeddedError::Step {
                step: "setsid",
                detail: status.to_string(),
            })
        }
    }

    fn shell_command(&self, tool: &str, args: &[&str]) -> String {
        let program = self.bin.join(tool);
        let mut words = Vec::new();
        if let Some(user) = &self.run_as {
            words.extend([
                "runuser".to_owned(),
                "-u".to_owned(),
                user.clone(),
                "--".to_owned(),
            ]);
        }
        words.push(program.display().to_string());
        words.extend(args.iter().map(|a| (*a).to_owned()));
        words.push(format!("'{}'", self.dir.display()));
        words.join(" ")
    }

    fn is_running(&self) -> bool {
        self.tool("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    fn initdb(&self) -> Result<(), EmbeddedError> {
        self.run(
            "initdb",
            self.tool("initdb")
                .arg("-D")
                .arg(&self.dir)
                .args(["-U", &self.superuser()])
                .args(["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]),
        )
    }

    fn pg_ctl_start(&self) -> Result<(), EmbeddedError> {
        let options = &self.options;
        let mut server_options = format!(
            "-k '{}' -p {PORT} -c listen_addresses='' -c unix_socket_permissions=0700",
            self.dir.display()
        );
        for (name, value) in &options.settings {
            server_options.push_str(&format!(" -c {name}={value}"));
        }
        let log = self.dir.join("server.log");
        self.run(
            "pg_ctl start",
            self.tool("pg_ctl")
                .arg("start")
                .arg("-D")
                .arg(&self.dir)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o", &server_options]),
        )
    }

    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }

    fn run(&self, step: &'static str, cmd: &mut Command) -> Result<(), EmbeddedError> {
        let output = cmd.stdin(Stdio::null()).output()?;
        if output.status.success() {
            return Ok(());
        }
        let mut detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        if detail.is_empty() {
            detail = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        }
        if step == "pg_ctl start" {
            if let Ok(log) = std::fs::read_to_string(self.dir.join("server.log")) {
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                detail.push_str(" | server log: ");
                detail.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join(" / "));
            }
        }
        Err(EmbeddedError::Step { step, detail })
    }
}

/// Takes `lock` on `file`, waiting for it unless the argument says not to.
fn hold(file: File, lock: FlockArg) -> Result<Flock<File>, EmbeddedError> {
    Flock::lock(file, lock).map_err(|(_, errno)| EmbeddedError::Io(errno.into()))
}

/// Opens (creating it if needed) the lock file `<dir>.<purpose>.lock` beside the cluster
/// folder: inside it would stop `initdb`, which wants an empty folder.
fn lock_file(dir: &Path, purpose: &str) -> Result<File, EmbeddedError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pg".into());
    let path = dir.with_file_name(format!("{name}.{purpose}.lock"));
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?)
}

/// The folder holding `initdb`, `pg_ctl` and `postgres`: `PATH` first, then the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn find_binaries() -> Result<PathBuf, EmbeddedError> {
    find_binaries_in(std::env::var_os("PATH"), Path::new("/usr/lib/postgresql"))
}

fn find_binaries_in(
    path: Option<std::ffi::OsString>,
    versioned_root: &Path,
) -> Result<PathBuf, EmbeddedError> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|t| dir.join(t).is_file())
    };
    if let Some(path) = path {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_all(d)) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(versioned_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_all(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or(EmbeddedError::NoBinaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_name_the_package_to_install() {
        let empty = std::env::temp_dir().join(format!("zl-no-pg-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let err = find_binaries_in(Some(empty.clone().into_os_string()), &empty).unwrap_err();
        let line = err.to_string();
        assert!(line.contains("apt-get install postgresql"), "{line}");
        assert!(!line.contains('\n'), "one line");
        std::fs::remove_dir_all(&empty).ok();
    }

    #[test]
    fn the_newest_versioned_folder_is_chosen() {
        let root = std::env::temp_dir().join(format!("zl-pg-versions-{}", std::process::id()));
        for version in ["13", "15"] {
            let bin = root.join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            for tool in ["initdb", "pg_ctl", "postgres"] {
                std::fs::write(bin.join(tool), "").unwrap();
            }
        }
        let found = find_binaries_in(None, &root).unwrap();
        assert_eq!(found, root.join("15").join("bin"));
        std::fs::remove_dir_all(&root).ok();
    }
}
