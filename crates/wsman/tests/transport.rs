//! Transport behaviour against hand-rolled misbehaving HTTP servers on loopback: responses
//! over the size cap are refused (streamed or announced), and garbage or a 401 without a
//! challenge is an error naming the host, never a panic.

use std::sync::Arc;
use std::time::Duration;

use metal_wsman::{Client, Credentials, Endpoint, ErrorKind, Request, TransportOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one connection: reads the request head, then writes `reply` and optionally an
/// endless chunked body.
async fn serve_once(reply: &'static [u8], endless_chunks: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 65536];
        let _ = sock.read(&mut buf).await;
        let _ = sock.write_all(reply).await;
        if endless_chunks {
            let chunk = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
            while sock.write_all(chunk.as_bytes()).await.is_ok() {}
        }
    });
    port
}

fn client(port: u16, limit: usize) -> Client {
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port,
        tls: false,
    };
    let options = TransportOptions {
        max_response_bytes: limit,
        read_timeout: Duration::from_secs(5),
        ..TransportOptions::default()
    };
    Client::new(
        endpoint,
        Credentials {
            user: "admin".into(),
            password: "pw".into(),
        },
        Arc::new(options),
    )
}

#[tokio::test]
async fn endless_chunked_response_is_cut_at_the_cap() {
    let port = serve_once(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        true,
    )
    .await;
    let err = client(port, 1 << 20)
        .call(&Request::identify())
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::TooLarge(1048576)), "{err}");
    assert!(
        err.to_string().starts_with(&format!("127.0.0.1:{port}: ")),
        "{err}"
    );
}

#[tokio::test]
async fn announced_oversized_response_is_refused_before_reading() {
    let port = serve_once(
        b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n<",
        false,
    )
    .await;
    let err = client(port, 1 << 20)
        .call(&Request::identify())
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::TooLarge(_)), "{err}");
}

#[tokio::test]
async fn garbage_instead_of_http_is_a_connection_error() {
    let port = serve_once(b"\x00\xffSSH-2.0-nonsense\r\n\r\n", false).await;
    let err = client(port, 1 << 20)
        .call(&Request::identify())
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Connection(_)), "{err}");
}

#[tokio::test]
async fn unauthorized_without_a_challenge_is_reported() {
    let port = serve_once(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        false,
    )
    .await;
    let err = client(port, 1 << 20)
        .call(&Request::identify())
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Http { status: 401, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn non_soap_error_page_is_an_http_error_with_an_excerpt() {
    let port = serve_once(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 21\r\n\r\n<html>boom</html>\n\n\n\n", false).await;
    let err = client(port, 1 << 20)
        .call(&Request::identify())
        .await
        .unwrap_err();
    match err.kind {
        ErrorKind::Http {
            status: 500,
            ref detail,
        } => assert!(detail.contains("boom"), "{detail}"),
        ref other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = client(port, 1 << 20)
        .call(&Request::identify())
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Connect(_)), "{err}");
}
