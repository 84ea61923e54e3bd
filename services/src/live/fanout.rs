//! Per-event fan-out on one node. Each socket listens to its own event's
//! channel, so a busy event wakes only its own sockets, not every socket of
//! the node (a single channel for all events made every presence change and
//! every chat line of one event cost every other event's sockets a wake-up).
//! Channels are made when the first socket of an event subscribes and
//! forgotten when a send finds nobody listening.

use std::collections::HashMap;
use std::sync::Mutex;

use protocol::ids::EventId;
use tokio::sync::broadcast;

/// Channels of `T` per event.
pub struct Fanout<T> {
    channels: Mutex<HashMap<EventId, broadcast::Sender<T>>>,
    capacity: usize,
}

impl<T: Clone> Fanout<T> {
    /// Channels that each buffer `capacity` values for slow receivers.
    pub fn new(capacity: usize) -> Self {
        Fanout {
            channels: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// A receiver of the event's values from now on.
    pub fn subscribe(&self, event: EventId) -> broadcast::Receiver<T> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(event)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    /// Hands `value` to the event's receivers on this node; returns how many.
    /// An event nobody listens to any more is forgotten.
    pub fn send(&self, event: EventId, value: T) -> usize {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = channels.get(&event) else {
            return 0;
        };
        match tx.send(value) {
            Ok(n) => n,
            Err(_) => {
                channels.remove(&event);
                0
            }
        }
    }

    /// Events with a channel on this node.
    pub fn events(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_event_reaches_only_its_own_receivers_and_idle_ones_are_forgotten() {
        let fanout = Fanout::new(4);
        let (a, b) = (EventId::new(), EventId::new());
        let mut on_a = fanout.subscribe(a);
        let mut on_b = fanout.subscribe(b);
        assert_eq!(fanout.send(a, 1), 1);
        assert_eq!(on_a.recv().await.unwrap(), 1);
        assert!(on_b.try_recv().is_err(), "b hears nothing of a");
        assert_eq!(fanout.send(EventId::new(), 9), 0, "nobody listens");
        drop(on_b);
        assert_eq!(fanout.send(b, 2), 0);
        assert_eq!(fanout.events(), 1, "b is forgotten");
        assert_eq!(fanout.send(a, 3), 1);
    }
}
