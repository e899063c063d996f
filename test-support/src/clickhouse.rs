//! A ClickHouse server (Debian's `clickhouse-server`) on a loopback port with its data in
//! a directory of the test's, killed on drop. Tests query it with the `clickhouse` crate.
use std::{
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Where Debian installs the server.
pub const SERVER: &str = "/usr/sbin/clickhouse-server";

/// What went wrong starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// Its files or process could not be made.
    #[error("starting {SERVER}: {0}")]
    Start(#[from] std::io::Error),
    /// It did not answer in time.
    #[error("{SERVER} did not answer on {0} within 60 s")]
    Silent(String),
}

/// A running server, killed on drop.
pub struct ClickHouseServer {
    child: Option<Child>,
    config: PathBuf,
    port: u16,
    /// Its HTTP interface, `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its HTTPS interface, `https://127.0.0.1:PORT`, when started with a certificate.
    pub https_url: Option<String>,
}

impl ClickHouseServer {
    /// Starts a server with its configuration and data under `dir`, and waits until its
    /// HTTP port takes connections (queries go through the `clickhouse` crate).
    ///
    /// # Errors
    /// The server cannot start or does not answer.
    pub fn start(dir: &Path) -> Result<Self, ClickHouseError> {
        Self::start_with(dir, None)
    }

    /// As [`Self::start`], also serving HTTPS with the certificate chain `cert` and its
    /// key `key` (PEM files).
    ///
    /// # Errors
    /// The server cannot start or does not answer.
    pub fn start_tls(dir: &Path, cert: &Path, key: &Path) -> Result<Self, ClickHouseError> {
        Self::start_with(dir, Some((cert, key)))
    }

    fn start_with(dir: &Path, tls: Option<(&Path, &Path)>) -> Result<Self, ClickHouseError> {
        let port = crate::free_loopback_address()?.port();
        let https_port = match tls {
            Some(_) => Some(crate::free_loopback_address()?.port()),
            None => None,
        };
        let https = match (tls, https_port) {
            (Some((cert, key)), Some(p)) => format!(
                "<https_port>{p}</https_port><openSSL><server><certificateFile>{}</certificateFile>\
                 <privateKeyFile>{}</privateKeyFile><verificationMode>none</verificationMode>\
                 <loadDefaultCAFile>false</loadDefaultCAFile></server></openSSL>",
                cert.display(),
                key.display()
            ),
            _ => String::new(),
        };
        let path = |p: &str| -> PathBuf { dir.join(p) };
        std::fs::create_dir_all(path("data"))?;
        std::fs::create_dir_all(path("tmp"))?;
        std::fs::write(
            path("users.xml"),
            "<yandex><profiles><default></default></profiles><users><default><password></password>\
             <networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota>\
             </default></users><quotas><default></default></quotas></yandex>\n",
        )?;
        std::fs::write(
            path("config.xml"),
            format!(
                "<yandex><logger><level>warning</level><console>1</console></logger>\
                 <http_port>{port}</http_port>{https}<listen_host>127.0.0.1</listen_host>\
                 <path>{}/</path><tmp_path>{}/</tmp_path><users_config>{}</users_config>\
                 <mark_cache_size>1073741824</mark_cache_size></yandex>\n",
                path("data").display(),
                path("tmp").display(),
                path("users.xml").display()
            ),
        )?;
        let mut server = Self {
            child: None,
            config: path("config.xml"),
            port,
            url: format!("http://127.0.0.1:{port}"),
            https_url: https_port.map(|p| format!("https://127.0.0.1:{p}")),
        };
        server.restart()?;
        Ok(server)
    }

    /// Kills the server (a crash, as far as its clients can tell); its data stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data (after [`Self::stop`]), and waits
    /// until it takes connections.
    ///
    /// # Errors
    /// The server cannot start or does not answer.
    pub fn restart(&mut self) -> Result<(), ClickHouseError> {
        self.stop();
        let child = Command::new(SERVER)
            .arg(format!("--config-file={}", self.config.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(ClickHouseError::Silent(self.url.clone()))
    }
}

impl Drop for ClickHouseServer {
    fn drop(&mut self) {
        self.stop();
    }
}
