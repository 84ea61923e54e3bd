//! Presence against a real Redis: counting, multiple tabs, expiry.

use futures::StreamExt;
use protocol::ids::{AttendeeId, ConnectionId, EventId};
use protocol::live::AreaCount;
use protocol::Area;
use redis::aio::ConnectionManager;
use services::live::presence;

async fn redis() -> ConnectionManager {
    let url =
        std::env::var("CONVENE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    ConnectionManager::new(redis::Client::open(url).unwrap())
        .await
        .expect("Redis")
}

#[tokio::test]
async fn counts_distinct_attendees_and_forgets_expired_connections() {
    let mut r = redis().await;
    let event = EventId::new();
    let (a, b) = (AttendeeId::new(), AttendeeId::new());
    let (a1, a2, b1) = (
        ConnectionId::new(),
        ConnectionId::new(),
        ConnectionId::new(),
    );
    assert_eq!(presence::count(&mut r, event).await.unwrap(), 0);
    assert_eq!(
        presence::touch(&mut r, event, a, a1, None).await.unwrap(),
        1
    );
    assert_eq!(
        presence::touch(&mut r, event, a, a2, None).await.unwrap(),
        1,
        "two tabs, one person"
    );
    assert_eq!(
        presence::touch(&mut r, event, b, b1, None).await.unwrap(),
        2
    );
    assert_eq!(
        presence::leave(&mut r, event, a, a1).await.unwrap(),
        2,
        "a still has a tab"
    );
    assert_eq!(presence::leave(&mut r, event, a, a2).await.unwrap(), 1);

    // A connection that stopped heart-beating (score in the past) no longer counts.
    let _: () = redis::cmd("ZADD")
        .arg(format!("presence:{event}"))
        .arg(1.0)
        .arg(format!("{b}:{b1}"))
        .query_async(&mut r)
        .await
        .unwrap();
    assert_eq!(presence::count(&mut r, event).await.unwrap(), 0);
    // The key itself expires too, so idle events leave nothing behind.
    presence::touch(&mut r, event, a, a1, None).await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("presence:{event}"))
        .query_async(&mut r)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= (presence::TTL_SECS * 2) as i64,
        "ttl {ttl}"
    );
}

#[tokio::test]
async fn the_hub_forwards_announcements_from_any_node() {
    let url =
        std::env::var("CONVENE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let fanout = std::sync::Arc::new(services::live::fanout::Fanout::new(16));
    let event = EventId::new();
    let mut rx = fanout.subscribe(event);
    let hub = tokio::spawn(presence::run_hub(
        redis::Client::open(url).unwrap(),
        fanout.clone(),
    ));
    let mut r = redis().await;
    let snap = presence::Snapshot {
        online: 7,
        people: vec![AttendeeId::new()],
        areas: vec![AreaCount {
            area: Area::Reception,
            people: 7,
        }],
    };
    // Publish until the hub has subscribed and forwards one.
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            presence::announce(&mut r, event, &snap).await.unwrap();
            match tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await {
                Ok(Ok(change)) => return change,
                _ => continue,
            }
        }
    })
    .await
    .expect("hub forwarded nothing");
    assert_eq!(got.as_ref(), &snap);
    hub.abort();
}

#[tokio::test]
async fn a_crowd_of_changes_is_announced_once_per_interval_with_all_of_them() {
    let url =
        std::env::var("CONVENE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url).unwrap();
    let event = EventId::new();
    let mut sub = client.get_async_pubsub().await.unwrap();
    sub.subscribe(format!("presence-changed:{event}"))
        .await
        .unwrap();
    let mut r = redis().await;
    // Fifty arrivals within one interval, from any node.
    let people: Vec<AttendeeId> = (0..50).map(|_| AttendeeId::new()).collect();
    for p in &people {
        presence::touch(&mut r, event, *p, ConnectionId::new(), None)
            .await
            .unwrap();
        presence::changed(&r, event).await.unwrap();
    }
    let mut messages = sub.on_message();
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), messages.next())
        .await
        .expect("an announcement")
        .unwrap();
    let snap: presence::Snapshot =
        serde_json::from_str(&first.get_payload::<String>().unwrap()).unwrap();
    assert_eq!(snap.online, 50, "one announcement covering every arrival");
    // One more arrival opens a new interval: the next announcement is that
    // one's (a second announcement of the crowd would show 50).
    presence::touch(&mut r, event, AttendeeId::new(), ConnectionId::new(), None)
        .await
        .unwrap();
    let next = loop {
        presence::changed(&r, event).await.unwrap();
        if let Ok(msg) =
            tokio::time::timeout(std::time::Duration::from_millis(300), messages.next()).await
        {
            break msg.unwrap();
        }
    };
    let snap: presence::Snapshot =
        serde_json::from_str(&next.get_payload::<String>().unwrap()).unwrap();
    assert_eq!(snap.online, 51);
}
