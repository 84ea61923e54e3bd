//! Video sessions end to end below the browser: the organiser's session, join
//! tokens granted by the session's rules, signalling relayed over the live
//! socket to a real media node (found in the Redis registry), a `webrtc`
//! client that connects through it, refusals with clear errors, hosts'
//! controls, a networking call the node ends at its time, and a media node
//! process that dies.

use std::sync::Arc;
use std::time::Duration;

use protocol::live::{ClientMsg, LiveItem, ServerMsg};
use protocol::media::{session_room, IceCandidate, Leg};
use protocol::states::SessionAction;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription,
};

use crate::attendees::{make_moderator, next_error, person, Person};
use crate::helpers::{fns, spawn_web_only, Organiser, TestApp};
use crate::live::{connect, recv, send, send_raw, wait_for, Ws};

/// A media node in this process, registered in the app's Redis namespace;
/// it stops when the returned sender is dropped or set.
async fn media_node(app: &TestApp) -> watch::Sender<bool> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = watch::channel(false);
    let config = convene_server::media_node::NodeConfig {
        ip: [127, 0, 0, 1].into(),
        ports: None,
        announce: None,
        simulcast: false,
        bandwidth: false,
        url,
        jwks_url: format!("{}/.well-known/jwks.json", app.base),
        redis: app.deps.redis.clone(),
        namespace: app.settings.redis_namespace.clone(),
        recordings: Some((
            std::env::temp_dir().join(format!("convene-test-recordings-{}", uuid::Uuid::new_v4())),
            format!("{}/media/v1/recordings", app.base),
        )),
        live_url: Some(format!("{}/media/v1/live", app.base)),
        max_audience: None,
    };
    tokio::spawn(convene_server::media_node::serve(listener, config, rx));
    wait_for_nodes(app, 1).await;
    tx
}

