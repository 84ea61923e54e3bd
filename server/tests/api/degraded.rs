//! A web node whose broker and Redis are away: it starts, stays ready,
//! serves pages and registrations (rate limits counted in the process), and
//! the live parts say they are unavailable instead of failing obscurely.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{client, env_or, fns, link_token, spawn_with, test_settings, Workers};

/// A TCP line to a server that the test can cut: the stand-in for a Redis
/// that goes away (the shared Redis of the other tests stays up).
struct Line {
    addr: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Line {
    async fn to(upstream: SocketAddr) -> Line {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let conns = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                conns.lock().unwrap().push(conn);
            }
        });
        tasks.lock().unwrap().push(accept);
        Line { addr, tasks }
    }

    /// Drops every connection and stops accepting new ones.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test]
async fn without_its_broker_and_redis_a_web_node_serves_pages_and_registrations() {
    let redis_url = env_or("CONVENE_TEST_REDIS_URL", "redis://127.0.0.1:6379");
    let upstream: SocketAddr = redis_url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse()
        .expect("CONVENE_TEST_REDIS_URL as redis://host:port");
    let line = Line::to(upstream).await;
    let mut settings = test_settings().await;
    settings.redis_url = format!("redis://{}", line.addr);
    // No broker listens on the discard port: a web node starts all the same.
    settings.kafka.as_mut().unwrap().brokers = "127.0.0.1:9".into();
    let app = spawn_with(settings, Workers::NONE).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, body) = app.register(&slug, "first@example.org").await;
    assert_eq!(s, 200, "{body}");
    let (attendee, _) = app.sign_in(&slug, &link_token(&body)).await;

    line.cut();
    let res = client()
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the node can still serve");
    let ready: serde_json::Value = res.json().await.unwrap();
    assert_eq!(ready["database"], "ok", "{ready}");
    assert_eq!(ready["redis"], "unavailable", "{ready}");
    assert_eq!(ready["bus"], "unavailable", "{ready}");
    assert_eq!(ready["degraded"], true, "{ready}");

    // Registration needs neither (its rate limits are counted in the process).
    let (s, body) = app.register(&slug, "second@example.org").await;
    assert_eq!(s, 200, "{body}");
    let (s, page) = app
        .call::<fns::PublicEvent>(&client(), &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "{page}");

    // The live event says why it cannot open.
    let (s, b) = app
        .call::<fns::Reception>(&attendee, &[("slug", &slug)])
        .await;
    assert_eq!(s, 503, "{b}");
    assert_eq!(
        b["message"],
        "the live part of the event is unavailable right now; please try again in a minute"
    );
}
