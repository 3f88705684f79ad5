//! A throwaway PostgreSQL server for benches and end-to-end tests: Debian's `initdb` and
//! `pg_ctl` (from `/usr/lib/postgresql/*/bin`, or `PG_BIN`) in a temporary directory on a free
//! loopback port. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's PostgreSQL programs (`PG_BIN` to choose), if installed.
pub fn pg_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL program, as `postgres` when we are root.
fn pg_command(bin: &Path, program: &str, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

/// A PostgreSQL server in a temporary directory, stopped on drop.
pub struct Server {
    bin: PathBuf,
    data: PathBuf,
    root: bool,
    _dir: tempfile::TempDir,
    port: u16,
}

impl Server {
    /// Starts one on a free loopback port, user `bench`, trust authentication.
    pub fn start(bin: &Path) -> Server {
        let root = is_root();
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("pg");
        let socket = dir.path().join("sock");
        std::fs::create_dir_all(&socket).expect("socket dir");
        if root {
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            // the postgres user must be able to reach the directory
            Command::new("chmod")
                .args(["755"])
                .arg(dir.path())
                .status()
                .expect("chmod");
        }
        let status = pg_command(bin, "initdb", root)
            .args([
                "-A",
                "trust",
                "-U",
                "bench",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb failed");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c shared_buffers=256MB -c work_mem=64MB -c fsync=off -c max_parallel_workers_per_gather=2",
            socket.display()
        );
        let status = pg_command(bin, "pg_ctl", root)
            .args(["-w", "-l"])
            .arg(dir.path().join("log"))
            .args(["-o", &options, "-D"])
            .arg(&data)
            .arg("start")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(status.success(), "pg_ctl start failed");
        Server {
            bin: bin.to_path_buf(),
            data,
            root,
            _dir: dir,
            port,
        }
    }

    /// Its address as a URL.
    pub fn url(&self) -> String {
        format!("postgres://bench@127.0.0.1:{}/postgres", self.port)
    }

    /// A connection.
    pub fn connect(&self) -> postgres::Client {
        postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=bench dbname=postgres",
                self.port
            ),
            postgres::NoTls,
        )
        .expect("connect to the bench PostgreSQL")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = pg_command(&self.bin, "pg_ctl", self.root)
            .args(["-m", "fast", "-w", "-D"])
            .arg(&self.data)
            .arg("stop")
            .stdout(std::process::Stdio::null())
            .status();
    }
}