/// Waits until at least `n` media nodes are registered.
async fn wait_for_nodes(app: &TestApp, n: usize) {
    let mut redis = app.deps.redis.clone();
    let ns = app.settings.redis_namespace.clone();
    for _ in 0..200 {
        let live = services::live::media_nodes::live_nodes(&mut redis, &ns)
            .await
            .unwrap();
        if live.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{n} media nodes never registered");
}

/// Creates a session with `policy` and `on_screen` places; returns its id.
async fn session(
    app: &TestApp,
    org: &Organiser,
    slug: &str,
    policy: &str,
    on_screen: &str,
) -> String {
    let (s, b) = app
        .call::<fns::CreateVideoSession>(
            &org.client,
            &[
                ("slug", slug),
                ("title", "Roundtable"),
                ("description", ""),
                ("capacity", "10"),
                ("max_on_screen", on_screen),
                ("on_screen", policy),
                ("agenda_session", ""),
            ],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, admin) = app
        .call::<fns::SessionsAdmin>(&org.client, &[("slug", slug)])
        .await;
    admin["sessions"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn token(app: &TestApp, slug: &str, p: &Person, id: &str, on_screen: bool) -> (u16, Value) {
    let on = on_screen.to_string();
    app.call::<fns::SessionToken>(&p.client, &[("slug", slug), ("id", id), ("on_screen", &on)])
        .await
}

/// The socket of `p` in session `id`.
async fn in_session(app: &TestApp, slug: &str, p: &Person, id: &str) -> Ws {
    let area = format!("session:{id}");
    let mut ws = connect(
        app,
        slug,
        Some(&p.cookie),
        &[],
        protocol::live::PROTOCOL_VERSION,
    )
    .await
    .expect("connect");
    send(
        &mut ws,
        &ClientMsg::Enter {
            area: area.parse().unwrap(),
        },
    )
    .await;
    wait_for(&mut ws, "hello", |m| matches!(m, ServerMsg::Hello { .. })).await;
    ws
}

/// A browser played by the `webrtc` crate: answers offers relayed on the
/// live socket and trickles its candidates back.
struct Client {
    pc: Arc<dyn PeerConnection>,
    connected: watch::Receiver<bool>,
    candidates: mpsc::UnboundedReceiver<IceCandidate>,
}

struct ClientEvents {
    connected: watch::Sender<bool>,
    candidates: mpsc::UnboundedSender<IceCandidate>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for ClientEvents {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(c) = event.candidate.to_json() {
            let _ = self.candidates.send(media::wire::to_wire(c));
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.connected
            .send_replace(state == RTCPeerConnectionState::Connected);
    }
}

impl Client {
    async fn new() -> Client {
        let (connected_tx, connected) = watch::channel(false);
        let (tx, candidates) = mpsc::unbounded_channel();
        let events = Arc::new(ClientEvents {
            connected: connected_tx,
            candidates: tx,
        });
        let pc = media::engine::peer_connection(([127, 0, 0, 1], 0).into(), events)
            .await
            .unwrap();
        Client {
            pc,
            connected,
            candidates,
        }
    }

    /// Relays signalling on `ws` for `room` until the connection is up (true),
    /// or the link drops saying to join again (false). The client plays the
    /// leg of the first offer (a speaker's publishing one; a viewer's
    /// receiving one) and leaves the other unanswered.
    async fn connect(&mut self, ws: &mut Ws, room: &str) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut leg: Option<Leg> = None;
        let mut waiting = Vec::new();
        while !*self.connected.borrow() {
            assert!(tokio::time::Instant::now() < deadline, "never connected");
            tokio::select! {
                Some(c) = self.candidates.recv() => {
                    let leg = leg.unwrap_or_default();
                    send(ws, &ClientMsg::MediaCandidate { room: room.into(), leg, candidate: c }).await;
                }
                msg = recv(ws) => match msg {
                    ServerMsg::MediaOffer { leg: l, sdp, .. } if leg.is_none_or(|mine| mine == l) => {
                        leg = Some(l);
                        self.pc.set_remote_description(RTCSessionDescription::offer(sdp).unwrap()).await.unwrap();
                        let answer = self.pc.create_answer(None).await.unwrap();
                        let sdp = answer.sdp.clone();
                        self.pc.set_local_description(answer).await.unwrap();
                        send(ws, &ClientMsg::MediaAnswer { room: room.into(), leg: l, sdp }).await;
                        for (_, c) in std::mem::take(&mut waiting).into_iter().filter(|(w, _)| *w == l) {
                            self.pc.add_ice_candidate(media::wire::from_wire(c)).await.unwrap();
                        }
                    }
                    ServerMsg::MediaCandidate { leg: l, candidate, .. } if leg == Some(l) => {
                        self.pc.add_ice_candidate(media::wire::from_wire(candidate)).await.unwrap();
                    }
                    ServerMsg::MediaCandidate { leg: l, candidate, .. } if leg.is_none() => waiting.push((l, candidate)),
                    ServerMsg::MediaClosed { rejoin: true, .. } => return false,
                    ServerMsg::MediaClosed { reason, .. } => panic!("media closed: {reason}"),
                    ServerMsg::Error { message, .. } => panic!("refused: {message}"),
                    _ => {}
                },
                _ = self.connected.changed() => {}
            }
        }
        true
    }
}

/// A child process killed when the test ends, however it ends.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A host (on `host`) acts on `who` (on `target`), who hears of it.
async fn control(
    host: &mut Ws,
    target: &mut Ws,
    session: protocol::ids::VideoSessionId,
    who: protocol::ids::AttendeeId,
    action: SessionAction,
) {
    let msg = ClientMsg::ControlSession {
        session,
        attendee: who,
        action,
    };
    send(host, &msg).await;
    wait_for(target, "the host's action", |m| {
        matches!(m, ServerMsg::Live { item: LiveItem::SessionControl { action: a, .. }, .. } if *a == action)
    })
    .await;
}

/// Joins `room` on `ws` with the token of a grant (a server function's JSON).
async fn join_with(ws: &mut Ws, room: &str, grant: &Value) {
    let token = grant["token"].as_str().expect("a token").into();
    send(
        ws,
        &ClientMsg::MediaJoin {
            room: room.into(),
            token,
        },
    )
    .await;
}

/// The next `media_closed` on `ws`.
async fn closed(ws: &mut Ws) -> (String, bool) {
    match wait_for(ws, "media_closed", |m| {
        matches!(m, ServerMsg::MediaClosed { .. })
    })
    .await
    {
        ServerMsg::MediaClosed { reason, rejoin, .. } => (reason, rejoin),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn an_attendee_goes_on_screen_through_the_live_socket_and_a_media_node() {
    let app = spawn_web_only().await;
    let _node = media_node(&app).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let id = session(&app, &org, &slug, "anyone", "1").await;
    let (ada, bo) = (
        person(&app, &slug, "Ada").await,
        person(&app, &slug, "Bo").await,
    );
    let room = format!("session:{id}");

    let mut ws = in_session(&app, &slug, &ada, &id).await;
    let (s, grant) = token(&app, &slug, &ada, &id, true).await;
    assert_eq!(s, 200, "{grant}");
    join_with(&mut ws, &room, &grant).await;
    let mut client = Client::new().await;
    assert!(client.connect(&mut ws, &room).await);

    // One place on screen, and Ada has it: Bo may only watch.
    let (s, b) = token(&app, &slug, &bo, &id, true).await;
    assert_eq!(s, 409, "{b}");
    assert!(b.to_string().contains("1 people are on screen"), "{b}");
    let (s, b) = token(&app, &slug, &bo, &id, false).await;
    assert_eq!(s, 200, "{b}");
    // Ada keeps her place while she renews it; leaving frees it for Bo.
    let (s, kept) = app
        .call::<fns::KeepOnScreen>(&ada.client, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!((s, kept), (200, Value::String("held".into())));
    let (s, _) = app
        .call::<fns::LeaveScreen>(&ada.client, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(s, 200);
    let (s, b) = token(&app, &slug, &bo, &id, true).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn bad_tokens_and_malformed_signalling_get_clear_errors_and_disturb_nobody() {
    let app = spawn_web_only().await;
    let _node = media_node(&app).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let id = session(&app, &org, &slug, "anyone", "4").await;
    let other = session(&app, &org, &slug, "anyone", "4").await;
    let (ada, bo) = (
        person(&app, &slug, "Ada").await,
        person(&app, &slug, "Bo").await,
    );
    let room = session_room(id.parse().unwrap());

    // Ada is on screen and connected.
    let mut ws = in_session(&app, &slug, &ada, &id).await;
    let (_, grant) = token(&app, &slug, &ada, &id, true).await;
    join_with(&mut ws, &room, &grant).await;
    let mut client = Client::new().await;
    assert!(client.connect(&mut ws, &room).await);

    let mut bws = in_session(&app, &slug, &bo, &id).await;
    // Someone else's token is refused by the web node.
    join_with(&mut bws, &room, &grant).await;
    assert!(next_error(&mut bws).await.1.contains("not yours"));
    // A token for another session does not open this one.
    let (_, other_grant) = token(&app, &slug, &bo, &other, false).await;
    send(
        &mut bws,
        &ClientMsg::MediaJoin {
            room: room.clone(),
            token: other_grant["token"].as_str().unwrap().into(),
        },
    )
    .await;
    assert!(next_error(&mut bws).await.1.contains("not for this room"));
    // Garbage is malformed; a room that is not a session is refused.
    send(
        &mut bws,
        &ClientMsg::MediaJoin {
            room: room.clone(),
            token: "x.y.z".into(),
        },
    )
    .await;
    assert!(next_error(&mut bws).await.1.contains("malformed"));
    send(
        &mut bws,
        &ClientMsg::MediaJoin {
            room: "stage:1".into(),
            token: "x".into(),
        },
    )
    .await;
    assert!(next_error(&mut bws)
        .await
        .1
        .contains("room must be session"));
    // A token whose signature was tampered with reaches the node, which refuses it.
    let (_, good) = token(&app, &slug, &bo, &id, false).await;
    let good = good["token"].as_str().unwrap();
    let (head, sig) = good.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let forged = format!("{head}.{flipped}{}", &sig[1..]);
    send(
        &mut bws,
        &ClientMsg::MediaJoin {
            room: room.clone(),
            token: forged,
        },
    )
    .await;
    let (reason, rejoin) = closed(&mut bws).await;
    assert!(
        reason.contains("signature is wrong") || reason.contains("malformed"),
        "{reason}"
    );
    assert!(!rejoin);
    // Answers and candidates for a room not joined; a signalling message that is not one.
    send(
        &mut bws,
        &ClientMsg::MediaAnswer {
            room: room.clone(),
            leg: Leg::Subscribe,
            sdp: "v=0".into(),
        },
    )
    .await;
    assert!(next_error(&mut bws).await.1.contains("join the room first"));
    send_raw(&mut bws, r#"{"type":"media_answer","room":1}"#).await;
    assert!(next_error(&mut bws).await.1.contains("not a v3 message"));
    // A garbage answer inside a joined room is refused by the node; Ada stays connected.
    send(
        &mut bws,
        &ClientMsg::MediaJoin {
            room: room.clone(),
            token: good.into(),
        },
    )
    .await;
    send(
        &mut bws,
        &ClientMsg::MediaAnswer {
            room: room.clone(),
            leg: Leg::Subscribe,
            sdp: "not sdp".into(),
        },
    )
    .await;
    let (_, message) = next_error(&mut bws).await;
    assert!(
        message.contains("no offer is waiting") || message.contains("unusable"),
        "{message}"
    );
    // Signalling on a sending connection a viewer does not have.
    send(
        &mut bws,
        &ClientMsg::MediaAnswer {
            room: room.clone(),
            leg: Leg::Publish,
            sdp: "v=0".into(),
        },
    )
    .await;
    let (_, message) = next_error(&mut bws).await;
    assert!(message.contains("no sending connection"), "{message}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        *client.connected.borrow(),
        "Ada's connection is undisturbed"
    );
}

#[tokio::test]
async fn hosts_approve_requests_take_people_off_screen_remove_them_and_end_the_session() {
    let app = spawn_web_only().await;
    let _node = media_node(&app).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let id = session(&app, &org, &slug, "request", "4").await;
    let sid: protocol::ids::VideoSessionId = id.parse().unwrap();
    let (host, ada, bo) = (
        person(&app, &slug, "Hana").await,
        person(&app, &slug, "Ada").await,
        person(&app, &slug, "Bo").await,
    );
    make_moderator(&app, &org, &slug, &host).await;
    let mut hws = in_session(&app, &slug, &host, &id).await;
    let mut aws = in_session(&app, &slug, &ada, &id).await;

    // On request: Ada may not go on screen until a host lets her.
    let (s, b) = token(&app, &slug, &ada, &id, true).await;
    assert_eq!(s, 403, "{b}");
    assert!(b.to_string().contains("ask to go on screen"), "{b}");
    send(&mut aws, &ClientMsg::RequestScreen { session: sid }).await;
    let asked = wait_for(&mut hws, "a request", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::ScreenRequest { approved: None, .. },
                ..
            }
        )
    })
    .await;
    let ServerMsg::Live {
        item: LiveItem::ScreenRequest { attendee, .. },
        ..
    } = asked
    else {
        unreachable!()
    };
    assert_eq!(attendee.id, ada.id);
    // Only hosts answer.
    let mut bws = in_session(&app, &slug, &bo, &id).await;
    send(
        &mut bws,
        &ClientMsg::AnswerScreen {
            session: sid,
            attendee: ada.id,
            approve: true,
        },
    )
    .await;
    assert_eq!(next_error(&mut bws).await.0, "forbidden");
    send(
        &mut hws,
        &ClientMsg::AnswerScreen {
            session: sid,
            attendee: ada.id,
            approve: true,
        },
    )
    .await;
    wait_for(&mut aws, "the approval", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::ScreenRequest {
                    approved: Some(true),
                    ..
                },
                ..
            }
        )
    })
    .await;
    let (s, grant) = token(&app, &slug, &ada, &id, true).await;
    assert_eq!(s, 200, "{grant}");
    let room = session_room(sid);
    join_with(&mut aws, &room, &grant).await;
    let mut client = Client::new().await;
    assert!(client.connect(&mut aws, &room).await);

    // Off screen: Ada is told, her media link is cut, her approval withdrawn.
    control(&mut hws, &mut aws, sid, ada.id, SessionAction::OffScreen).await;
    let mut down = client.connected.clone();
    tokio::time::timeout(Duration::from_secs(30), down.wait_for(|up| !*up))
        .await
        .expect("the media node dropped Ada's connection")
        .unwrap();
    let (s, _) = token(&app, &slug, &ada, &id, true).await;
    assert_eq!(s, 403);

    // Removed: Bo cannot join again.
    control(&mut hws, &mut bws, sid, bo.id, SessionAction::Remove).await;
    let (s, b) = token(&app, &slug, &bo, &id, false).await;
    assert_eq!(s, 403, "{b}");
    assert!(b.to_string().contains("removed you"), "{b}");

    // The end, for everyone; nobody joins afterwards.
    send(&mut hws, &ClientMsg::EndSession { session: sid }).await;
    wait_for(&mut aws, "the end", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::SessionEnded { .. },
                ..
            }
        )
    })
    .await;
    let (s, b) = token(&app, &slug, &ada, &id, false).await;
    assert_eq!(s, 409, "{b}");
    assert!(b.to_string().contains("ended"), "{b}");
}

