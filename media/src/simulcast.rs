//! Simulcast: a publisher's camera arrives in up to three layers (rids `q`,
//! `h`, `f`: a quarter, half and full resolution, as Chromium names them);
//! each subscriber is sent one of them, the smallest that fills its tile,
//! and is switched only at a keyframe of the new layer, with sequence
//! numbers and timestamps rewritten so its decoder sees one continuous
//! stream.
//!
//! `webrtc` 0.21 receives layers (one `TrackRemote`, one `OnOpen` per rid)
//! but writes `a=simulcast:recv` only when it answers; the SFU always
//! offers, so [`ask`] amends the offer as it leaves. Chromium then sends two
//! or three layers (seen on loopback: 320x240 and 640x480 from its fake
//! camera). Switching rewrites sequence numbers, timestamps and VP8 picture
//! ids; the pure parts are tested here.
//!
//! The layers' SSRCs are learned from the rid header extension of their
//! first packets, and `webrtc` 0.21 forgets them whenever a remote
//! description is applied to the connection again (Chromium no longer puts
//! the rid in its packets by then, so the camera's RTP silently stops
//! reaching the `TrackRemote`). Hence the publishing connection of its own,
//! negotiated once (`protocol::media::Leg`), as mediasoup and LiveKit
//! clients have.
//!
//! Bandwidth. Each layer's bitrate is measured as it arrives; a
//! subscriber's browser says what its connection takes (REMB: the SFU's
//! legs carry no transport-wide sequence numbers, so Chromium estimates on
//! the receiving side), shared by the videos it receives. [`Fit`] caps the
//! layer when the estimate falls below the layer's bitrate, and tries the
//! next one up after a back-off: a receiver's estimate cannot grow much past
//! what it receives, so only a trial shows whether more fits.
//!
//! Off by default (`Config::bandwidth`, `media.simulcast_bandwidth`).
//! Chromium estimates on the receiving side from the abs-send-time
//! extension, which the SFU writes on every forwarded video packet. Without
//! it the estimates fell from about 250 to 10 kbit/s while 200 kbit/s
//! arrived. With it they follow what flows: they start near 160 kbit/s
//! and climb by additive increase, about 5 % a second. On this 2-core
//! machine, with three Chromiums encoding 720p, they also fall whenever
//! the CPU delays packets. That reads as congestion, so a pinned viewer
//! was held at 360 lines for a minute. The default waits for a send-side
//! estimator (transport-wide feedback, as `rtc`'s `Gcc` offers) measured
//! on real networks. The bot test drives `Fit` with estimates of its own.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rtc::rtp;

/// The camera's layers, low to high.
pub const RIDS: [&str; 3] = ["q", "h", "f"];

/// A layer that sent nothing for this long is not offered to subscribers
/// (Chromium stops its top layers when the bandwidth or the camera is low).
pub const LIVE_MS: u64 = 1500;

/// How long a subscriber stays on a layer it switched to while that layer
/// keeps sending (a layer that pauses and resumes would otherwise make it
/// switch back and forth, a keyframe each time).
pub const HOLD: std::time::Duration = std::time::Duration::from_secs(3);

/// Timestamp step put between the last packet of one layer and the first of
/// the next (one frame at 30 fps on the 90 kHz video clock).
const SWITCH_TS_STEP: u32 = 3000;

/// A layer's bitrate is measured over windows this long.
const RATE_WINDOW_MS: u64 = 1000;

/// The first wait before a subscriber held down for bandwidth tries the
/// next layer up; each failed trial doubles it, up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_secs(8);

/// The longest wait between trials.
pub const MAX_BACKOFF: Duration = Duration::from_secs(64);

/// A trial that the estimate did not fail within this long succeeded.
pub const TRIAL: Duration = Duration::from_secs(10);

/// An estimate under the layer that has not risen for this long lowers it
/// (one still rising is a receiver's estimator ramping up, not a limit).
pub const STALL: Duration = Duration::from_secs(3);

