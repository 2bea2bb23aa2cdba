//! Running one operation over many boards with bounded concurrency.
//!
//! Each board gets its own [`Amt`] session (one keep-alive connection, its own digest state);
//! requests to one board are sequential, boards run in parallel up to `concurrency` (amtc
//! uses a thread per host capped at a limit; we use tasks). Every host gets a result: a
//! failure on one never stops the others.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::StreamExt;
use metal_wsman::{Credentials, Stats, TransportOptions};

use crate::{Amt, Error, PowerPolicy, ports};

/// A boxed future borrowing the session, as fleet operations return.
pub type OpFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// One host's result and what it cost.
#[derive(Debug)]
pub struct HostRun<T> {
    pub host: String,
    pub result: Result<T, Error>,
    pub stats: Stats,
}

/// Settings shared by every session of a fleet operation.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub credentials: Credentials,
    pub transport: Arc<TransportOptions>,
    pub policy: PowerPolicy,
    /// Use TLS on 16993 instead of HTTP on 16992.
    pub tls: bool,
    /// Boards worked on at once.
    pub concurrency: usize,
}

impl Fleet {
    /// A session for one host.
    pub fn session(&self, host: &str) -> Amt {
        Amt::new(
            ports::wsman(host, self.tls),
            self.credentials.clone(),
            self.transport.clone(),
        )
        .with_policy(self.policy)
    }

    /// Runs `op` on every host; `on_done` sees each result as it completes (for progress).
    /// Results come back in the order of `hosts`.
    pub async fn run<T, F, P>(&self, hosts: &[String], op: F, mut on_done: P) -> Vec<HostRun<T>>
    where
        T: Send,
        F: for<'a> Fn(&'a mut Amt) -> OpFuture<'a, T> + Sync,
        P: FnMut(&HostRun<T>),
    {
        let op = &op;
        let mut results: Vec<Option<HostRun<T>>> = (0..hosts.len()).map(|_| None).collect();
        let mut stream = futures::stream::iter(hosts.iter().enumerate())
            .map(|(i, host)| async move {
                let mut amt = self.session(host);
                let result = op(&mut amt).await;
                (
                    i,
                    HostRun {
                        host: host.clone(),
                        result,
                        stats: amt.stats(),
                    },
                )
            })
            .buffer_unordered(self.concurrency.max(1));
        while let Some((i, run)) = stream.next().await {
            on_done(&run);
            results[i] = Some(run);
        }
        results.into_iter().flatten().collect()
    }
}
