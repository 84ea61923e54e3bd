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
//! Off by default (`media.simulcast`), because of `webrtc` 0.21: the
//! layers' SSRCs are learned from the rid header extension of their first
//! packets, and when the server offers the publisher's connection again
//! (someone else's track comes or goes) the new answer resets them; Chromium
//! no longer puts the rid in its packets by then, so the camera's RTP stops
//! reaching the `TrackRemote` (no error, no new `on_track`, audio unaffected;
//! seen with three Chromium tabs: the first publisher's video froze when the
//! second one's tracks were offered to it). Simulcast needs the publisher's
//! connection never to be renegotiated: one connection to publish and one to
//! receive, as mediasoup and LiveKit clients have.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

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
            });
            list.sort_by_key(|l| l.rank);
            self.count.store(list.len(), Ordering::Relaxed);
        }
    }

    /// Notes a packet of layer `ssrc` (with the frame height when it
    /// starts a keyframe that says it).
    pub fn saw(&self, ssrc: u32, height: Option<u16>) {
        let now = self.began.elapsed().as_millis() as u64;
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = list.iter().find(|l| l.ssrc == ssrc) {
            l.last_ms.store(now, Ordering::Relaxed);
            if let Some(h) = height {
                l.height.store(h, Ordering::Relaxed);
            }
        }
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

    /// The layer for a tile `want` pixels high (see [`pick`]). Called per
    /// packet and subscriber: no allocation.
    pub fn choose(&self, want: u16) -> Option<u32> {
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
        pick(&live[..n], want)
    }
}

/// Among live layers `(ssrc, rank, height)` sorted low to high, the
/// smallest whose height fills `want` pixels (a layer's height unknown
/// counts as a quarter, half or all of 720 by rank), else the largest.
pub fn pick(live: &[(u32, usize, u16)], want: u16) -> Option<u32> {
    let height = |rank: usize, h: u16| {
        if h > 0 {
            h
        } else {
            720 >> (2usize.saturating_sub(rank))
        }
    };
    live.iter()
        .find(|(_, rank, h)| height(*rank, *h) >= want)
        .or(live.last())
        .map(|(ssrc, _, _)| *ssrc)
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
        assert_eq!(pick(&live, 100), Some(1));
        assert_eq!(pick(&live, 300), Some(2));
        assert_eq!(pick(&live, 1080), Some(3), "none fills it: the largest");
        assert_eq!(pick(&live[..2], 700), Some(2), "the top layer stopped");
        assert_eq!(pick(&[(7, 1, 0)], 100), Some(7), "height unknown: by rank");
        assert_eq!(pick(&[(7, 0, 0), (8, 2, 0)], 300), Some(8));
        assert_eq!(pick(&[], 300), None);
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
