//! Limits of one live socket: the largest frame it may send, how many sockets
//! one attendee may hold open in an event, and a token bucket on the frames a
//! client sends. The services limit what an action may do (chat rate, polls);
//! these limit how much work a single connection can make the server do at all.

use std::time::Instant;

/// Largest message or frame a client may send, in bytes (a chat message is at
/// most 1000 characters; everything else is smaller).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Open live sockets per attendee and event (tabs and devices).
pub const MAX_SOCKETS_PER_ATTENDEE: u64 = 8;

/// Frames a client may send in a burst. Going on screen negotiates two
/// media connections at once: their ICE candidates, answers and tile
/// heights are tens of frames within a second (20 closed such sockets).
pub const BURST: f64 = 60.0;

/// Frames per second a client may send on average.
pub const PER_SECOND: f64 = 5.0;

/// A token bucket: `BURST` frames at once, refilled at `PER_SECOND`.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn new(now: Instant) -> Self {
        Bucket {
            tokens: BURST,
            last: now,
        }
    }

    /// Takes a token for a frame received at `now`; false when the client is
    /// over its rate (the socket is then closed).
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * PER_SECOND).min(BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let t0 = Instant::now();
        let mut b = Bucket::new(t0);
        for i in 0..BURST as usize {
            assert!(b.take(t0), "frame {i} of the burst");
        }
        assert!(!b.take(t0), "one more than the burst");
        // A second later, PER_SECOND more frames pass, and no more.
        let t1 = t0 + Duration::from_secs(1);
        for i in 0..PER_SECOND as usize {
            assert!(b.take(t1), "frame {i} after a second");
        }
        assert!(!b.take(t1));
    }

    #[test]
    fn an_idle_client_gets_its_burst_back_but_no_more() {
        let t0 = Instant::now();
        let mut b = Bucket::new(t0);
        for _ in 0..BURST as usize {
            b.take(t0);
        }
        let later = t0 + Duration::from_secs(3600);
        let passed = (0..100).take_while(|_| b.take(later)).count();
        assert_eq!(passed, BURST as usize);
    }
}