#[tokio::test]
async fn without_a_media_node_joining_says_so_and_when_a_node_process_dies_clients_rejoin_on_another(
) {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let id = session(&app, &org, &slug, "anyone", "4").await;
    let ada = person(&app, &slug, "Ada").await;
    let room = format!("session:{id}");
    let mut ws = in_session(&app, &slug, &ada, &id).await;

    let join = |grant: Value| ClientMsg::MediaJoin {
        room: room.clone(),
        token: grant["token"].as_str().unwrap().into(),
    };
    let (_, grant) = token(&app, &slug, &ada, &id, true).await;
    send(&mut ws, &join(grant)).await;
    let (reason, rejoin) = closed(&mut ws).await;
    assert!(reason.contains("no media server is running"), "{reason}");
    assert!(rejoin);

    // A media node of its own process: `convene media`.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_convene"))
        .arg("media")
        .env("CONVENE_REDIS_URL", &app.settings.redis_url)
        .env("CONVENE_REDIS_NAMESPACE", &app.settings.redis_namespace)
        .env("CONVENE_PUBLIC_URL", &app.base)
        .env("CONVENE_MEDIA__LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .spawn()
        .map(Reaped)
        .expect("convene media");
    wait_for_nodes(&app, 1).await;
    let (_, grant) = token(&app, &slug, &ada, &id, true).await;
    send(&mut ws, &join(grant)).await;
    let mut client = Client::new().await;
    assert!(client.connect(&mut ws, &room).await);

    // The node dies: the link drops and says to rejoin; another node takes the room.
    let _other = media_node(&app).await;
    child.0.kill().unwrap();
    let _ = child.0.wait();
    let (reason, rejoin) = closed(&mut ws).await;
    assert!(rejoin, "{reason}");
    // The dead node may still look alive for a moment: a refused connection
    // takes it out of the registry, and the next attempt lands on the other.
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts <= 5, "never rejoined on the other node");
        let (_, grant) = token(&app, &slug, &ada, &id, true).await;
        send(&mut ws, &join(grant)).await;
        if Client::new().await.connect(&mut ws, &room).await {
            break;
        }
    }
}

