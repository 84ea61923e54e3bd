//! The browser's live WebSocket (hydrate only): reconnects with back-off and
//! resumes from the last cursor it saw. It hands every server message to the
//! page's callback; it knows nothing of the page's state. It carries the
//! page's data points for analytics (`seen`), or, while it is down, sends
//! them as a beacon naming the connection its last `hello` gave.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use protocol::ids::ConnectionId;
use protocol::live::{Beacon, ClientMsg, ServerMsg, PROTOCOL_VERSION};
use protocol::Area;

thread_local! {
    static SOCKET: RefCell<Option<WebSocket>> = const { RefCell::new(None) };
    /// Where a beacon goes, and the connection of the page's last socket.
    static BEACON: RefCell<Option<(String, ConnectionId)>> = const { RefCell::new(None) };
}

/// Sends the page's data points (`ClientMsg::Seen`): on its socket when it
/// is open, otherwise as a beacon (`POST /e/{slug}/seen`) naming the
/// connection of its last socket, whose report clock the server judges it by.
fn report(msg: &ClientMsg) {
    let open = SOCKET.with(|s| {
        s.borrow()
            .as_ref()
            .is_some_and(|ws| ws.ready_state() == WebSocket::OPEN)
    });
    if open {
        send(msg);
        return;
    }
    let ClientMsg::Seen {
        area,
        watched_ms,
        hidden_ms,
        heights,
    } = msg
    else {
        return;
    };
    BEACON.with(|b| {
        let Some((url, connection)) = b.borrow().clone() else {
            return;
        };
        let beacon = Beacon {
            connection,
            area: *area,
            watched_ms: *watched_ms,
            hidden_ms: *hidden_ms,
            heights: heights.clone(),
        };
        if let Ok(body) = serde_json::to_string(&beacon) {
            let _ = window()
                .navigator()
                .send_beacon_with_opt_str(&url, Some(&body));
        }
    });
}

/// Sends on the page's socket, if open.
pub fn send(msg: &ClientMsg) {
    let Ok(text) = serde_json::to_string(msg) else {
        return;
    };
    SOCKET.with(|s| {
        if let Some(ws) = s.borrow().as_ref() {
            let _ = ws.send_with_str(&text);
        }
    });
}

struct Conn {
    base: String,
    /// `POST /e/{slug}/seen`.
    beacon: String,
    on_message: Box<dyn Fn(ServerMsg)>,
    on_close: Box<dyn Fn()>,
    cursor: RefCell<Option<String>>,
    stopped: Cell<bool>,
    attempt: Cell<u32>,
    /// A socket of this page was welcomed before (later ones are reconnects).
    connected: Cell<bool>,
}

/// Opens the socket now and again after every drop, until the page is left;
/// `on_message` gets every server message, `on_close` every drop.
pub fn connect(
    slug: String,
    area: Area,
    cursor: String,
    on_message: impl Fn(ServerMsg) + 'static,
    on_close: impl Fn() + 'static,
) {
    let loc = window().location();
    let scheme = if loc.protocol().ok().as_deref() == Some("https:") {
        "wss"
    } else {
        "ws"
    };
    let host = loc.host().unwrap_or_default();
    let conn = Rc::new(Conn {
        base: format!("{scheme}://{host}/ws/e/{slug}?v={PROTOCOL_VERSION}&area={area}"),
        beacon: format!("/e/{slug}/seen"),
        on_message: Box::new(on_message),
        on_close: Box::new(on_close),
        cursor: RefCell::new(Some(cursor)),
        stopped: Cell::new(false),
        attempt: Cell::new(0),
        connected: Cell::new(false),
    });
    open(conn.clone());
    let report = super::seen::start(area, report);
    let guard = SendWrapper::new(conn);
    Owner::on_cleanup(move || {
        // What the page saw of its area goes out before the socket closes.
        report();
        let conn = guard.take();
        conn.stopped.set(true);
        BEACON.with(|b| b.borrow_mut().take());
        SOCKET.with(|s| {
            if let Some(ws) = s.borrow_mut().take() {
                ws.set_onclose(None);
                let _ = ws.close();
            }
        });
    });
}

fn open(conn: Rc<Conn>) {
    if conn.stopped.get() {
        return;
    }
    let mut url = match conn.cursor.borrow().as_ref() {
        Some(c) => format!("{}&since={c}", conn.base),
        None => conn.base.clone(),
    };
    if conn.connected.get() {
        // A reconnect continues the page's visit (it is not a new one).
        url.push_str("&resume=1");
    }
    let Ok(ws) = WebSocket::new(&url) else {
        return;
    };
    let c = conn.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else {
            return;
        };
        let Ok(msg) = serde_json::from_str::<ServerMsg>(&text) else {
            return;
        };
        match &msg {
            ServerMsg::Hello {
                cursor, connection, ..
            } => {
                if let Some(id) = connection {
                    BEACON.with(|b| *b.borrow_mut() = Some((c.beacon.clone(), *id)));
                }
                c.attempt.set(0);
                c.connected.set(true);
                c.cursor.borrow_mut().get_or_insert_with(|| cursor.clone());
            }
            ServerMsg::Live { cursor, .. } => {
                *c.cursor.borrow_mut() = Some(cursor.clone());
            }
            _ => {}
        }
        (c.on_message)(msg);
    });
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();

    let c = conn.clone();
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_ev: CloseEvent| {
        (c.on_close)();
        SOCKET.with(|s| s.borrow_mut().take());
        let attempt = c.attempt.get();
        c.attempt.set(attempt + 1);
        let delay =
            Duration::from_millis(500u64 << attempt.min(5)).min(protocol::live::RECONNECT_AT_MOST);
        let again = SendWrapper::new(c.clone());
        set_timeout(move || open(again.take()), delay);
    });
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    on_close.forget();
    SOCKET.with(|s| *s.borrow_mut() = Some(ws));
}
