//! The SFU with bot peers (the `webrtc` crate as the client, on loopback):
//! forwarding, a late subscriber's keyframe, keyframe relay, renegotiation as
//! tracks come and go, and refusals.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use media::bot::{Bot, Load};
use media::{Config, Error, Sfu};

async fn join(sfu: &Arc<Sfu>, room: &str, id: &str, publish: bool) -> Bot {
    Bot::join(sfu, room, id, publish.then(Load::default))
        .await
        .expect("join")
}

/// Waits until `cond` holds (fails after 15 s).
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sfu() -> Arc<Sfu> {
    Sfu::new(Config {
        ip: "127.0.0.1".parse().unwrap(),
        runtime: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_viewer_gets_audio_video_and_a_keyframe_and_its_requests_are_relayed() {
    let sfu = sfu();
    let ada = join(&sfu, "session", "ada", true).await;
    eventually("ada connected", || {
        ada.seen.connected.load(Ordering::SeqCst)
    })
    .await;
    let bo = join(&sfu, "session", "bo", false).await;
    eventually("bo receives video and audio", || {
        bo.count(|s| &s.video) > 50 && bo.count(|s| &s.audio) > 20
    })
    .await;
    assert_eq!(sfu.tracks_in("session").await, 2);
    // Bo connecting asked Ada's camera for a keyframe.
    eventually("a keyframe for the new viewer", || {
        ada.count(|s| &s.keyframe_requests) >= 1
    })
    .await;
    // Bo's own request reaches Ada (after the throttle interval).
    let before = ada.count(|s| &s.keyframe_requests);
    tokio::time::sleep(media::sfu::KEYFRAME_INTERVAL).await;
    assert!(bo.request_keyframe().await);
    eventually("bo's keyframe request relayed", || {
        ada.count(|s| &s.keyframe_requests) > before
    })
    .await;
    bo.leave().await;
    ada.leave().await;
    assert_eq!(sfu.rooms(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_come_and_go_with_their_publisher() {
    let sfu = sfu();
    // A viewer alone gets no offer: there is nothing to receive yet.
    let bo = join(&sfu, "room", "bo", false).await;
    let ada = join(&sfu, "room", "ada", true).await;
    eventually("bo offered ada's tracks", || bo.count(|s| &s.offers) >= 1).await;
    eventually("bo receives ada", || bo.count(|s| &s.video) > 20).await;
    // A second publisher arrives: offered again, both forwarded.
    let offers = bo.count(|s| &s.offers);
    let cy = join(&sfu, "room", "cy", true).await;
    eventually("cy receives ada", || cy.count(|s| &s.video) > 20).await;
    eventually("ada receives cy", || ada.count(|s| &s.video) > 20).await;
    eventually("bo offered cy's tracks", || {
        bo.count(|s| &s.offers) > offers
    })
    .await;
    assert_eq!(sfu.tracks_in("room").await, 4);
    // Ada leaves: her tracks leave the room and the others are offered again.
    let offers = bo.count(|s| &s.offers);
    ada.leave().await;
    assert_eq!(sfu.tracks_in("room").await, 2);
    eventually("bo offered without ada", || {
        bo.count(|s| &s.offers) > offers
    })
    .await;
    let video = bo.count(|s| &s.video);
    eventually("bo still receives cy", || {
        bo.count(|s| &s.video) > video + 20
    })
    .await;
    cy.leave().await;
    bo.leave().await;
    assert_eq!(sfu.rooms(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signalling_is_refused_and_disturbs_nobody() {
    let sfu = sfu();
    let ada = join(&sfu, "room", "ada", true).await;
    eventually("ada connected", || {
        ada.seen.connected.load(Ordering::SeqCst)
    })
    .await;
    // An answer nobody asked for, and one that is not SDP.
    let (eve, _signals) = sfu.join("room", "eve", false).await.unwrap();
    let err = eve.answer("v=0".into()).await.expect_err("refused");
    assert!(
        matches!(err, Error::NoOfferPending | Error::BadSignal(_)),
        "{err}"
    );
    let err = ada
        .participant
        .answer("not sdp".into())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, Error::NoOfferPending | Error::BadSignal(_)),
        "{err}"
    );
    // Ada's media still flows to a viewer.
    let bo = join(&sfu, "room", "bo", false).await;
    eventually("bo receives ada", || bo.count(|s| &s.video) > 20).await;
    eve.leave().await;
    bo.leave().await;
    ada.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_join_of_the_same_participant_replaces_the_first() {
    let sfu = sfu();
    let first = join(&sfu, "room", "ada", true).await;
    let bo = join(&sfu, "room", "bo", false).await;
    eventually("bo receives ada", || bo.count(|s| &s.video) > 20).await;
    // Ada again (a reload, or going on screen): her first connection goes.
    let second = join(&sfu, "room", "ada", true).await;
    eventually("the second connects", || {
        second.seen.connected.load(Ordering::SeqCst)
    })
    .await;
    let before = bo.count(|s| &s.video);
    eventually("bo receives the second", || {
        bo.count(|s| &s.video) > before + 50
    })
    .await;
    // Only the second's camera and microphone are in the room.
    for _ in 0..100 {
        if sfu.tracks_in("room").await == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(sfu.tracks_in("room").await, 2);
    // The first leaving late takes nothing of the second's.
    first.leave().await;
    let before = bo.count(|s| &s.video);
    eventually("bo still receives ada", || {
        bo.count(|s| &s.video) > before + 50
    })
    .await;
    second.leave().await;
    bo.leave().await;
}
