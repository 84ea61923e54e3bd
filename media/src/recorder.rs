//! Recording a room. Each track a recording takes is written to a file of
//! its own as it arrives (a *segment*: VP8 in IVF, Opus in Ogg). Packets go
//! through a jitter buffer first (`rtc`'s sample builder: NACK
//! retransmissions arrive out of order) and frames are timed by their RTP
//! timestamps, not by their count (Chromium's camera does not keep a fixed
//! rate). A segment starts at the first keyframe (one is asked for when the
//! track is taken, and again after a loss) and knows when that frame arrived
//! on the recording's clock. A publisher who drops and rejoins, or a track
//! published after the recording started, makes a new segment.
//!
//! When the recording stops, it is the live mix's MP4 when there is one
//! ([`crate::live`]: what the audience saw, as they saw it). Otherwise
//! [`mix`] has `ffmpeg` lay every segment out at its start on one picture
//! (a grid with a place per stream, screens first) and mix their sound,
//! into one MP4 exactly as long as the recording, so what was said and
//! shown stays where it happened, gaps included.
//!
//! Simulcast: a camera sends up to three layers; a segment keeps to one, the
//! tallest whose keyframe arrives in its first two seconds.

use std::collections::VecDeque;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rtc::media::io::sample_builder::SampleBuilder;
use rtc::media::io::Writer;
use rtc::rtp;
use rtc::rtp::codec::opus::OpusPacket;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::assets;
use crate::ivf::{frame_header, ivf_header, vp8_frame_size};
use crate::live::LiveMix;
use crate::simulcast::vp8_keyframe;

/// Packets a segment's writer may hold unread before new ones are dropped
/// (a few seconds of video).
pub const TAP_DEPTH: usize = 1024;

/// How long the jitter buffer waits for a missing packet.
pub const JITTER_WAIT: Duration = Duration::from_millis(300);

/// The picture of a mixed recording.
pub const MIX_SIZE: (u32, u32) = (1280, 720);

/// A recording under way.
pub struct Recording {
    dir: PathBuf,
    started: Instant,
    started_at: SystemTime,
    stop: watch::Sender<bool>,
    next: AtomicUsize,
    writers: std::sync::Mutex<Vec<JoinHandle<Option<Segment>>>>,
    /// The live mix its tracks also feed (None: not streamed).
    live: Option<Arc<LiveMix>>,
}

/// One track's stretch of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Whose: a publisher's id, or `<id>~screen` for their screen.
    pub stream: String,
    /// Sound (Ogg) or picture (IVF).
    pub audio: bool,
    /// Its file.
    pub file: PathBuf,
    /// When its first frame arrived, on the recording's clock.
    pub start: Duration,
    /// How long it plays (its last timestamp).
    pub length: Duration,
}

/// A recording that stopped and was mixed.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The mixed MP4.
    pub file: PathBuf,
    /// How long it ran (and the MP4 plays).
    pub duration: Duration,
    /// When it started.
    pub started_at: SystemTime,
    /// What went into it.
    pub segments: Vec<Segment>,
}

