//! A real SMTP server for the mail tests: Debian's aiosmtpd (`python3-aiosmtpd`) in its own
//! process, writing every message it receives into a Maildir that the tests read back.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestApp;

/// The Python that has aiosmtpd: Debian's, whatever `python3` is first on `PATH`.
const PYTHON: &str = "/usr/bin/python3";

/// One message the server received.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
}

/// An SMTP server process on a port of its own, stopped when dropped.
pub struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    process: Option<Child>,
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SmtpServer {
    /// Starts a server with an empty Maildir and waits until it accepts connections.
    pub fn start() -> SmtpServer {
        let maildir = std::env::temp_dir().join(format!("zhonglian-mail-{}", uuid::Uuid::new_v4()));
        let mut server = SmtpServer {
            port: free_port(),
            maildir,
            process: None,
        };
        server.start_again();
        server
    }

    /// The `SMTP_URL` of this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the server (connections to its port are refused until [`Self::start_again`]).
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts the server again on the same port, keeping what it received.
    pub fn start_again(&mut self) {
        assert!(self.process.is_none(), "the SMTP server is running");
        let process = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (apt-get install python3-aiosmtpd)");
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every message received so far, in no particular order.
    pub fn received(&self) -> Vec<Mail> {
        let mut mails = Vec::new();
        for folder in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(folder)) else {
                continue;
            };
            for entry in entries.flatten() {
                if let Some(mail) = read_mail(&entry.path()) {
                    mails.push(mail);
                }
            }
        }
        mails
    }

    /// The messages to `address`, once at least `n` have arrived (at most 30 s).
    pub async fn wait_for(&self, address: &str, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mails: Vec<Mail> = self
                .received()
                .into_iter()
                .filter(|m| m.to.contains(address))
                .collect();
            if mails.len() >= n {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} messages to {address} arrived",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A Maildir file, parsed (headers decoded, body in its charset).
fn read_mail(path: &Path) -> Option<Mail> {
    let raw = std::fs::read(path).ok()?;
    let parsed = mailparse::parse_mail(&raw).ok()?;
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case(name))
            .map(mailparse::MailHeader::get_value)
            .unwrap_or_default()
    };
    Some(Mail {
        to: header("To"),
        subject: header("Subject"),
        message_id: header("Message-ID"),
        body: parsed.get_body().ok()?,
    })
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

impl TestApp {
    /// Starts an app whose e-mail goes to `smtp`, with its outbox sender running.
    pub async fn spawn_with_mail(smtp: &SmtpServer) -> TestApp {
        Self::spawn_with_mail_and(smtp, |_| {}).await
    }

    /// As [`Self::spawn_with_mail`], with the test settings changed by `adjust`.
    pub async fn spawn_with_mail_and(
        smtp: &SmtpServer,
        adjust: impl FnOnce(&mut zhonglian::config::Settings),
    ) -> TestApp {
        let url = smtp.url();
        let app = Self::spawn_with(|s| {
            s.smtp_url = Some(url.into());
            adjust(s);
        })
        .await;
        let mailer = zhonglian::notify::mailer::from_settings(&app.state.settings)
            .expect("mailer")
            .expect("an SMTP mailer");
        let sender = zhonglian::notify::sender::Sender::new(app.db.clone(), mailer);
        tokio::spawn(sender.run(Duration::from_millis(100)));
        app
    }
}