#[tokio::test]
async fn pre_event_checks_are_judged_on_the_server_kept_and_shown_to_organisers() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, b) = app
        .call::<fns::AddSpeaker>(&org.client, &[("slug", &slug), ("name", "Kim Speaker")])
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, admin) = app
        .call::<fns::AgendaAdmin>(&org.client, &[("slug", &slug)])
        .await;
    let speaker = admin["speakers"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(admin["speakers"][0]["check"], "");
    let kim = person(&app, &slug, "Kim").await;

    // A token for Kim's own check room, and for nobody else's.
    let (s, grant) = app
        .call::<fns::CheckToken>(&kim.client, &[("slug", &slug)])
        .await;
    assert_eq!(s, 200, "{grant}");
    assert_eq!(grant["room"], format!("check:{}", kim.id));

    let save = |speaker: &str, rtt: &str, loss: &str| -> Vec<(&'static str, String)> {
        vec![
            ("slug", slug.clone()),
            ("speaker", speaker.to_owned()),
            ("camera", "true".to_owned()),
            ("microphone", "true".to_owned()),
            ("rtt_ms", rtt.to_owned()),
            ("jitter_ms", "4".to_owned()),
            ("loss_pct", loss.to_owned()),
            ("bitrate_kbps", "800".to_owned()),
        ]
    };
    let call = |fields: Vec<(&'static str, String)>| {
        let (app, client) = (&app, kim.client.clone());
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call::<fns::SaveCheck>(&client, &pairs).await
        }
    };
    // Numbers that cannot be measured are refused with a message.
    for (rtt, loss, says) in [
        ("-5", "0", "round trip"),
        ("20", "150", "loss"),
        ("NaN", "0", "round trip"),
    ] {
        let (s, b) = call(save(&speaker, rtt, loss)).await;
        assert_eq!(s, 400, "{rtt} {loss}: {b}");
        assert!(b.to_string().contains(says), "{b}");
    }
    // Another event's speaker is not this one's.
    let other = app.event(&org).await;
    let (_, _) = app
        .call::<fns::AddSpeaker>(&org.client, &[("slug", &other), ("name", "Elsewhere")])
        .await;
    let (_, other_admin) = app
        .call::<fns::AgendaAdmin>(&org.client, &[("slug", &other)])
        .await;
    let foreign = other_admin["speakers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = call(save(&foreign, "20", "0")).await;
    assert_eq!(s, 400, "{b}");

    // A fair round trip: judged, with advice, and kept.
    let (s, judged) = call(save(&speaker, "200", "0")).await;
    assert_eq!(s, 200, "{judged}");
    let rtt = judged
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["measure"] == "rtt")
        .unwrap();
    assert_eq!(rtt["verdict"], "fair");
    assert!(!rtt["advice"].as_str().unwrap().is_empty());
    let (_, admin) = app
        .call::<fns::AgendaAdmin>(&org.client, &[("slug", &slug)])
        .await;
    let check = admin["speakers"][0]["check"].as_str().unwrap();
    assert!(
        check.starts_with("check fair (200 ms, 800 kbit/s, 0.0 % lost; by Kim"),
        "{check}"
    );
}