impl Recording {
    /// A recording writing its segments under `dir` (made if missing), its
    /// tracks also feeding `live`.
    pub fn start(dir: PathBuf, live: Option<Arc<LiveMix>>) -> std::io::Result<Arc<Recording>> {
        std::fs::create_dir_all(&dir)?;
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(Recording {
            dir,
            started: Instant::now(),
            started_at: SystemTime::now(),
            stop,
            next: AtomicUsize::new(0),
            writers: std::sync::Mutex::new(Vec::new()),
            live,
        }))
    }

    /// The live mix it feeds.
    pub fn live(&self) -> Option<&Arc<LiveMix>> {
        self.live.as_ref()
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes a track of `stream` into the recording: the sender its packets
    /// go to (dropping it ends the segment). `keyframe` asks its publisher
    /// for a keyframe; it is called now and after losses.
    pub fn take(
        self: &Arc<Self>,
        stream: &str,
        audio: bool,
        keyframe: impl Fn() + Send + Sync + 'static,
    ) -> mpsc::Sender<rtp::Packet> {
        let (tx, rx) = mpsc::channel(TAP_DEPTH);
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let safe: String = stream
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let file = self.dir.join(format!(
            "{n:03}-{safe}.{}",
            if audio { "ogg" } else { "ivf" }
        ));
        let job = Job {
            n,
            live: self.live.clone(),
            stream: stream.to_owned(),
            file,
            started: self.started,
            stop: self.stop.subscribe(),
            keyframe: Box::new(keyframe),
        };
        let writer = if audio {
            tokio::spawn(job.audio(rx))
        } else {
            tokio::spawn(job.video(rx))
        };
        self.writers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(writer);
        tx
    }

    /// Stops: every segment ends now. The recording is the live mix's MP4
    /// when there is one (what the audience saw, in their layout); without
    /// it (or if its encoder failed), the segments are mixed into
    /// `recording.mp4` in its directory.
    pub async fn finish(&self) -> Result<Finished, assets::Error> {
        let duration = self.started.elapsed();
        self.stop.send_replace(true);
        let live = match &self.live {
            Some(live) => live.finish().await,
            None => None,
        };
        let writers = std::mem::take(&mut *self.writers.lock().unwrap_or_else(|e| e.into_inner()));
        let mut segments = Vec::new();
        for w in writers {
            if let Ok(Some(s)) = w.await {
                segments.push(s);
            }
        }
        let file = match live {
            Some(file) => file,
            None => {
                let file = self.dir.join("recording.mp4");
                mix(&segments, duration, &file).await?;
                file
            }
        };
        Ok(Finished {
            file,
            duration,
            started_at: self.started_at,
            segments,
        })
    }
}

/// What a segment's writer needs.
struct Job {
    /// Its number in the recording.
    n: usize,
    live: Option<Arc<LiveMix>>,
    stream: String,
    file: PathBuf,
    started: Instant,
    stop: watch::Receiver<bool>,
    keyframe: Box<dyn Fn() + Send + Sync>,
}

/// When each recent RTP timestamp's first packet arrived (the start of a
/// segment is its first frame's arrival).
#[derive(Default)]
struct Arrivals(VecDeque<(u32, Instant)>);

impl Arrivals {
    fn note(&mut self, ts: u32, at: Instant) {
        if self.0.back().map(|(t, _)| *t) != Some(ts) {
            if self.0.len() == 256 {
                self.0.pop_front();
            }
            self.0.push_back((ts, at));
        }
    }

    fn of(&self, ts: u32) -> Option<Instant> {
        self.0.iter().find(|(t, _)| *t == ts).map(|(_, at)| *at)
    }
}

/// The next packet, or None when the track is gone or the recording stops.
async fn next(
    rx: &mut mpsc::Receiver<rtp::Packet>,
    stop: &mut watch::Receiver<bool>,
) -> Option<rtp::Packet> {
    if *stop.borrow() {
        return None;
    }
    tokio::select! {
        p = rx.recv() => p,
        _ = stop.wait_for(|s| *s) => None,
    }
}

impl Job {
    /// Its stream's place in the live mix empties.
    fn leave_live(&self) {
        if let Some(live) = &self.live {
            live.gone(&self.stream, self.n);
        }
    }

    fn buffer<T: Depacketizer>(depacketizer: T, rate: u32) -> SampleBuilder<T> {
        SampleBuilder::new(512, depacketizer, rate).with_max_time_delay(JITTER_WAIT)
    }

