//! Simulive: a pre-recorded video played on a stage as if live. It starts at
//! a scheduled instant and every viewer is at the same position, the time
//! elapsed since the start; one who joins late joins mid-video. The server
//! and the browser both decide what a viewer sees from the same three
//! numbers (the start, the video's length, now), here.

use serde::{Deserialize, Serialize};

/// How far a player may drift from the shared position before it is put
/// back, in milliseconds (more than a segment's fetch, less than a sentence).
pub const MAX_DRIFT_MS: i64 = 2_000;

/// How long before the start viewers' players may have the video: enough
/// to load the first segments, not so early that the video is out before
/// its time.
pub const RELEASE_BEFORE_MS: i64 = 60_000;

/// Whether a viewer may have the video at `now_ms`: from
/// [`RELEASE_BEFORE_MS`] before the start until its end.
pub fn released(starts_ms: i64, duration_ms: i64, now_ms: i64) -> bool {
    now_ms >= starts_ms - RELEASE_BEFORE_MS && now_ms < starts_ms + duration_ms
}

/// What a simulive stage shows at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Before the start: "starting soon", in this many milliseconds.
    Soon {
        /// Until the start.
        in_ms: i64,
    },
    /// Playing: every viewer is at this position of the video.
    Live {
        /// The position, from the start of the video.
        position_ms: i64,
    },
    /// Played to its end.
    Ended,
}

/// The phase at `now_ms` of a video of `duration_ms` starting at
/// `starts_ms` (all Unix milliseconds but the duration).
pub fn phase(starts_ms: i64, duration_ms: i64, now_ms: i64) -> Phase {
    let elapsed = now_ms - starts_ms;
    if elapsed < 0 {
        Phase::Soon { in_ms: -elapsed }
    } else if elapsed >= duration_ms {
        Phase::Ended
    } else {
        Phase::Live {
            position_ms: elapsed,
        }
    }
}

/// The time left in "starting soon", as a viewer reads it: `1:05:03`,
/// `4:07`, `0:09`.
pub fn countdown(in_ms: i64) -> String {
    let secs = (in_ms.max(0) + 999) / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_follows_the_clock() {
        assert_eq!(phase(10_000, 5_000, 9_000), Phase::Soon { in_ms: 1_000 });
        assert_eq!(phase(10_000, 5_000, 10_000), Phase::Live { position_ms: 0 });
        assert_eq!(
            phase(10_000, 5_000, 14_999),
            Phase::Live { position_ms: 4_999 }
        );
        assert_eq!(phase(10_000, 5_000, 15_000), Phase::Ended);
        // A video without length has ended as soon as it starts.
        assert_eq!(phase(10_000, 0, 10_000), Phase::Ended);
    }

    #[test]
    fn the_video_is_released_a_minute_before_until_its_end() {
        assert!(!released(100_000, 5_000, 39_999));
        assert!(released(100_000, 5_000, 40_000));
        assert!(released(100_000, 5_000, 104_999));
        assert!(!released(100_000, 5_000, 105_000));
    }

    #[test]
    fn countdowns_round_up_to_the_second() {
        assert_eq!(countdown(0), "0:00");
        assert_eq!(countdown(1), "0:01");
        assert_eq!(countdown(9_000), "0:09");
        assert_eq!(countdown(247_000), "4:07");
        assert_eq!(countdown(3_903_000), "1:05:03");
    }
}