#[tokio::test]
async fn join_grants_carry_turn_credentials_of_the_attendee_under_the_shared_secret() {
    let mut settings = crate::helpers::test_settings().await;
    settings.media.turn = Some(convene_server::configuration::TurnSettings {
        urls: "turn:127.0.0.1:3478?transport=udp, turn:turn.example.org:443?transport=tcp".into(),
        secret: "shared-with-coturn".into(),
        ttl_secs: 600,
    });
    let app = crate::helpers::spawn_with(settings, crate::helpers::Workers::NONE).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let id = session(&app, &org, &slug, "anyone", "4").await;
    let ada = person(&app, &slug, "Ada").await;
    let (s, grant) = token(&app, &slug, &ada, &id, false).await;
    assert_eq!(s, 200, "{grant}");
    let server = &grant["ice_servers"][0];
    assert_eq!(
        server["urls"],
        serde_json::json!([
            "turn:127.0.0.1:3478?transport=udp",
            "turn:turn.example.org:443?transport=tcp"
        ])
    );
    let username = server["username"].as_str().unwrap();
    let (expiry, who) = username.split_once(':').unwrap();
    assert_eq!(who, ada.id.to_string());
    let expiry: i64 = expiry.parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now + 590..=now + 610).contains(&expiry),
        "{expiry} vs {now}"
    );
    // The password coturn computes from its static-auth-secret.
    use base64::Engine;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(b"shared-with-coturn").unwrap();
    mac.update(username.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(server["credential"], expected);
    // Without TURN settings, no servers.
    let plain = spawn_web_only().await;
    let org = plain.organiser().await;
    let slug = plain.event(&org).await;
    let id = session(&plain, &org, &slug, "anyone", "4").await;
    let bo = person(&plain, &slug, "Bo").await;
    let (_, grant) = token(&plain, &slug, &bo, &id, false).await;
    assert_eq!(grant["ice_servers"], serde_json::json!([]));
}