    /// Writes a camera or screen, VP8, to IVF.
    async fn video(mut self, mut rx: mpsc::Receiver<rtp::Packet>) -> Option<Segment> {
        (self.keyframe)();
        let mut layer: Option<(u32, u16)> = None;
        let mut buffer = Job::buffer(Vp8Packet::default(), 90_000);
        let mut arrivals = Arrivals::default();
        let mut out: Option<(IvfWriter, u32, Duration)> = None;
        let mut last_pts = 0u64;
        let mut frames = 0u32;
        let mut last_ask = Instant::now();
        while let Some(packet) = next(&mut rx, &mut self.stop).await {
            let now = Instant::now();
            if let Some((_, height)) = vp8_keyframe(&packet.payload) {
                let taller =
                    layer.is_some_and(|(ssrc, h)| ssrc != packet.header.ssrc && height > h);
                if layer.is_none() || (taller && frames < 40) {
                    // A taller layer early on: start again on it.
                    layer = Some((packet.header.ssrc, height));
                    buffer = Job::buffer(Vp8Packet::default(), 90_000);
                    out = None;
                    frames = 0;
                }
            }
            if layer.map(|(ssrc, _)| ssrc) != Some(packet.header.ssrc) {
                continue;
            }
            arrivals.note(packet.header.timestamp, now);
            buffer.push(now, packet);
            while let Some(sample) = buffer.pop(now) {
                if sample.prev_dropped_packets > 0
                    && last_ask.elapsed() > Duration::from_millis(500)
                {
                    last_ask = Instant::now();
                    (self.keyframe)();
                }
                let ts = sample.packet_timestamp;
                if out.is_none() {
                    // Decoding starts at a keyframe.
                    let Some((w, h)) = vp8_frame_size(&sample.data) else {
                        continue;
                    };
                    let writer = match IvfWriter::create(&self.file, w, h) {
                        Ok(w) => w,
                        Err(e) => {
                            tracing::warn!(file = %self.file.display(), error = %e, "recording segment");
                            return None;
                        }
                    };
                    let at = arrivals.of(ts).unwrap_or(now);
                    out = Some((writer, ts, at.saturating_duration_since(self.started)));
                }
                if let Some((writer, first, _)) = out.as_mut() {
                    last_pts = u64::from(ts.wrapping_sub(*first));
                    if let Err(e) = writer.frame(last_pts, &sample.data) {
                        tracing::warn!(error = %e, "recording a frame");
                        return None;
                    }
                    frames += 1;
                    let wants_key = self
                        .live
                        .as_ref()
                        .is_some_and(|l| l.video(&self.stream, self.n, &sample.data));
                    if wants_key && last_ask.elapsed() > Duration::from_millis(500) {
                        last_ask = Instant::now();
                        (self.keyframe)();
                    }
                }
            }
        }
        self.leave_live();
        let (writer, _, start) = out?;
        if let Err(e) = writer.finish() {
            tracing::warn!(error = %e, "closing a recording segment");
            return None;
        }
        Some(Segment {
            stream: self.stream,
            audio: false,
            file: self.file,
            start,
            length: Duration::from_micros(last_pts * 1_000_000 / 90_000),
        })
    }

    /// Writes a microphone, Opus, to Ogg.
    async fn audio(mut self, mut rx: mpsc::Receiver<rtp::Packet>) -> Option<Segment> {
        let mut buffer = Job::buffer(OpusPacket, 48_000);
        let mut arrivals = Arrivals::default();
        let mut out: Option<(
            rtc::media::io::ogg_writer::OggWriter<BufWriter<std::fs::File>>,
            u32,
            Duration,
        )> = None;
        let mut last = 0u32;
        while let Some(packet) = next(&mut rx, &mut self.stop).await {
            let now = Instant::now();
            arrivals.note(packet.header.timestamp, now);
            buffer.push(now, packet);
            while let Some(sample) = buffer.pop(now) {
                let ts = sample.packet_timestamp;
                if out.is_none() {
                    let file = match std::fs::File::create(&self.file) {
                        Ok(f) => BufWriter::new(f),
                        Err(e) => {
                            tracing::warn!(file = %self.file.display(), error = %e, "recording segment");
                            return None;
                        }
                    };
                    let Ok(writer) = rtc::media::io::ogg_writer::OggWriter::new(file, 48_000, 2)
                    else {
                        return None;
                    };
                    let at = arrivals.of(ts).unwrap_or(now);
                    out = Some((writer, ts, at.saturating_duration_since(self.started)));
                }
                if let Some((writer, first, _)) = out.as_mut() {
                    last = ts.wrapping_sub(*first);
                    let packet = rtp::Packet {
                        header: rtp::header::Header {
                            timestamp: last,
                            ..Default::default()
                        },
                        payload: sample.data,
                    };
                    if let Err(e) = writer.write_rtp(&packet) {
                        tracing::warn!(error = %e, "recording a sound frame");
                        return None;
                    }
                    if let Some(live) = &self.live {
                        live.audio(&self.stream, self.n, last, &packet.payload);
                    }
                }
            }
        }
        self.leave_live();
        let (mut writer, _, start) = out?;
        if let Err(e) = writer.close() {
            tracing::warn!(error = %e, "closing a recording segment");
            return None;
        }
        Some(Segment {
            stream: self.stream,
            audio: true,
            file: self.file,
            start,
            length: Duration::from_micros(u64::from(last) * 1_000_000 / 48_000),
        })
    }
}