/// Asks for simulcast on the media section `mid` of an offer: [`RIDS`] as
/// receive layers and an `a=simulcast:recv` line, unless the section has
/// them (once the browser's answer had layers, `webrtc` writes them itself
/// in later offers, and a second set makes the offer invalid).
pub fn ask(sdp: &str, mid: &str) -> String {
    let has_layers = sdp
        .split("\nm=")
        .find(|section| {
            section
                .lines()
                .any(|l| l.trim_end() == format!("a=mid:{mid}"))
        })
        .is_some_and(|section| section.lines().any(|l| l.starts_with("a=simulcast:")));
    if has_layers {
        return sdp.to_owned();
    }
    let extra: String = RIDS
        .iter()
        .map(|r| format!("a=rid:{r} recv\r\n"))
        .chain(std::iter::once(format!(
            "a=simulcast:recv {}\r\n",
            RIDS.join(";")
        )))
        .collect();
    let mut out = String::with_capacity(sdp.len() + extra.len());
    let mut in_section = false;
    for line in sdp.split_inclusive('\n') {
        if line.starts_with("m=") && in_section {
            out.push_str(&extra);
            in_section = false;
        }
        if line.trim_end() == format!("a=mid:{mid}") {
            in_section = true;
        }
        out.push_str(line);
    }
    if in_section {
        out.push_str(&extra);
    }
    out
}

/// Whether a VP8 packet starts a keyframe, and the frame's size if so
/// (RFC 7741 payload descriptor, then the VP8 frame header, RFC 6386 9.1).
pub fn vp8_keyframe(payload: &[u8]) -> Option<(u16, u16)> {
    let first = *payload.first()?;
    let (extended, start, partition) = (first & 0x80 != 0, first & 0x10 != 0, first & 0x07);
    if !start || partition != 0 {
        return None;
    }
    let mut at = 1;
    if extended {
        let x = *payload.get(at)?;
        at += 1;
        if x & 0x80 != 0 {
            // Picture id: 7 bits, or 15 when its first bit is set.
            at += if *payload.get(at)? & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1;
        }
        if x & 0x30 != 0 {
            at += 1;
        }
    }
    let frame = payload.get(at..at + 10)?;
    // Bit 0 of the frame tag is 0 on keyframes, which carry a start code.
    if frame[0] & 0x01 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((width, height))
}

/// Whether an H.264 packet (RFC 6184) starts a keyframe: an IDR slice or a
/// parameter set, alone, aggregated (STAP-A) or as the first fragment (FU-A).
pub fn h264_keyframe(payload: &[u8]) -> bool {
    let key = |nal: u8| matches!(nal & 0x1f, 5 | 7);
    match payload.first().map(|b| b & 0x1f) {
        Some(24) => {
            let mut at = 1;
            while let Some(len) = payload.get(at..at + 2) {
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if payload.get(at + 2).is_some_and(|n| key(*n)) {
                    return true;
                }
                at += 2 + len;
            }
            false
        }
        Some(28) => payload
            .get(1)
            .is_some_and(|h| h & 0x80 != 0 && h & 0x1f == 5),
        Some(_) => key(payload[0]),
        None => false,
    }
}

/// One layer of a published track.
struct Layer {
    ssrc: u32,
    /// Its place among the layers, low to high (a track without simulcast
    /// has one, rank 0).
    rank: usize,
    /// Frame height, once a keyframe told it (0: not yet).
    height: AtomicU16,
    /// When it last sent, in ms since the track began.
    last_ms: AtomicU64,
    /// Its bitrate over the last whole window (bits/s; 0: not measured yet).
    bps: AtomicU64,
    /// The window being measured: when it began (ms since the track
    /// began) and the bytes so far.
    window_ms: AtomicU64,
    window_bytes: AtomicU64,
}

impl Layer {
    /// Whether it sent within [`LIVE_MS`] of `now` (ms since the track began).
    fn live(&self, now: u64) -> bool {
        let last = self.last_ms.load(Ordering::Relaxed);
        last > 0 && now.saturating_sub(last) < LIVE_MS
    }
}