#[tokio::test]
async fn the_media_node_ends_a_networking_call_at_its_time() {
    let app = spawn_web_only().await;
    let _node = media_node(&app).await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, b) = app
        .call::<fns::SetCallLength>(&org.client, &[("slug", &slug), ("call_secs", "10")])
        .await;
    assert_eq!(s, 200, "{b}");
    let (ada, bo) = (
        person(&app, &slug, "Ada").await,
        person(&app, &slug, "Bo").await,
    );
    for p in [&ada, &bo] {
        let (s, b) = app
            .call::<fns::MeetSomeone>(&p.client, &[("slug", &slug)])
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let meeting: uuid::Uuid = sqlx::query_scalar("SELECT id FROM networking_meetings")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let room = format!("meet:{meeting}");
    let mut ws = connect(
        &app,
        &slug,
        Some(&ada.cookie),
        &[],
        protocol::live::PROTOCOL_VERSION,
    )
    .await
    .expect("connect");
    wait_for(&mut ws, "hello", |m| matches!(m, ServerMsg::Hello { .. })).await;
    let (s, grant) = app
        .call::<fns::MeetingToken>(
            &ada.client,
            &[("slug", &slug), ("meeting", &meeting.to_string())],
        )
        .await;
    assert_eq!(s, 200, "{grant}");
    join_with(&mut ws, &room, &grant).await;
    let mut client = Client::new().await;
    assert!(client.connect(&mut ws, &room).await);
    // Connected before the end; the node closes the call when its ten
    // seconds from the match are up.
    let started = tokio::time::Instant::now();
    let (reason, rejoin) = loop {
        match recv(&mut ws).await {
            ServerMsg::MediaClosed { reason, rejoin, .. } => break (reason, rejoin),
            _ => assert!(started.elapsed() < Duration::from_secs(30), "never closed"),
        }
    };
    assert!(!rejoin, "{reason}");
    assert_eq!(reason, "The call's time is up.");
    // And no new token for it.
    let (s, b) = app
        .call::<fns::MeetingToken>(
            &ada.client,
            &[("slug", &slug), ("meeting", &meeting.to_string())],
        )
        .await;
    assert_eq!(s, 409, "{b}");
}

/// Asks to start (`on`) or stop recording session `sid`.
async fn record_session(ws: &mut Ws, sid: protocol::ids::VideoSessionId, on: bool) {
    send(ws, &ClientMsg::RecordSession { session: sid, on }).await;
}

/// `recording` says it records (true) or stopped.
async fn recording_news(ws: &mut Ws, recording: bool) {
    wait_for(ws, "the recording's news", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::SessionRecording { recording: r, .. },
                ..
            } if *r == recording
        )
    })
    .await;
}

