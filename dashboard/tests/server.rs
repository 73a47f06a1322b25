//! The dashboard served over real TCP: `bind` on a free port, `serve` until its shutdown signal.

mod support;

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn bind_picks_a_free_loopback_port() {
    let store = support::demo_store().await;
    let (addr, server) = secuml_dashboard::bind(
        store,
        support::no_datasets(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    let server = tokio::spawn(server);
    let response = http_get(addr, "/api/projects").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"name\":\"Gaussians\""), "{response}");
    let response = http_get(addr, "/SecuML/1/").await;
    assert!(response.contains("DIADEM"), "{response}");
    server.abort();
}

#[tokio::test]
async fn serve_stops_on_shutdown() {
    let store = support::demo_store().await;
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(secuml_dashboard::serve(
        store,
        support::no_datasets(),
        addr,
        async move {
            let _ = stopped.await;
        },
    ));
    let mut response = String::new();
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            response = http_get(addr, "/").await;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(response.contains("Select a project"), "{response}");
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn binding_a_taken_port_is_an_error() {
    let store = support::demo_store().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = secuml_dashboard::bind(store, support::no_datasets(), taken.local_addr().unwrap())
        .await
        .err()
        .expect("port is taken");
    assert!(
        format!("{err:#}").contains("binding the dashboard"),
        "{err:#}"
    );
}
