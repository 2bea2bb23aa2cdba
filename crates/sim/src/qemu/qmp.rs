//! A QEMU Machine Protocol client for the few commands a board needs (`system_reset`, `quit`)
//! and the `SHUTDOWN` event that says why a VM stopped.
//!
//! QMP (QEMU's docs/interop/qmp-spec.rst): the server greets with `{"QMP": {...}}`; the
//! client must send `qmp_capabilities` first ("capabilities negotiation" mode); then each
//! command `{"execute": NAME, "arguments": {...}}` gets exactly one `{"return": ...}` or
//! `{"error": {"class", "desc"}}`, and asynchronous `{"event": NAME, "data": ...}` messages
//! may come between them. Messages are JSON objects, one per line.
//!
//! Written here rather than taken from the `qapi` crate: that crate generates bindings for
//! QEMU's whole schema at build time, for two commands and one event.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The longest message accepted from QEMU; its own messages here are a few hundred bytes.
const MAX_MESSAGE: u64 = 1 << 20;
/// How long a command may take to be answered.
const COMMAND_DEADLINE: Duration = Duration::from_secs(10);

/// What went wrong talking to QEMU.
#[derive(Debug, thiserror::Error)]
pub(crate) enum QmpError {
    #[error("QMP socket {path}: {source}")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("QMP: {0}")]
    Io(#[from] std::io::Error),
    #[error("QMP: {0}")]
    Protocol(String),
    #[error("QMP command {command} failed: {desc}")]
    Command { command: String, desc: String },
}

/// A connected, negotiated monitor.
pub(crate) struct Qmp {
    writer: OwnedWriteHalf,
    replies: mpsc::Receiver<Result<Value, String>>,
    shutdown: watch::Receiver<Option<String>>,
    reader: JoinHandle<()>,
}

impl Qmp {
    /// Connects to the monitor socket at `path` (retrying until `patience` has passed, since
    /// QEMU creates it while it starts) and leaves capabilities negotiation.
    pub(crate) async fn connect(path: &Path, patience: Duration) -> Result<Self, QmpError> {
        let start = tokio::time::Instant::now();
        let stream = loop {
            match UnixStream::connect(path).await {
                Ok(s) => break s,
                Err(e) if start.elapsed() >= patience => {
                    return Err(QmpError::Connect {
                        path: path.display().to_string(),
                        source: e,
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let (read, writer) = stream.into_split();
        let mut read = BufReader::new(read);
        let greeting = read_message(&mut read).await?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::Protocol(format!("no greeting but {greeting}")));
        }
        let (reply_tx, replies) = mpsc::channel(4);
        let (shutdown_tx, shutdown) = watch::channel(None);
        let reader = tokio::spawn(pump(read, reply_tx, shutdown_tx));
        let mut qmp = Self {
            writer,
            replies,
            shutdown,
            reader,
        };
        qmp.execute("qmp_capabilities").await?;
        Ok(qmp)
    }

    /// Runs a command without arguments and returns its `return` value.
    pub(crate) async fn execute(&mut self, command: &str) -> Result<Value, QmpError> {
        let mut line = json!({ "execute": command }).to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await?;
        let reply = tokio::time::timeout(COMMAND_DEADLINE, self.replies.recv())
            .await
            .map_err(|_| {
                QmpError::Protocol(format!("{command}: no answer in {COMMAND_DEADLINE:?}"))
            })?
            .ok_or_else(|| QmpError::Protocol(format!("{command}: the monitor closed")))?;
        reply.map_err(|desc| QmpError::Command {
            command: command.to_string(),
            desc,
        })
    }

    /// Waits (at most `patience`) for QEMU to close the monitor, i.e. to exit, and returns the
    /// reason of the last `SHUTDOWN` event (`guest-reset`, `guest-shutdown`,
    /// `host-qmp-quit`, ...), if one came.
    pub(crate) async fn closed(mut self, patience: Duration) -> Option<String> {
        let _ = tokio::time::timeout(patience, &mut self.reader).await;
        self.reader.abort();
        self.shutdown.borrow().clone()
    }
}

/// Reads messages until the socket closes: replies go to the waiting command, `SHUTDOWN`
/// reasons are kept, other events are ignored.
async fn pump(
    mut read: BufReader<OwnedReadHalf>,
    replies: mpsc::Sender<Result<Value, String>>,
    shutdown: watch::Sender<Option<String>>,
) {
    while let Ok(message) = read_message(&mut read).await {
        if let Some(event) = message.get("event").and_then(Value::as_str) {
            if event == "SHUTDOWN" {
                let reason = message
                    .pointer("/data/reason")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                shutdown.send_replace(Some(reason.to_string()));
            }
        } else if let Some(value) = message.get("return") {
            let _ = replies.send(Ok(value.clone())).await;
        } else if let Some(error) = message.get("error") {
            let desc = error
                .get("desc")
                .and_then(Value::as_str)
                .unwrap_or("no description");
            let _ = replies.send(Err(desc.to_string())).await;
        }
    }
}

/// One message: a line of at most [`MAX_MESSAGE`] bytes holding a JSON object.
async fn read_message(read: &mut BufReader<OwnedReadHalf>) -> Result<Value, QmpError> {
    let mut line = Vec::new();
    let n = (&mut *read)
        .take(MAX_MESSAGE)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Err(QmpError::Protocol("the monitor closed".into()));
    }
    if !line.ends_with(b"\n") {
        return Err(QmpError::Protocol(format!(
            "a message longer than {MAX_MESSAGE} bytes"
        )));
    }
    let value: Value =
        serde_json::from_slice(&line).map_err(|e| QmpError::Protocol(format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(QmpError::Protocol(format!("not an object: {value}")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    /// A monitor that greets, answers `qmp_capabilities`, then plays `script` (one line per
    /// command it reads, events first), then closes.
    async fn monitor(path: &Path, script: Vec<&'static str>) -> JoinHandle<Vec<String>> {
        let listener = UnixListener::bind(path).unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            write
                .write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
                .await
                .unwrap();
            let mut seen = Vec::new();
            let mut answers = std::collections::VecDeque::from(script);
            answers.push_front("{\"return\": {}}\n");
            while let Ok(Some(line)) = lines.next_line().await {
                seen.push(line);
                let Some(answer) = answers.pop_front() else {
                    break;
                };
                write.write_all(answer.as_bytes()).await.unwrap();
                if answers.is_empty() {
                    break;
                }
            }
            seen
        })
    }

    #[tokio::test]
    async fn commands_get_their_answer_past_events_and_the_shutdown_reason_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmp.sock");
        let server = monitor(
            &path,
            vec![
                "{\"event\": \"RESET\", \"data\": {\"guest\": false}}\n{\"return\": {}}\n",
                "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such thing\"}}\n",
                "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}\n",
            ],
        )
        .await;
        let mut qmp = Qmp::connect(&path, Duration::from_secs(5)).await.unwrap();
        assert_eq!(qmp.execute("system_reset").await.unwrap(), json!({}));
        let err = qmp.execute("bogus").await.unwrap_err();
        assert!(
            err.to_string().contains("bogus failed: no such thing"),
            "{err}"
        );
        // The last command gets no answer: the monitor sends the event and closes.
        let _ = qmp.writer.write_all(b"{\"execute\": \"cont\"}\n").await;
        let seen = server.await.unwrap();
        assert_eq!(seen[0], r#"{"execute":"qmp_capabilities"}"#);
        assert_eq!(seen[1], r#"{"execute":"system_reset"}"#);
        assert_eq!(
            qmp.closed(Duration::from_secs(5)).await.as_deref(),
            Some("guest-reset")
        );
    }

    #[tokio::test]
    async fn a_silent_or_foreign_server_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.sock");
        let err = Qmp::connect(&path, Duration::from_millis(100))
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("none.sock"), "{err}");
        let listener = UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"{\"hello\": 1}\n").await.unwrap();
        });
        let err = Qmp::connect(&path, Duration::from_secs(5))
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("no greeting"), "{err}");
    }
}
