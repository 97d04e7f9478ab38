//! Clients that trickle their request (slowloris) are cut off, and do not
//! keep the service from answering others.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, Database, Service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_headers_is_cut_off_after_the_header_read_timeout() {
    let database = Database::new(Backend::Sqlite).await;
    let service = Service::start(&database, &["--header-read-timeout-ms", "500"]).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(service.addr()).await.unwrap();
    stream
        .write_all(b"GET /api/todo HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Keep trickling a header byte at a time, never finishing the head.
    let mut closed = false;
    for _ in 0..40 {
        if stream.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut buffer = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => {
                // An error answer (408) before the close is fine too.
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "the slow client was not cut off within 4 s");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // Others are served meanwhile and after.
    assert_eq!(service.client().get("/health").await.status.as_u16(), 200);
}
