//! Starting `powens serve` and talking to it over HTTP (the serve and replica tests).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Where the Webview's user is sent at the end (never contacted: the tests read the redirect).
pub const CLIENT_REDIRECT: &str = "https://app.example/linked";

/// A running `powens serve` process: where it listens and its bearer token.
pub trait Service {
    /// The absolute URL of `path` on the service.
    fn url(&self, path: &str) -> String;
    /// The `api_token` it printed.
    fn token(&self) -> &str;
}

/// A client that follows no redirect (the tests look at the `303`s themselves).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `(status, JSON body)` of a request with the service's bearer token.
pub async fn call(
    service: &impl Service,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http()
        .request(method, service.url(path))
        .bearer_auth(service.token());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, value)
}

/// The `Location` of a `303` answer to a GET of `url`.
pub async fn see_other(url: &str) -> String {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303, "GET {url}");
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// A running `powens serve` process, killed when dropped (if still running).
pub struct ServeProcess {
    pub child: Child,
    base: String,
    token: String,
    /// What the tests call it (replica name; in the stderr file's name).
    pub name: String,
    /// Every stdout line printed before `listening on`.
    pub banner: Vec<String>,
    stderr: PathBuf,
}

impl ServeProcess {
    /// Starts `powens serve --listen 127.0.0.1:0 args…` in `dir` (no `POWENS_SERVE_TOKEN`
    /// nor `POWENS_DATABASE_URL` from the test's environment, logs at `info` to
    /// `<name>-<nanos>.stderr`) and waits for its `listening on` line (60 s at most: a debug
    /// build on a loaded machine).
    pub fn start(dir: &Path, name: &str, args: &[&str]) -> ServeProcess {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let stderr = dir.join(format!("{name}-{nanos}.stderr"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_powens"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .env_remove("POWENS_SERVE_TOKEN")
            .env_remove("POWENS_DATABASE_URL")
            .env("POWENS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("the powens binary starts");
        let stdout = child.stdout.take().unwrap();
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    let done = line.starts_with("listening on ");
                    banner.push(line);
                    if done {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "{name}: no `listening on` line; stdout {banner:?}; stderr {}",
                        std::fs::read_to_string(&stderr).unwrap_or_default()
                    );
                }
            }
        }
        let base = banner
            .last()
            .and_then(|l| l.strip_prefix("listening on "))
            .unwrap()
            .to_owned();
        let token = banner
            .iter()
            .find_map(|l| l.strip_prefix("api_token="))
            .expect("an api_token= line")
            .to_owned();
        ServeProcess {
            child,
            base,
            token,
            name: name.to_owned(),
            banner,
            stderr,
        }
    }

    /// Sends SIGTERM and waits for the exit: returns the exit code and how long it took.
    pub fn terminate(&mut self) -> (Option<i32>, Duration) {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return (exit.code(), started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                panic!("{} still running 20 s after SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, and waits for the end.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// What it logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Service for ServeProcess {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Creates PSU `id` and links one bank through the Webview, as the README's curl session
/// does (the Webview sends the user to the service's `/callback`, which sends them on to
/// [`CLIENT_REDIRECT`]); returns the Powens user id.
pub async fn create_and_link(service: &impl Service, id: &str) -> u64 {
    let (status, created) = call(service, "POST", "/psus", Some(json!({ "id": id }))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], id);
    let (status, link) = call(
        service,
        "POST",
        &format!("/psus/{id}/links"),
        Some(json!({ "clientRedirectURL": CLIENT_REDIRECT })),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    assert!(link["attemptID"].as_str().unwrap().starts_with("att-"));
    let callback = see_other(link["url"].as_str().unwrap()).await;
    assert!(
        callback.starts_with(&service.url("/callback?")),
        "{callback}"
    );
    assert_eq!(see_other(&callback).await, CLIENT_REDIRECT);
    created["powensUserID"].as_str().unwrap().parse().unwrap()
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `limit`.
pub async fn eventually<T>(
    limit: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