#[tokio::test]
async fn hosts_record_a_session_whose_parts_and_tracks_the_node_hands_over_into_videos_and_replay()
{
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let id = session(&app, &org, &slug, "anyone", "4").await;
    let sid: protocol::ids::VideoSessionId = id.parse().unwrap();
    let other = session(&app, &org, &slug, "anyone", "4").await;
    let (host, ada, bo) = (
        person(&app, &slug, "Hana").await,
        person(&app, &slug, "Ada").await,
        person(&app, &slug, "Bo").await,
    );
    // Hana hosts this session (assigned, not a moderator); Bo another one.
    for (p, session) in [(&host, &id), (&bo, &other)] {
        let (s, b) = app
            .call::<fns::SetSessionHost>(
                &org.client,
                &[
                    ("slug", &slug),
                    ("id", session),
                    ("attendee", &p.id.to_string()),
                    ("host", "true"),
                ],
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let mut hws = in_session(&app, &slug, &host, &id).await;
    let mut aws = in_session(&app, &slug, &ada, &id).await;
    let mut bws = in_session(&app, &slug, &bo, &id).await;
    // A host who only watches joins the room as one who runs it.
    let role = |grant: &Value| {
        use base64::Engine;
        let claims = grant["token"].as_str().unwrap().split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .unwrap(),
        )
        .unwrap();
        claims["role"].as_str().unwrap().to_owned()
    };
    let (s, grant) = token(&app, &slug, &host, &id, false).await;
    assert_eq!(
        (s, role(&grant).as_str()),
        (200, "watching_host"),
        "{grant}"
    );
    let (_, grant) = token(&app, &slug, &ada, &id, false).await;
    assert_eq!(role(&grant), "viewer", "{grant}");
    record_session(&mut bws, sid, true).await;
    assert_eq!(
        next_error(&mut bws).await.0,
        "forbidden",
        "another session's host"
    );
    let actor = |p: &Person| {
        let token = p
            .cookie
            .split(';')
            .next()
            .and_then(|c| c.split_once('='))
            .map(|(_, v)| v.to_owned());
        let (pool, slug) = (app.deps.pool.clone(), slug.clone());
        async move {
            services::live::moderation::admit(&pool, &slug, token.as_deref())
                .await
                .unwrap()
                .actor
        }
    };
    let (hana, ada_) = (actor(&host).await, actor(&ada).await);
    let signal = |who: &services::live::participants::Actor| {
        let (pool, who) = (app.deps.pool.clone(), who.clone());
        async move {
            services::live::sessions::record_signal(&pool, &who, sid)
                .await
                .unwrap()
        }
    };

    // Only hosts record; everyone in the session hears it started; the
    // page says so.
    record_session(&mut aws, sid, true).await;
    assert_eq!(next_error(&mut aws).await.0, "forbidden");
    assert_eq!(
        signal(&hana).await,
        Some(protocol::media::ToNode::Record {
            recording: None,
            token: None
        })
    );
    record_session(&mut hws, sid, true).await;
    recording_news(&mut aws, true).await;
    let (_, page) = app
        .call::<fns::VideoSession>(&ada.client, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(page["recording"], true, "{page}");
    record_session(&mut hws, sid, true).await;
    assert_eq!(next_error(&mut hws).await.0, "conflict");
    // The media node hears of it from a host's link only, with a token
    // browsers never see.
    assert_eq!(signal(&ada_).await, None);
    let Some(protocol::media::ToNode::Record {
        recording: Some(recording),
        token: Some(record),
    }) = signal(&hana).await
    else {
        panic!("a recording token for the host's link");
    };
    // The page names no recording (nor its token).
    assert!(!page.to_string().contains(&recording), "{page}");

    // The node hands the part over: a video of the event, of the session.
    let video = std::env::temp_dir().join(format!("convene-session-{}.mp4", uuid::Uuid::new_v4()));
    media::assets::test_video(video.clone(), 3, 320, 240)
        .await
        .unwrap();
    let bytes = std::fs::read(&video).unwrap();
    let _ = std::fs::remove_file(&video);
    let part = uuid::Uuid::new_v4().to_string();
    let res = reqwest::Client::new()
        .post(format!("{}/media/v1/recordings", app.base))
        .bearer_auth(&record)
        .header("x-recording-part", &part)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let asset: Value = res.json().await.unwrap();
    assert_eq!(
        (
            &asset["recording"],
            &asset["session_id"],
            &asset["stage_id"]
        ),
        (&Value::from(true), &Value::from(id.clone()), &Value::Null)
    );
    assert!(
        asset["title"]
            .as_str()
            .unwrap()
            .starts_with("Roundtable · "),
        "{asset}"
    );

    // Then each track on its own, checked to be what it says.
    let mut ivf = Vec::new();
    media::ivf::ivf_header(&mut ivf, 320, 240);
    ivf.extend_from_slice(&media::ivf::frame_header(3, 0));
    ivf.extend_from_slice(&[0x10, 0x02, 0x00]);
    let track = |part: &str, kind: &str, n: &str, body: Vec<u8>| {
        reqwest::Client::new()
            .post(format!("{}/media/v1/recordings/tracks", app.base))
            .bearer_auth(&record)
            .header("x-recording-part", part)
            .header("x-track-n", n)
            .header("x-track-stream", ada.id.to_string())
            .header("x-track-kind", kind)
            .header("x-track-start-ms", "1500")
            .header("x-track-length-ms", "2500")
            .body(body)
            .send()
    };
    let res = track(&part, "smell", "0", ivf.clone()).await.unwrap();
    assert_eq!(res.status(), 400);
    let other = uuid::Uuid::new_v4().to_string();
    let res = track(&other, "video", "0", ivf.clone()).await.unwrap();
    assert_eq!(res.status(), 404, "a part not handed over");
    let res = track(&part, "audio", "0", ivf.clone()).await.unwrap();
    assert_eq!(res.status(), 400, "IVF is no sound track");
    let res = reqwest::Client::new()
        .post(format!("{}/media/v1/recordings/tracks", app.base))
        .bearer_auth("not-a-token")
        .body(ivf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = track(&part, "video", "0", ivf.clone()).await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = track(&part, "video", "0", ivf.clone()).await.unwrap();
    assert_eq!(res.status(), 409);

    // Organisers see it among the videos, its track to download.
    // Its renditions and thumbnail (and the sign-in emails sent before).
    assert!(app.drain_jobs().await >= 2);
    let (_, videos) = app
        .call::<fns::EventVideos>(&org.client, &[("slug", &slug)])
        .await;
    let v = &videos[0];
    assert_eq!(
        (&v["recording"], &v["status"]),
        (&Value::from("session"), &Value::from("ready")),
        "{videos}"
    );
    let t = &v["tracks"][0];
    assert_eq!(t["label"], "Ada · camera", "{t}");
    assert_eq!(t["span"], "from 0:01, 0:02 long", "{t}");
    let got = reqwest::get(format!("{}{}", app.base, t["url"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "video/x-ivf");
    assert_eq!(got.bytes().await.unwrap().as_ref(), ivf.as_slice());
    // A viewer's path to the recording does not reach its tracks.
    let watch = services::assets::watch_path(&app.deps.pool, part.parse().unwrap())
        .await
        .unwrap();
    let file = t["url"].as_str().unwrap().rsplit('/').next().unwrap();
    let got = reqwest::get(format!("{}{watch}{file}", app.base))
        .await
        .unwrap();
    assert_eq!(got.status(), 403);

    // Published to attendees, Replay shows it as the session's.
    let (s, b) = app
        .call::<fns::PublishVideo>(
            &org.client,
            &[("slug", &slug), ("id", &part), ("replay", "attendees")],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, list) = app
        .call::<fns::ReplayList>(&ada.client, &[("slug", &slug)])
        .await;
    assert_eq!(
        list["recordings"][0]["place"], "Session: Roundtable",
        "{list}"
    );

    // Stopped: everyone hears it, the node is told to stop, twice is a
    // conflict; ending the session ends a recording too.
    record_session(&mut hws, sid, false).await;
    recording_news(&mut aws, false).await;
    assert_eq!(
        signal(&hana).await,
        Some(protocol::media::ToNode::Record {
            recording: None,
            token: None
        })
    );
    record_session(&mut hws, sid, false).await;
    assert_eq!(next_error(&mut hws).await.0, "conflict");
    record_session(&mut hws, sid, true).await;
    recording_news(&mut aws, true).await;
    send(&mut hws, &ClientMsg::EndSession { session: sid }).await;
    wait_for(&mut aws, "the end", |m| {
        matches!(
            m,
            ServerMsg::Live {
                item: LiveItem::SessionEnded { .. },
                ..
            }
        )
    })
    .await;
    let (_, page) = app
        .call::<fns::VideoSession>(&ada.client, &[("slug", &slug), ("id", &id)])
        .await;
    assert_eq!(page["recording"], false, "{page}");
    record_session(&mut hws, sid, true).await;
    assert_eq!(next_error(&mut hws).await.0, "conflict");
}
