//! Active speaker: every audio packet's audio-level extension (RFC 6464)
//! is summed per publisher over an interval, and the room's speaker is
//! decided from the averages ([`next_speaker`]).

use std::time::Duration;

/// How often the room's active speaker is decided.
pub const SPEAKER_INTERVAL: Duration = Duration::from_millis(300);

/// Loudness (0 silence ..127, see [`crate::engine::loudness`]) at which someone
/// counts as speaking: about -55 dBov, above a quiet room's noise.
pub const SPEAKING: f32 = 72.0;

/// How much louder (in dB) someone must be to take the floor from the
/// current speaker, so two voices do not make the highlight flicker.
pub const TAKEOVER_DB: f32 = 6.0;

/// Loudness summed over the packets of one speaker interval.
#[derive(Default)]
pub(crate) struct Loudness {
    sum: std::sync::atomic::AtomicU32,
    packets: std::sync::atomic::AtomicU32,
}

impl Loudness {
    pub(crate) fn add(&self, level: Option<u8>) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(l) = level {
            self.sum.fetch_add(u32::from(l), Relaxed);
            self.packets.fetch_add(1, Relaxed);
        }
    }

    /// The interval's average, starting the next one.
    pub(crate) fn take(&self) -> f32 {
        use std::sync::atomic::Ordering::Relaxed;
        let (sum, n) = (self.sum.swap(0, Relaxed), self.packets.swap(0, Relaxed));
        if n == 0 {
            0.0
        } else {
            sum as f32 / n as f32
        }
    }
}

/// Who speaks after an interval in which each publisher of audio was as
/// loud as `levels` says (0..127 on average): the loudest above
/// [`SPEAKING`], except that the current speaker keeps the floor unless
/// someone is [`TAKEOVER_DB`] louder; nobody when nobody is above it.
pub fn next_speaker(current: Option<&str>, levels: &[(String, f32)]) -> Option<String> {
    let loudest = levels
        .iter()
        .filter(|(_, l)| *l >= SPEAKING)
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let theirs = current.and_then(|c| levels.iter().find(|(who, _)| who == c));
    match theirs {
        Some((who, l)) if *l >= SPEAKING && loudest.1 < l + TAKEOVER_DB => Some(who.clone()),
        _ => Some(loudest.0.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(l: &[(&str, f32)]) -> Vec<(String, f32)> {
        l.iter().map(|(w, v)| (w.to_string(), *v)).collect()
    }

    #[test]
    fn the_loudest_voice_above_the_floor_speaks() {
        assert_eq!(
            next_speaker(None, &levels(&[("a", 80.0), ("b", 100.0)])).as_deref(),
            Some("b")
        );
        assert_eq!(
            next_speaker(Some("b"), &levels(&[("a", 30.0), ("b", 40.0)])),
            None,
            "room noise is nobody"
        );
        assert_eq!(next_speaker(None, &[]), None);
    }

    #[test]
    fn the_speaker_keeps_the_floor_unless_someone_is_clearly_louder() {
        let l = levels(&[("a", 90.0), ("b", 94.0)]);
        assert_eq!(
            next_speaker(Some("a"), &l).as_deref(),
            Some("a"),
            "4 dB is not enough"
        );
        let l = levels(&[("a", 90.0), ("b", 97.0)]);
        assert_eq!(next_speaker(Some("a"), &l).as_deref(), Some("b"));
        let l = levels(&[("a", 50.0), ("b", 75.0)]);
        assert_eq!(
            next_speaker(Some("a"), &l).as_deref(),
            Some("b"),
            "a went quiet"
        );
        let l = levels(&[("b", 75.0)]);
        assert_eq!(next_speaker(Some("a"), &l).as_deref(), Some("b"), "a left");
    }
}