/// The layers of a published track, as its packets reveal them.
pub struct Layers {
    began: Instant,
    list: std::sync::RwLock<Vec<Layer>>,
    /// `list.len()`, read per packet and subscriber without the lock.
    count: AtomicUsize,
}

impl Default for Layers {
    fn default() -> Self {
        Layers {
            began: Instant::now(),
            list: std::sync::RwLock::new(Vec::new()),
            count: AtomicUsize::new(0),
        }
    }
}

impl Layers {
    /// Notes a layer (its rid, if any, gives its rank).
    pub fn open(&self, ssrc: u32, rid: Option<&str>) {
        let rank = rid
            .and_then(|r| RIDS.iter().position(|x| *x == r))
            .unwrap_or(0);
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        if !list.iter().any(|l| l.ssrc == ssrc) {
            list.push(Layer {
                ssrc,
                rank,
                height: AtomicU16::new(0),
                last_ms: AtomicU64::new(0),
                bps: AtomicU64::new(0),
                window_ms: AtomicU64::new(0),
                window_bytes: AtomicU64::new(0),
            });
            list.sort_by_key(|l| l.rank);
            self.count.store(list.len(), Ordering::Relaxed);
        }
    }

    /// Notes a packet of layer `ssrc`, `bytes` long (with the frame height
    /// when it starts a keyframe that says it). One reader per track calls
    /// this, so the window's fields are not raced.
    pub fn saw(&self, ssrc: u32, height: Option<u16>, bytes: usize) {
        let now = self.began.elapsed().as_millis() as u64;
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = list.iter().find(|l| l.ssrc == ssrc) {
            l.last_ms.store(now, Ordering::Relaxed);
            if let Some(h) = height {
                l.height.store(h, Ordering::Relaxed);
            }
            let total = l.window_bytes.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
            let elapsed = now.saturating_sub(l.window_ms.load(Ordering::Relaxed));
            if elapsed >= RATE_WINDOW_MS {
                l.bps.store(total * 8 * 1000 / elapsed, Ordering::Relaxed);
                l.window_ms.store(now, Ordering::Relaxed);
                l.window_bytes.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Layer `ssrc`'s rank and measured bitrate (bits/s, 0: not yet).
    pub fn rank_and_bps(&self, ssrc: u32) -> Option<(usize, u64)> {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .find(|l| l.ssrc == ssrc)
            .map(|l| (l.rank, l.bps.load(Ordering::Relaxed)))
    }

    /// The highest rank among the layers.
    pub fn top(&self) -> usize {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        list.last().map_or(0, |l| l.rank)
    }

    /// Whether layer `ssrc` sent within [`LIVE_MS`].
    pub fn is_live(&self, ssrc: u32) -> bool {
        let now = self.began.elapsed().as_millis() as u64;
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        list.iter().any(|l| l.ssrc == ssrc && l.live(now))
    }

    /// The layers' SSRCs.
    pub fn ssrcs(&self) -> Vec<u32> {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        list.iter().map(|l| l.ssrc).collect()
    }

    /// How many layers the track has.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether none is known yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The layer for a tile `want` pixels high, of rank `cap` at most (see
    /// [`pick`]). Called per packet and subscriber: no allocation.
    pub fn choose(&self, want: u16, cap: Option<usize>) -> Option<u32> {
        let now = self.began.elapsed().as_millis() as u64;
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        let mut live = [(0u32, 0usize, 0u16); RIDS.len()];
        let mut n = 0;
        for l in list.iter() {
            if n < live.len() && l.live(now) {
                live[n] = (l.ssrc, l.rank, l.height.load(Ordering::Relaxed));
                n += 1;
            }
        }
        pick(&live[..n], want, cap)
    }
}

/// Among live layers `(ssrc, rank, height)` sorted low to high, the
/// smallest whose height fills `want` pixels (within 15 %: the browser
/// scales that little up without visible loss; a layer's height unknown
/// counts as a quarter, half or all of 720 by rank), else the largest; but
/// none above rank `cap` (the bandwidth's limit) unless none is below it.
pub fn pick(live: &[(u32, usize, u16)], want: u16, cap: Option<usize>) -> Option<u32> {
    let height = |rank: usize, h: u16| {
        if h > 0 {
            h
        } else {
            720 >> (2usize.saturating_sub(rank))
        }
    };
    let by_size = live
        .iter()
        .position(|(_, rank, h)| u32::from(height(*rank, *h)) * 100 >= u32::from(want) * 85)
        .or(live.len().checked_sub(1))?;
    let allowed = live[..=by_size]
        .iter()
        .rposition(|(_, rank, _)| cap.is_none_or(|c| *rank <= c))
        .unwrap_or(0);
    Some(live[allowed].0)
}

/// What a subscriber's bandwidth allows of one track's layers: the highest
/// rank it may be sent (None: any), from its connection's estimate shared
/// among the videos it receives. Lowered when the estimate is under the
/// bitrate of the layer being sent and either fell (by 10 % since the last
/// one: congestion) or stopped rising for [`STALL`] (a receiver's estimate
/// starts low and climbs; that climb is no reason to lower). Raised by one
/// rank on trial after a back-off ([`MIN_BACKOFF`], doubled by each failed
/// trial up to [`MAX_BACKOFF`]). A trial fails when the estimate drops
/// below 85 % of what it was when the trial began and under the layer being
/// sent (the higher layer congests the link), and succeeds after [`TRIAL`]
/// without.
#[derive(Debug, Clone)]
pub struct Fit {
    cap: Option<usize>,
    backoff: Duration,
    retry_at: Option<Instant>,
    /// A trial under way: when it began, the estimate then, and the cap
    /// before it.
    trial: Option<(Instant, u64, Option<usize>)>,
    /// The last estimate, and when the estimate last rose.
    last: Option<u64>,
    rose_at: Option<Instant>,
}

impl Default for Fit {
    fn default() -> Self {
        Fit {
            cap: None,
            backoff: MIN_BACKOFF,
            retry_at: None,
            trial: None,
            last: None,
            rose_at: None,
        }
    }
}

impl Fit {
    /// The highest rank allowed (None: any).
    pub fn cap(&self) -> Option<usize> {
        self.cap
    }

    /// Takes a new estimate: `budget` bits/s for this track, while the
    /// subscriber is sent a layer of `rank` measured at `bps` (0: not
    /// measured yet), the track's top rank being `top`.
    pub fn estimate(&mut self, now: Instant, budget: u64, rank: usize, bps: u64, top: usize) {
        let falling = self
            .last
            .is_some_and(|l| budget.saturating_mul(10) < l.saturating_mul(9));
        if self.last.is_none_or(|l| budget > l) {
            self.rose_at = Some(now);
        }
        self.last = Some(budget);
        let stalled = self.rose_at.is_some_and(|t| now.duration_since(t) >= STALL);
        if let Some((since, at_start, before)) = self.trial {
            if budget.saturating_mul(100) < at_start.saturating_mul(85) && budget < bps {
                self.cap = before;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                self.retry_at = Some(now + self.backoff);
                self.trial = None;
            } else if now.duration_since(since) >= TRIAL {
                self.trial = None;
                self.backoff = MIN_BACKOFF;
                self.retry_at = self.cap.map(|_| now + MIN_BACKOFF);
            }
            return;
        }
        let pending = self.cap.is_some_and(|c| c < rank);
        if bps > 0 && budget < bps && rank > 0 && !pending && (falling || stalled) {
            self.cap = Some(rank - 1);
            self.retry_at = Some(now + self.backoff);
            return;
        }
        if let (Some(cap), Some(at)) = (self.cap, self.retry_at) {
            if now >= at {
                self.cap = (cap + 1 < top).then_some(cap + 1);
                self.trial = Some((now, budget, Some(cap)));
            }
        }
    }
}

/// Where a VP8 payload descriptor keeps its picture id: offset, and
/// whether it is 15 bits long.
type PictureIdAt = Option<(usize, bool)>;

/// Where a VP8 payload descriptor keeps its picture id and its TL0PICIDX
/// (offset).
fn vp8_fields(p: &[u8]) -> Option<(PictureIdAt, Option<usize>)> {
    if *p.first()? & 0x80 == 0 {
        return Some((None, None));
    }
    let x = *p.get(1)?;
    let mut at = 2;
    let mut pid = None;
    if x & 0x80 != 0 {
        let long = *p.get(at)? & 0x80 != 0;
        pid = Some((at, long));
        at += if long { 2 } else { 1 };
    }
    let tl0 = if x & 0x40 != 0 {
        p.get(at)?;
        Some(at)
    } else {
        None
    };
    Some((pid, tl0))
}

/// The VP8 picture ids and TL0PICIDX a subscriber has seen: each layer
/// counts its own, and Chromium drops frames whose ids go back, so they
/// continue across switches as the sequence numbers do.
#[derive(Debug, Default)]
struct Vp8Ids {
    pid_delta: u16,
    tl0_delta: u8,
    last_pid: Option<u16>,
    last_tl0: Option<u8>,
}

impl Vp8Ids {
    fn rewrite(&mut self, payload: &mut [u8], switched: bool) {
        let Some((pid, tl0)) = vp8_fields(payload) else {
            return;
        };
        if let Some((at, long)) = pid {
            let mask: u16 = if long { 0x7fff } else { 0x7f };
            let old = if long {
                u16::from_be_bytes([payload[at] & 0x7f, payload[at + 1]])
            } else {
                u16::from(payload[at] & 0x7f)
            };
            if switched {
                self.pid_delta = self
                    .last_pid
                    .map_or(0, |l| l.wrapping_add(1).wrapping_sub(old) & mask);
            }
            let new = old.wrapping_add(self.pid_delta) & mask;
            if long {
                let [hi, lo] = new.to_be_bytes();
                payload[at] = 0x80 | hi;
                payload[at + 1] = lo;
            } else {
                payload[at] = new as u8;
            }
            if self
                .last_pid
                .is_none_or(|l| new.wrapping_sub(l) & mask < mask / 2)
            {
                self.last_pid = Some(new);
            }
        }
        if let Some(at) = tl0 {
            if switched {
                self.tl0_delta = self
                    .last_tl0
                    .map_or(0, |l| l.wrapping_add(1).wrapping_sub(payload[at]));
            }
            let new = payload[at].wrapping_add(self.tl0_delta);
            payload[at] = new;
            if self
                .last_tl0
                .is_none_or(|l| (new.wrapping_sub(l) as i8) >= 0)
            {
                self.last_tl0 = Some(new);
            }
        }
    }
}

/// What one subscriber has been sent of a track: the layer, and how its
/// numbering maps onto what the subscriber sees.
#[derive(Debug, Default)]
pub struct Rewriter {
    current: Option<u32>,
    seq_delta: u16,
    ts_delta: u32,
    last_seq: u16,
    last_ts: u32,
    sent: bool,
    /// The last admitted packet began a new layer.
    switched: bool,
    vp8: Vp8Ids,
}

impl Rewriter {
    /// The layer being sent.
    pub fn current(&self) -> Option<u32> {
        self.current
    }

    /// Whether the last admitted packet began a new layer.
    pub fn switched(&self) -> bool {
        self.switched
    }

    /// Whether to send `header` (of layer `header.ssrc`) to a subscriber
    /// who should get layer `target`; when so, its sequence number and
    /// timestamp are rewritten to continue what was sent. A switch happens
    /// only at a `keyframe` of the target (or at once for the first layer).
    pub fn admit(&mut self, header: &mut rtp::header::Header, target: u32, keyframe: bool) -> bool {
        self.switched = false;
        if Some(header.ssrc) != self.current {
            let first = self.current.is_none();
            if header.ssrc != target || !(keyframe || first) {
                return false;
            }
            if self.sent {
                self.seq_delta = self
                    .last_seq
                    .wrapping_add(1)
                    .wrapping_sub(header.sequence_number);
                self.ts_delta = self
                    .last_ts
                    .wrapping_add(SWITCH_TS_STEP)
                    .wrapping_sub(header.timestamp);
            }
            self.current = Some(header.ssrc);
            self.switched = true;
        }
        header.sequence_number = header.sequence_number.wrapping_add(self.seq_delta);
        header.timestamp = header.timestamp.wrapping_add(self.ts_delta);
        // Retransmissions and reordering do not move the high-water marks back.
        if !self.sent || (header.sequence_number.wrapping_sub(self.last_seq) as i16) > 0 {
            self.last_seq = header.sequence_number;
        }
        if !self.sent || (header.timestamp.wrapping_sub(self.last_ts) as i32) > 0 {
            self.last_ts = header.timestamp;
        }
        self.sent = true;
        true
    }

    /// Renumbers the VP8 picture id and TL0PICIDX of the packet just
    /// admitted (a copy of the payload: it is shared with other subscribers).
    pub fn vp8(&mut self, payload: &mut bytes::Bytes) {
        let mut copy = payload.to_vec();
        self.vp8.rewrite(&mut copy, self.switched);
        *payload = copy.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_asks_for_layers_on_the_camera_section_only() {
        let sdp = "v=0\r\nm=audio 9 X 111\r\na=mid:0\r\nm=video 9 X 96\r\na=mid:1\r\na=recvonly\r\nm=video 9 X 96\r\na=mid:2\r\n";
        let asked = ask(sdp, "1");
        assert_eq!(
            asked,
            "v=0\r\nm=audio 9 X 111\r\na=mid:0\r\nm=video 9 X 96\r\na=mid:1\r\na=recvonly\r\na=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\nm=video 9 X 96\r\na=mid:2\r\n"
        );
        assert!(ask(sdp, "2").ends_with(
            "a=mid:2\r\na=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n"
        ));
        assert_eq!(ask(&asked, "1"), asked, "asked once only");
    }

    #[test]
    fn vp8_keyframes_are_found_with_their_size() {
        // Descriptor with picture id (15 bits), then a 640x360 keyframe header.
        let key = [
            0x90, 0x80, 0x81, 0x02, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01,
        ];
        assert_eq!(vp8_keyframe(&key), Some((640, 360)));
        let mut inter = key;
        inter[4] |= 0x01;
        assert_eq!(vp8_keyframe(&inter), None, "an interframe");
        let mut middle = key;
        middle[0] &= !0x10;
        assert_eq!(vp8_keyframe(&middle), None, "not the start of the frame");
        assert_eq!(vp8_keyframe(&[0x10]), None, "too short");
    }

    #[test]
    fn h264_keyframes_are_idr_or_parameter_sets_however_packed() {
        assert!(h264_keyframe(&[0x65, 1]), "IDR");
        assert!(h264_keyframe(&[0x67, 1]), "SPS");
        assert!(!h264_keyframe(&[0x41, 1]), "non-IDR slice");
        assert!(
            h264_keyframe(&[0x78, 0, 2, 0x67, 1, 0, 1, 0x68]),
            "STAP-A with an SPS"
        );
        assert!(!h264_keyframe(&[0x78, 0, 1, 0x41]), "STAP-A without");
        assert!(h264_keyframe(&[0x7c, 0x85]), "first fragment of an IDR");
        assert!(!h264_keyframe(&[0x7c, 0x05]), "a later fragment");
        assert!(!h264_keyframe(&[]));
    }

    #[test]
    fn vp8_picture_ids_continue_across_a_switch() {
        // X, I (15-bit id), L (TL0PICIDX); id 0x1234, tl0 7.
        let packet = |pid: u16, tl0: u8| {
            let [hi, lo] = pid.to_be_bytes();
            vec![0x90, 0xc0, 0x80 | hi, lo, tl0, 0xaa]
        };
        let mut ids = Vp8Ids::default();
        let mut a = packet(0x1234, 7);
        ids.rewrite(&mut a, true);
        assert_eq!(a, packet(0x1234, 7), "the first layer keeps its ids");
        let mut a = packet(0x1235, 8);
        ids.rewrite(&mut a, false);
        // Another layer, with its own counters (lower ones: going back would freeze).
        let mut b = packet(0x0010, 200);
        ids.rewrite(&mut b, true);
        assert_eq!(b, packet(0x1236, 9));
        let mut b = packet(0x0011, 200);
        ids.rewrite(&mut b, false);
        assert_eq!(b, packet(0x1237, 9));
        // 15-bit ids wrap at 0x7fff, keeping the M bit.
        let mut ids = Vp8Ids::default();
        let mut c = packet(0x7fff, 255);
        ids.rewrite(&mut c, true);
        let mut d = packet(0x0100, 3);
        ids.rewrite(&mut d, true);
        assert_eq!(d, packet(0x0000, 0));
        // Without the extension nothing changes.
        let mut plain = vec![0x10, 0x01, 0x02];
        ids.rewrite(&mut plain, true);
        assert_eq!(plain, [0x10, 0x01, 0x02]);
    }

    #[test]
    fn the_smallest_layer_that_fills_the_tile_is_picked() {
        let live = [(1, 0, 180), (2, 1, 360), (3, 2, 720)];
        assert_eq!(pick(&live, 100, None), Some(1));
        assert_eq!(pick(&live, 300, None), Some(2));
        assert_eq!(
            pick(&live, 1080, None),
            Some(3),
            "none fills it: the largest"
        );
        assert_eq!(
            pick(&live[..2], 700, None),
            Some(2),
            "the top layer stopped"
        );
        assert_eq!(
            pick(&[(7, 1, 0)], 100, None),
            Some(7),
            "height unknown: by rank"
        );
        assert_eq!(pick(&[(7, 0, 0), (8, 2, 0)], 300, None), Some(8));
        assert_eq!(pick(&[], 300, None), None);
        let camera = [(1, 0, 240), (2, 1, 480)];
        assert_eq!(
            pick(&camera, 270, None),
            Some(1),
            "240 lines fill 270 well enough"
        );
        assert_eq!(pick(&camera, 360, None), Some(2));
        // The bandwidth caps what the tile wants, never what it does not.
        assert_eq!(pick(&live, 1080, Some(1)), Some(2));
        assert_eq!(pick(&live, 1080, Some(0)), Some(1));
        assert_eq!(pick(&live, 100, Some(1)), Some(1));
        assert_eq!(
            pick(&live[1..], 1080, Some(0)),
            Some(2),
            "none that low: the lowest"
        );
    }

    #[test]
    fn bandwidth_lowers_the_layer_and_trials_raise_it_after_a_back_off() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut fit = Fit::default();
        // Plenty for the top layer (rank 2, 1.2 Mbit/s): no cap.
        fit.estimate(at(0), 2_000_000, 2, 1_200_000, 2);
        assert_eq!(fit.cap(), None);
        // The estimate falls under the layer: one rank down, and while the
        // switch waits for a keyframe, no further.
        fit.estimate(at(1), 800_000, 2, 1_200_000, 2);
        assert_eq!(fit.cap(), Some(1));
        fit.estimate(at(2), 700_000, 2, 1_200_000, 2);
        assert_eq!(fit.cap(), Some(1));
        // Under the middle layer too: down to the lowest, and no lower.
        fit.estimate(at(3), 300_000, 1, 500_000, 2);
        assert_eq!(fit.cap(), Some(0));
        fit.estimate(at(4), 50_000, 0, 150_000, 2);
        assert_eq!(fit.cap(), Some(0));
        // After the back-off a trial raises the cap; the estimate drops
        // under the layer: failed.
        fit.estimate(at(10), 200_000, 0, 150_000, 2);
        assert_eq!(fit.cap(), Some(0), "not yet: 8 s after the last cut");
        fit.estimate(at(11), 200_000, 0, 150_000, 2);
        assert_eq!(fit.cap(), Some(1), "trial");
        fit.estimate(at(12), 160_000, 1, 500_000, 2);
        assert_eq!(fit.cap(), Some(0), "failed: back down");
        // The back-off doubled: 16 s.
        fit.estimate(at(27), 200_000, 0, 150_000, 2);
        assert_eq!(fit.cap(), Some(0));
        fit.estimate(at(28), 200_000, 0, 150_000, 2);
        assert_eq!(fit.cap(), Some(1), "second trial");
        // A dip that still carries the layer fails nothing; the trial holds
        // for its length: success, and the next rank (the top: no cap) is
        // tried after the shortest back-off.
        fit.estimate(at(33), 400_000, 1, 300_000, 2);
        assert_eq!(fit.cap(), Some(1));
        fit.estimate(at(34), 160_000, 1, 150_000, 2);
        assert_eq!(
            fit.cap(),
            Some(1),
            "under 85 % of the start, but it carries the layer"
        );
        fit.estimate(at(38), 600_000, 1, 500_000, 2);
        assert_eq!(fit.cap(), Some(1));
        fit.estimate(at(46), 700_000, 1, 500_000, 2);
        assert_eq!(fit.cap(), None, "the top layer on trial");
        fit.estimate(at(47), 500_000, 2, 1_200_000, 2);
        assert_eq!(fit.cap(), Some(1), "failed: back to the layer below");
    }

    #[test]
    fn an_estimate_still_climbing_lowers_nothing_but_one_that_stalls_does() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut fit = Fit::default();
        // A new receiver's estimate starts under the layer and climbs.
        for (s, estimate) in [(0, 300_000), (1, 330_000), (2, 360_000)] {
            fit.estimate(at(s), estimate, 1, 500_000, 1);
            assert_eq!(fit.cap(), None, "climbing at {s} s");
        }
        // Not measured yet: no decision on a guess.
        fit.estimate(at(3), 100_000, 1, 0, 1);
        assert_eq!(fit.cap(), None);
        // It stops climbing, under the layer: lowered once it stalled 3 s.
        let mut fit = Fit::default();
        for s in 0..3 {
            fit.estimate(at(s), 360_000, 1, 500_000, 1);
            assert_eq!(fit.cap(), None, "stalled {s} s");
        }
        fit.estimate(at(3), 360_000, 1, 500_000, 1);
        assert_eq!(fit.cap(), Some(0));
    }

    fn header(ssrc: u32, seq: u16, ts: u32) -> rtp::header::Header {
        rtp::header::Header {
            ssrc,
            sequence_number: seq,
            timestamp: ts,
            ..Default::default()
        }
    }

    #[test]
    fn switching_layers_waits_for_a_keyframe_and_keeps_numbering_continuous() {
        let mut r = Rewriter::default();
        let mut h = header(1, 100, 9000);
        assert!(r.admit(&mut h, 1, false), "the first layer starts at once");
        assert_eq!((h.sequence_number, h.timestamp), (100, 9000));
        let mut h = header(1, 101, 12000);
        assert!(r.admit(&mut h, 1, false));
        // The subscriber's tile grew: layer 2 is wanted, but only a keyframe switches.
        let mut h = header(2, 5000, 70000);
        assert!(!r.admit(&mut h, 2, false));
        let mut h = header(1, 102, 15000);
        assert!(r.admit(&mut h, 2, false), "the old layer goes on meanwhile");
        let mut h = header(2, 5001, 73000);
        assert!(r.admit(&mut h, 2, true));
        assert_eq!((h.sequence_number, h.timestamp), (103, 18000));
        assert_eq!(r.current(), Some(2));
        let mut h = header(2, 5002, 76000);
        assert!(r.admit(&mut h, 2, false));
        assert_eq!((h.sequence_number, h.timestamp), (104, 21000));
        // A late packet of the old layer is not sent.
        let mut h = header(1, 103, 18000);
        assert!(!r.admit(&mut h, 2, false));
        // Wrapping numbers wrap.
        let mut r = Rewriter::default();
        let mut h = header(1, u16::MAX, u32::MAX);
        assert!(r.admit(&mut h, 1, false));
        let mut h = header(2, 7, 7);
        assert!(r.admit(&mut h, 2, true));
        assert_eq!((h.sequence_number, h.timestamp), (0, SWITCH_TS_STEP - 1));
    }
}
