//! The SFU with bot peers (the `webrtc` crate as the client, on loopback):
//! forwarding, a late subscriber's keyframe, keyframe relay, renegotiation as
//! tracks come and go, H.264, screen shares, a stage's audience, the
//! active speaker, the port range and announced address, simulcast layers
//! by tile size and bandwidth, and refusals.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use media::bot::{Bot, Load};
use media::network::PortRange;
use media::sfu::Signal;
use media::{Config, Error, Leg, Sfu};

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
    Sfu::new(Config::on("127.0.0.1".parse().unwrap()))
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
    let (eve, _signals) = sfu.join("room", "eve", media::Seat::Viewer).await.unwrap();
    let err = eve
        .answer(Leg::Subscribe, "v=0".into())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, Error::NoOfferPending | Error::BadSignal(_)),
        "{err}"
    );
    // A viewer has no publishing connection to signal on.
    let err = eve
        .answer(Leg::Publish, "v=0".into())
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::NoSendingLeg), "{err}");
    let err = ada
        .participant
        .answer(Leg::Publish, "not sdp".into())
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

fn with(load: Load) -> Option<Load> {
    Some(load)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loudest_publisher_is_the_active_speaker_and_levels_reach_every_leg() {
    let sfu = sfu();
    let loud = Load {
        loudness: Some(100),
        ..Load::default()
    };
    let quiet = Load {
        loudness: Some(10),
        ..Load::default()
    };
    let ada = Bot::join(&sfu, "talk", "ada", with(quiet)).await.unwrap();
    let bo = Bot::join(&sfu, "talk", "bo", with(loud)).await.unwrap();
    let cy = join(&sfu, "talk", "cy", false).await;
    let spoke = |b: &Bot, who: &str| {
        b.seen
            .speakers
            .lock()
            .unwrap()
            .last()
            .is_some_and(|s| s.as_deref() == Some(who))
    };
    eventually("everyone hears that bo speaks", || {
        spoke(&cy, "bo") && spoke(&ada, "bo") && spoke(&bo, "bo")
    })
    .await;
    // The level travels on to subscribers, with their leg's extension id.
    eventually("cy's audio carries levels", || {
        cy.count(|s| &s.audio_levels) > 20
    })
    .await;
    assert!(
        !cy.seen
            .speakers
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.as_deref() == Some("ada")),
        "a quiet microphone never takes the floor"
    );
    // Bo leaves: nobody speaks.
    bo.leave().await;
    eventually("the floor is free", || {
        cy.seen.speakers.lock().unwrap().last() == Some(&None)
    })
    .await;
    for b in [&ada, &cy] {
        b.leave().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_is_forwarded_as_h264() {
    let sfu = sfu();
    let h264 = Load {
        h264: true,
        ..Load::default()
    };
    let ada = Bot::join(&sfu, "h", "ada", with(h264)).await.unwrap();
    let bo = join(&sfu, "h", "bo", false).await;
    eventually("bo receives ada's H.264", || bo.count(|s| &s.video) > 50).await;
    assert_eq!(
        bo.seen.video_codecs.lock().unwrap().as_slice(),
        ["video/H264"]
    );
    bo.leave().await;
    ada.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_share_is_a_stream_of_its_own_and_can_pause() {
    let sfu = sfu();
    let ada = join(&sfu, "s", "ada", true).await;
    let bo = join(&sfu, "s", "bo", false).await;
    eventually("bo receives ada's camera", || bo.count(|s| &s.video) > 20).await;
    assert_eq!(sfu.tracks_in("s").await, 2);
    ada.share_screen(true).await.unwrap();
    eventually("ada's screen is published", || {
        bo.seen
            .streams
            .lock()
            .unwrap()
            .iter()
            .any(|s| s == "ada~screen")
    })
    .await;
    assert_eq!(sfu.tracks_in("s").await, 3);
    let camera_and_screen = bo.count(|s| &s.video);
    eventually("screen packets flow too", || {
        bo.count(|s| &s.video) > camera_and_screen + 100
    })
    .await;
    // Pausing takes it out of the room; sharing again brings it back with
    // no new negotiation from the browser.
    ada.share_screen(false).await.unwrap();
    assert_eq!(sfu.tracks_in("s").await, 2);
    ada.share_screen(true).await.unwrap();
    assert_eq!(sfu.tracks_in("s").await, 3);
    // A viewer has nothing to share.
    assert!(matches!(
        bo.share_screen(true).await,
        Err(Error::NotPublishing)
    ));
    bo.leave().await;
    ada.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_audience_receives_only_who_is_on_air() {
    let sfu = sfu();
    let ada = join(&sfu, "backstage", "ada", true).await;
    let cy = join(&sfu, "backstage", "cy", true).await;
    let aud = Bot::join_audience(&sfu, "backstage", "aud").await.unwrap();
    // Backstage, everyone sees everyone; the audience sees nobody yet.
    let bo = join(&sfu, "backstage", "bo", false).await;
    eventually("bo, who came after the audience, receives both", || {
        bo.count(|s| &s.video) > 100 && bo.count(|s| &s.audio) > 20
    })
    .await;
    assert_eq!(sfu.receiving("backstage", "bo").await, ["ada", "cy"]);
    assert_eq!(aud.count(|s| &s.video) + aud.count(|s| &s.audio), 0);
    assert!(sfu.receiving("backstage", "aud").await.is_empty());

    // A host puts Ada on air: her camera and microphone reach the audience.
    ada.participant
        .set_on_air(vec!["ada".into()], None, None)
        .await;
    eventually("the audience receives Ada", || {
        aud.count(|s| &s.video) > 50 && aud.count(|s| &s.audio) > 20
    })
    .await;
    assert_eq!(sfu.receiving("backstage", "aud").await, ["ada"]);
    // Her screen, shared while on air, goes on air with her.
    ada.share_screen(true).await.unwrap();
    eventually("her screen reaches the audience", || {
        aud.seen
            .streams
            .lock()
            .unwrap()
            .iter()
            .any(|s| s == "ada~screen")
    })
    .await;
    // Someone joining the audience later gets what is on air, and only that.
    let late = Bot::join_audience(&sfu, "backstage", "late").await.unwrap();
    eventually("the late viewer receives Ada", || {
        late.count(|s| &s.video) > 50
    })
    .await;
    assert_eq!(sfu.receiving("backstage", "late").await, ["ada"]);
    assert!(!late.seen.streams.lock().unwrap().iter().any(|s| s == "cy"));

    // Cy instead of Ada: the audience loses her tracks and gets his.
    cy.participant
        .set_on_air(vec!["cy".into()], None, None)
        .await;
    eventually("the audience receives Cy", || {
        aud.seen.streams.lock().unwrap().iter().any(|s| s == "cy")
    })
    .await;
    assert_eq!(sfu.receiving("backstage", "aud").await, ["cy"]);
    assert_eq!(sfu.receiving("backstage", "late").await, ["cy"]);
    // Backstage nothing changed.
    assert_eq!(sfu.receiving("backstage", "bo").await, ["ada", "cy"]);
    // Ended: the audience receives nothing.
    ada.participant.set_on_air(Vec::new(), None, None).await;
    assert!(sfu.receiving("backstage", "aud").await.is_empty());
    // The audience publishes nothing.
    assert!(matches!(
        aud.share_screen(true).await,
        Err(Error::NotPublishing)
    ));
    for b in [&late, &aud, &bo, &cy, &ada] {
        b.leave().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_take_ports_from_the_range_and_announce_the_public_address() {
    let ports: PortRange = "41700-41709".parse().unwrap();
    // Another program holds the first port: the SFU goes on to the next.
    let _held = std::net::UdpSocket::bind("127.0.0.1:41700").unwrap();
    let sfu = Sfu::new(Config {
        ports: Some(ports),
        ..Config::on("127.0.0.1".parse().unwrap())
    });
    let ada = join(&sfu, "p", "ada", true).await;
    let bo = join(&sfu, "p", "bo", false).await;
    eventually("media flows through the range", || {
        bo.count(|s| &s.video) > 20
    })
    .await;
    bo.leave().await;
    ada.leave().await;

    // Behind a 1:1 NAT browsers are told the public address, in trickled
    // candidates and in offers.
    let sfu = Sfu::new(Config {
        ports: Some(ports),
        announce: Some("203.0.113.9".parse().unwrap()),
        ..Config::on("127.0.0.1".parse().unwrap())
    });
    let (p, mut signals) = sfu.join("n", "cy", media::Seat::Publisher).await.unwrap();
    let mut candidates = Vec::new();
    while candidates.is_empty() {
        let signal = tokio::time::timeout(Duration::from_secs(15), signals.recv())
            .await
            .expect("a candidate in time")
            .expect("signals");
        match signal {
            Signal::Candidate(_, c) => candidates.push(c.candidate),
            Signal::Offer(_, sdp) => assert!(!sdp.contains("127.0.0.1 4170"), "{sdp}"),
            Signal::Speaker(_) => {}
        }
    }
    let fields: Vec<&str> = candidates[0].split(' ').collect();
    assert_eq!(fields[4], "203.0.113.9", "{}", candidates[0]);
    let port: u16 = fields[5].parse().unwrap();
    assert!(ports.contains(port) && port != 41700, "{port}");
    p.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_viewer_gets_the_simulcast_layer_its_tile_and_bandwidth_take() {
    let sfu = Sfu::new(Config {
        simulcast: true,
        bandwidth: true,
        ..Config::on("127.0.0.1".parse().unwrap())
    });
    let layered = Load {
        simulcast: true,
        ..Load::default()
    };
    let ada = Bot::join(&sfu, "sim", "ada", with(layered)).await.unwrap();
    let small = join(&sfu, "sim", "small", false).await;
    let large = join(&sfu, "sim", "large", false).await;
    let height = |b: &Bot| b.seen.key_height.load(Ordering::Relaxed);
    eventually("both receive ada", || {
        small.count(|s| &s.video) > 20 && large.count(|s| &s.video) > 20
    })
    .await;
    // Each says how high it shows Ada's camera (as pages do once her tile
    // shows): a phone's small tile, a pinned one on a large screen.
    small.participant.view("ada", 180).await;
    large.participant.view("ada", 720).await;
    eventually("the small tile gets the low layer", || {
        height(&small) == 180
    })
    .await;
    eventually("the large tile gets the high layer", || {
        height(&large) == 360
    })
    .await;

    // The large tile's connection can take only 100 kbit/s now: the low
    // layer, whatever the tile wants (once the 3 s hold of its last switch
    // is over).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while height(&large) != 180 {
        assert!(tokio::time::Instant::now() < deadline, "never lowered");
        assert!(large.estimate(100_000).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Plenty again: after the back-off a trial brings the high layer back.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while height(&large) != 360 {
        assert!(tokio::time::Instant::now() < deadline, "never raised again");
        assert!(large.estimate(5_000_000).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(height(&small), 180, "the other viewer was not moved");
    small.leave().await;
    large.leave().await;
    ada.leave().await;
}