/// An IVF file of VP8 frames with a 1/90000 time base, each frame's time
/// its RTP timestamp (the `rtc` writer numbers frames instead, which drifts
/// when the camera's rate is not the header's).
pub struct IvfWriter {
    file: BufWriter<std::fs::File>,
    frames: u32,
}

impl IvfWriter {
    /// Starts `path` for frames of `width`×`height`.
    pub fn create(path: &Path, width: u16, height: u16) -> std::io::Result<IvfWriter> {
        let mut file = BufWriter::new(std::fs::File::create(path)?);
        let mut header = Vec::with_capacity(32);
        ivf_header(&mut header, width, height);
        file.write_all(&header)?;
        Ok(IvfWriter { file, frames: 0 })
    }

    /// Appends a frame shown at `pts` (90 kHz).
    pub fn frame(&mut self, pts: u64, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all(&frame_header(data.len(), pts))?;
        self.file.write_all(data)?;
        self.frames += 1;
        Ok(())
    }

    /// Writes the frame count into the header and closes the file.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(24))?;
        self.file.write_all(&self.frames.to_le_bytes())?;
        self.file.flush()
    }
}

/// Where each stream's picture goes: screens first, then people, in the
/// order they first appeared; a grid of as many places.
pub fn places(segments: &[Segment], size: (u32, u32)) -> Vec<(String, (u32, u32, u32, u32))> {
    let mut streams: Vec<(bool, Duration, String)> = Vec::new();
    for s in segments.iter().filter(|s| !s.audio) {
        if !streams.iter().any(|(_, _, n)| *n == s.stream) {
            streams.push((!s.stream.ends_with("~screen"), s.start, s.stream.clone()));
        }
    }
    streams.sort();
    let n = streams.len().max(1) as u32;
    let cols = (1..=n).find(|c| c * c >= n).unwrap_or(1);
    let rows = n.div_ceil(cols);
    let (w, h) = (size.0 / cols / 2 * 2, size.1 / rows / 2 * 2);
    // A row that is not full is centred, and the grid sits in the middle.
    let top = (size.1 - rows * h) / 2;
    streams
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, name))| {
            let (row, col) = (i as u32 / cols, i as u32 % cols);
            let in_row = if row == rows - 1 {
                n - row * cols
            } else {
                cols
            };
            let left = (size.0 - in_row * w) / 2;
            (name, (left + col * w, top + row * h, w, h))
        })
        .collect()
}

