//! A distant database on one machine: a TCP proxy that delays every chunk,
//! in each direction, by a fixed time. It is a delay line, not a rate
//! limiter: each chunk is stamped when it is read and written out at that
//! time plus the delay, in order, so pipelined traffic still flows at full
//! rate, only later.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Chunks in flight per direction before the reader waits: at 64 KiB a
/// chunk, far more than any link this stands for carries in the delay.
const CHUNKS_IN_FLIGHT: usize = 4096;

/// Largest chunk read at once.
const CHUNK_BYTES: usize = 64 * 1024;

/// A running proxy; dropping it stops it and cuts its connections.
#[derive(Debug)]
pub struct DelayProxy {
    pub addr: SocketAddr,
    pub delay: Duration,
    task: JoinHandle<()>,
}

impl DelayProxy {
    /// Listens on a free loopback port and forwards each connection to
    /// `upstream`, delaying each direction by `delay`.
    pub async fn start(upstream: SocketAddr, delay: Duration) -> std::io::Result<DelayProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // Dropped with the accept loop, which aborts every connection.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        connections.spawn(forward(client, upstream, delay));
                    }
                    // Reap finished connections so the set stays small.
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(DelayProxy { addr, delay, task })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(client: TcpStream, upstream: SocketAddr, delay: Duration) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    // The delay is the point; Nagle would add its own on top.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        delay_line(client_read, server_write, delay),
        delay_line(server_read, client_write, delay),
    );
}

/// Copies `from` to `to`, each chunk written `delay` after it was read.
async fn delay_line(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration) {
    let (sender, mut receiver) = mpsc::channel::<(Instant, Vec<u8>)>(CHUNKS_IN_FLIGHT);
    let reader = async move {
        let mut buffer = vec![0u8; CHUNK_BYTES];
        loop {
            match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due = Instant::now() + delay;
                    if sender.send((due, buffer[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping the sender ends the writer once it has sent the rest.
    };
    let writer = async move {
        while let Some((due, chunk)) = receiver.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        // Pass the end of the stream on, delayed like the data before it.
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on a free port that answers every byte it reads.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for _ in 0..4 {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn each_direction_is_delayed_at_least_the_delay() {
        let delay = Duration::from_millis(50);
        // A server that notes when the byte reached it, then answers it.
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let upstream = listener.local_addr().unwrap();
        let (arrived_tx, arrived_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.unwrap();
            let _ = arrived_tx.send(std::time::Instant::now());
            stream.write_all(&byte).await.unwrap();
        });
        let proxy = DelayProxy::start(upstream, delay).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
        let sent = std::time::Instant::now();
        stream.write_all(b"x").await.unwrap();
        let mut answer = [0u8; 1];
        stream.read_exact(&mut answer).await.unwrap();
        let answered = std::time::Instant::now();
        let arrived = arrived_rx.await.unwrap();
        assert_eq!(&answer, b"x");
        assert!(
            arrived - sent >= delay,
            "to the server: {:?}",
            arrived - sent
        );
        assert!(
            answered - arrived >= delay,
            "back to the client: {:?}",
            answered - arrived
        );
    }

    #[tokio::test]
    async fn bytes_come_back_whole_and_in_order_both_ways() {
        let proxy = DelayProxy::start(echo_server().await, Duration::from_millis(5))
            .await
            .unwrap();
        let stream = TcpStream::connect(proxy.addr).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        // More than a socket buffer, in many writes, so it travels as many
        // chunks through both directions of the proxy.
        let sent: Vec<u8> = (0..2_000_000u32).map(|n| (n % 251) as u8).collect();
        let to_send = sent.clone();
        let writer = tokio::spawn(async move {
            for piece in to_send.chunks(10_000) {
                write.write_all(piece).await.unwrap();
            }
            write.shutdown().await.unwrap();
        });
        let mut received = Vec::new();
        read.read_to_end(&mut received).await.unwrap();
        writer.await.unwrap();
        assert_eq!(received.len(), sent.len());
        assert!(received == sent, "the bytes changed or lost their order");
    }
}