/// The `ffmpeg` arguments that mix `segments` into `out`, `duration` long.
pub fn mix_args(segments: &[Segment], duration: Duration, out: &Path) -> Vec<String> {
    let (width, height) = MIX_SIZE;
    let secs = format!("{:.3}", duration.as_secs_f64());
    let mut args: Vec<String> = ["-nostdin", "-v", "error", "-y"].map(String::from).to_vec();
    for s in segments {
        args.push("-i".into());
        args.push(s.file.display().to_string());
    }
    let places = places(segments, MIX_SIZE);
    let mut graph = vec![format!(
        "color=c=black:s={width}x{height}:r=25:d={secs}[base0]"
    )];
    let mut base = 0;
    for (i, s) in segments.iter().enumerate().filter(|(_, s)| !s.audio) {
        let Some((_, (x, y, w, h))) = places.iter().find(|(n, _)| *n == s.stream) else {
            continue;
        };
        let at = s.start.as_secs_f64();
        graph.push(format!(
            "[{i}:v]setpts=PTS-STARTPTS+{at:.3}/TB,scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2[v{i}]"
        ));
        graph.push(format!(
            "[base{base}][v{i}]overlay={x}:{y}:eof_action=pass[base{}]",
            base + 1
        ));
        base += 1;
    }
    graph.push(format!("[base{base}]format=yuv420p[vout]"));
    let sounds: Vec<String> = segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.audio)
        .map(|(i, s)| {
            let ms = s.start.as_millis();
            graph.push(format!(
                "[{i}:a]aresample=48000:async=1:first_pts=0,adelay={ms}:all=1[a{i}]"
            ));
            format!("[a{i}]")
        })
        .collect();
    if sounds.is_empty() {
        graph.push(format!("anullsrc=r=48000:cl=stereo,atrim=0:{secs}[aout]"));
    } else {
        graph.push(format!(
            "{}amix=inputs={}:duration=longest:normalize=0,apad=whole_dur={secs}[aout]",
            sounds.concat(),
            sounds.len()
        ));
    }
    args.extend([
        "-filter_complex".into(),
        graph.join(";"),
        "-map".into(),
        "[vout]".into(),
        "-map".into(),
        "[aout]".into(),
        "-c:v".into(),
        "libx264".into(),
        "-preset".into(),
        "veryfast".into(),
        "-r".into(),
        "25".into(),
        "-c:a".into(),
        "aac".into(),
        "-b:a".into(),
        "128k".into(),
        "-t".into(),
        secs,
        "-movflags".into(),
        "+faststart".into(),
        out.display().to_string(),
    ]);
    args
}

/// Mixes `segments` into the MP4 `out`, `duration` long.
pub async fn mix(
    segments: &[Segment],
    duration: Duration,
    out: &Path,
) -> Result<(), assets::Error> {
    assets::run("ffmpeg", mix_args(segments, duration, out))
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(stream: &str, audio: bool, start_ms: u64) -> Segment {
        Segment {
            stream: stream.into(),
            audio,
            file: PathBuf::from(format!("{stream}.x")),
            start: Duration::from_millis(start_ms),
            length: Duration::from_secs(1),
        }
    }

    #[test]
    fn streams_get_a_place_each_screens_first_and_a_rejoin_keeps_its_place() {
        let one = places(&[seg("ada", false, 0), seg("ada", true, 0)], MIX_SIZE);
        assert_eq!(one, [("ada".to_owned(), (0, 0, 1280, 720))]);
        let segments = [
            seg("ada", false, 0),
            seg("bo", false, 500),
            seg("ada~screen", false, 900),
            seg("ada", false, 5_000),
        ];
        let p = places(&segments, MIX_SIZE);
        let names: Vec<&str> = p.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["ada~screen", "ada", "bo"]);
        // Three places: two by two, the last row centred.
        assert_eq!(p[0].1, (0, 0, 640, 360));
        assert_eq!(p[1].1, (640, 0, 640, 360));
        assert_eq!(p[2].1, (320, 360, 640, 360));
    }

    #[test]
    fn the_mix_puts_each_segment_at_its_start_and_lasts_the_recording() {
        let segments = [
            seg("ada", false, 0),
            seg("ada", true, 40),
            seg("ada", false, 9_500),
        ];
        let args = mix_args(
            &segments,
            Duration::from_millis(20_250),
            Path::new("out.mp4"),
        );
        let graph = &args[args.iter().position(|a| a == "-filter_complex").unwrap() + 1];
        assert!(
            graph.contains("color=c=black:s=1280x720:r=25:d=20.250[base0]"),
            "{graph}"
        );
        assert!(
            graph.contains("[0:v]setpts=PTS-STARTPTS+0.000/TB"),
            "{graph}"
        );
        assert!(
            graph.contains("[2:v]setpts=PTS-STARTPTS+9.500/TB"),
            "{graph}"
        );
        assert!(
            graph.contains("[1:a]aresample=48000:async=1:first_pts=0,adelay=40:all=1[a1]"),
            "{graph}"
        );
        assert!(graph.contains("apad=whole_dur=20.250[aout]"), "{graph}");
        assert_eq!(
            args[args.iter().position(|a| a == "-t").unwrap() + 1],
            "20.250"
        );
    }
}
