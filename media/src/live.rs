//! The live mix of a broadcast, as HLS: the stream viewers get once the
//! media node holds as many WebRTC viewers as it takes, so ten thousand
//! viewers cost one encode rather than ten thousand connections.
//!
//! The model. Each stream on air (a camera, a screen, a microphone) is
//! decoded by an `ffmpeg` of its own, fed the frames the recorder has put in
//! order (IVF or Ogg on its stdin, from a keyframe), which writes raw
//! pictures scaled to the stream's place (or PCM) on its stdout. A
//! compositor ticks on the wall clock [`FPS`] times a second: it lays the
//! latest picture of each place on one canvas, sums the sound, and hands
//! both to one encoding `ffmpeg` (H.264 and AAC in 2-second HLS segments). A
//! speaker whose picture stalls keeps their last frame and one who goes
//! quiet is silence: the stream never waits for anyone, which an `ffmpeg`
//! filter graph over live inputs would (it waits for every input's next
//! frame). The places follow who is on air and the layout the hosts chose,
//! as the audience's page lays them out.
//!
//! Pictures and sound reach the encoder on two pipes written by tasks of
//! their own (its stdin, and a loopback TCP socket it connects to once it
//! has opened the first), so neither waits on the other while `ffmpeg`
//! opens its inputs. The sound starts with as much silence as pictures were
//! written before it connected: both are timed by their counts, so they stay
//! together. An encoder over two seconds behind (an overloaded node) has
//! pictures dropped with their ticks of sound: the stream stays live and in
//! step, and the recording comes out shorter than the broadcast by what was
//! dropped (said in the log when it ends). Each finished segment, then the playlist naming it, goes to
//! the node ([`LiveFile`]), which uploads them for web nodes to serve.
//!
//! A session's recording is a live mix too, recorded and not streamed: its
//! places follow the active speaker rather than a host's choice
//! ([`speaker_places`]): the speaker large, the others beside them.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use protocol::states::StageLayout;
use rtc::media::io::ogg_writer::OggWriter;
use rtc::media::io::Writer;
use rtc::rtp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::ivf::{frame_header, ivf_header, vp8_frame_size};

/// The live mix's picture (a place's width and height are even, for 4:2:0).
pub const LIVE_SIZE: (u32, u32) = (1280, 720);

/// Pictures a second.
pub const FPS: u32 = 25;

/// Sound frames (48 kHz) per picture.
const SAMPLES_PER_TICK: usize = 48_000 / FPS as usize;

/// Sound a stream buffers before it is heard (and again after it ran dry),
/// in interleaved stereo samples: 100 ms against the decoders' jitter.
const PRIME_SAMPLES: usize = 4_800 * 2;

/// Sound a stream may buffer before its oldest is dropped (250 ms: the
/// pictures shown are always the latest, so more would put the sound
/// behind them).
const MAX_SAMPLES: usize = 48_000 * 2 / 4;

/// Frames a decoder may hold unread before it counts as stuck and is
/// started again from the next keyframe.
const DECODER_DEPTH: usize = 64;

/// Pictures the encoder's pipe may hold unread (two seconds, while it
/// starts) before the
/// compositor drops one and says so.
const ENCODER_DEPTH: usize = 2 * FPS as usize;

/// How often the playlist is looked at for new segments.
const POLL_EVERY: u32 = FPS / 2;

/// The playlist's name; segments are `live00001.ts` and on.
pub const PLAYLIST: &str = "live.m3u8";

/// A place on the canvas: left, top, width, height.
pub type Rect = (u32, u32, u32, u32);

/// A file of the live stream to publish, in order: each segment before the
/// playlist that names it.
#[derive(Debug, Clone)]
pub struct LiveFile {
    /// What the broadcast's host said to record under (it names the stream).
    pub label: String,
    /// `live.m3u8` or a segment's name.
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// A live mix under way.
pub struct LiveMix {
    /// Its HLS stream goes out (a broadcast's; a session's is only recorded).
    streamed: bool,
    state: Mutex<MixState>,
    stop: watch::Sender<bool>,
    /// The compositor, which answers the recording it finished.
    task: Mutex<Option<JoinHandle<Option<PathBuf>>>>,
}

#[derive(Default)]
struct MixState {
    on_air: Vec<String>,
    layout: Option<StageLayout>,
    /// Places follow the speaker ([`speaker_places`]), not `on_air`.
    speaker_view: bool,
    /// The latest speaker (kept while nobody speaks).
    speaker: Option<String>,
    /// Cameras in the order they first came.
    seen: Vec<String>,
    /// Inputs by stream name and whether sound, with the recorder job
    /// feeding each.
    inputs: HashMap<(String, bool), (usize, Input)>,
    places: Vec<(String, Rect)>,
    /// Bumped when the places change (the canvas is cleared).
    generation: u64,
    /// A decoder failed to start: none is started again before this.
    broken_until: Option<std::time::Instant>,
}

enum Input {
    Video(Option<VideoDecoder>),
    /// Boxed: the Ogg writer is large.
    Audio(Option<Box<AudioDecoder>>),
}

struct VideoDecoder {
    size: (u32, u32),
    frames: mpsc::Sender<Vec<u8>>,
    /// The latest decoded picture (empty until the first).
    latest: Arc<Mutex<Vec<u8>>>,
    pts: u64,
}

struct AudioDecoder {
    ogg: OggWriter<Pipe>,
    pcm: Arc<Mutex<Pcm>>,
}

/// A decoded stream's sound waiting to be mixed.
#[derive(Default)]
struct Pcm {
    samples: VecDeque<i16>,
    primed: bool,
}

impl Pcm {
    fn push(&mut self, bytes: &[u8]) {
        self.samples.extend(
            bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
        let over = self.samples.len().saturating_sub(MAX_SAMPLES);
        self.samples.drain(..over);
        if self.samples.len() >= PRIME_SAMPLES {
            self.primed = true;
        }
    }

    /// Adds the next tick's sound to `mix` (silence while priming; a stream
    /// that runs dry primes again).
    fn take_into(&mut self, mix: &mut [i32]) {
        if !self.primed {
            return;
        }
        let n = mix.len().min(self.samples.len());
        for (m, s) in mix.iter_mut().zip(self.samples.drain(..n)) {
            *m += i32::from(s);
        }
        if n < mix.len() {
            self.primed = false;
        }
    }
}

/// Bytes for a child's stdin, dropped when it does not keep up.
struct Pipe(mpsc::Sender<Vec<u8>>);

impl std::io::Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.try_send(buf.to_vec()) {
            Err(mpsc::error::TrySendError::Closed(_)) => Err(std::io::ErrorKind::BrokenPipe.into()),
            _ => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change under these locks is one assignment: a panic elsewhere
    // leaves nothing half-done.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LiveMix {
    /// Starts a mix writing the whole to the MP4 `recording` and, with
    /// `out`, its HLS under `dir` (made if missing; it goes when the mix
    /// ends), sending each finished file to `out` under `label`.
    pub fn start(
        dir: PathBuf,
        recording: PathBuf,
        label: String,
        out: Option<mpsc::UnboundedSender<LiveFile>>,
    ) -> std::io::Result<Arc<LiveMix>> {
        if !teeable(&dir) || !teeable(&recording) {
            return Err(std::io::Error::other(format!(
                "the live mix cannot write to {} or {}: a path without [ ] | : \\ '",
                dir.display(),
                recording.display()
            )));
        }
        std::fs::create_dir_all(&dir)?;
        let (stop, stopped) = watch::channel(false);
        let mix = Arc::new(LiveMix {
            streamed: out.is_some(),
            state: Mutex::new(MixState::default()),
            stop,
            task: Mutex::new(None),
        });
        let task = tokio::spawn(compose(
            Arc::downgrade(&mix),
            dir,
            recording,
            label,
            out,
            stopped,
        ));
        *lock(&mix.task) = Some(task);
        Ok(mix)
    }

    /// Whether its HLS stream goes out (viewers past the WebRTC limit can
    /// watch it).
    pub fn streams(&self) -> bool {
        self.streamed
    }

    /// Lays out `on_air` (publishers, in order) as `layout` says from now.
    pub fn arrange(&self, on_air: &[String], layout: Option<StageLayout>) {
        let mut s = lock(&self.state);
        s.on_air = on_air.to_vec();
        s.layout = layout;
        s.speaker_view = false;
        s.replace();
    }

    /// Lays out every camera around the active speaker from now
    /// ([`speaker_places`]), starting with `speaker` (None: the first who
    /// came, until someone speaks).
    pub fn follow_speaker(&self, speaker: Option<&str>) {
        let mut s = lock(&self.state);
        s.speaker_view = true;
        if speaker.is_some() {
            s.speaker = speaker.map(str::to_owned);
        }
        s.replace();
    }

    /// `speaker` speaks now (None: nobody). The last speaker with a camera
    /// stays large while nobody, or someone without one, speaks.
    pub fn speaker(&self, speaker: Option<&str>) {
        let Some(speaker) = speaker else { return };
        let mut s = lock(&self.state);
        let has_camera = s.inputs.contains_key(&(speaker.to_owned(), false));
        if has_camera && s.speaker.as_deref() != Some(speaker) {
            s.speaker = Some(speaker.to_owned());
            s.replace();
        }
    }

    /// Feeds picture `frame` (VP8, in order) of `stream` from recorder job
    /// `job`. True when the mix waits for a keyframe of it (ask the
    /// publisher for one).
    pub fn video(&self, stream: &str, job: usize, frame: &[u8]) -> bool {
        let mut s = lock(&self.state);
        let key = (stream.to_owned(), false);
        if s.inputs.get(&key).is_none_or(|(j, _)| *j != job) {
            s.inputs.insert(key.clone(), (job, Input::Video(None)));
            if !s.seen.iter().any(|n| n == stream) {
                s.seen.push(stream.to_owned());
            }
            s.replace();
        }
        let place = s.place_of(stream).map(|(_, _, w, h)| (w, h));
        let Some((_, Input::Video(decoder))) = s.inputs.get_mut(&key) else {
            return false;
        };
        let Some(size) = place else {
            // Not shown: stopped, so it starts again from a keyframe when
            // it is (frames after a gap would show a broken picture).
            *decoder = None;
            return false;
        };
        if decoder.as_ref().is_some_and(|d| d.size != size) {
            *decoder = None;
        }
        if decoder.is_none() {
            let Some((w, h)) = vp8_frame_size(frame) else {
                return true;
            };
            if s.broken_until
                .is_some_and(|t| t > std::time::Instant::now())
            {
                return false;
            }
            match VideoDecoder::start(size, (w, h)) {
                Ok(d) => {
                    let Some((_, Input::Video(decoder))) = s.inputs.get_mut(&key) else {
                        return false;
                    };
                    *decoder = Some(d);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live mix: no decoder; trying again in 5 s");
                    s.broken_until = Some(std::time::Instant::now() + Duration::from_secs(5));
                    return false;
                }
            }
        }
        let Some((_, Input::Video(decoder))) = s.inputs.get_mut(&key) else {
            return false;
        };
        let Some(d) = decoder.as_mut() else {
            return false;
        };
        d.pts += 1;
        let mut chunk = Vec::with_capacity(frame.len() + 12);
        chunk.extend_from_slice(&frame_header(frame.len(), d.pts));
        chunk.extend_from_slice(frame);
        if d.frames.try_send(chunk).is_err() {
            // Stuck or gone: start again from a keyframe.
            *decoder = None;
            return true;
        }
        false
    }

    /// Feeds sound `packet` (Opus at RTP time `ts`, in order) of `stream`
    /// from recorder job `job`.
    pub fn audio(&self, stream: &str, job: usize, ts: u32, packet: &[u8]) {
        let mut s = lock(&self.state);
        let key = (stream.to_owned(), true);
        if s.inputs.get(&key).is_none_or(|(j, _)| *j != job) {
            s.inputs.insert(key.clone(), (job, Input::Audio(None)));
        }
        let Some((_, Input::Audio(decoder))) = s.inputs.get_mut(&key) else {
            return;
        };
        if decoder.is_none() {
            if s.broken_until
                .is_some_and(|t| t > std::time::Instant::now())
            {
                return;
            }
            match AudioDecoder::start() {
                Ok(d) => {
                    let Some((_, Input::Audio(decoder))) = s.inputs.get_mut(&key) else {
                        return;
                    };
                    *decoder = Some(Box::new(d));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live mix: no sound decoder; trying again in 5 s");
                    s.broken_until = Some(std::time::Instant::now() + Duration::from_secs(5));
                    return;
                }
            }
        }
        let Some((_, Input::Audio(decoder))) = s.inputs.get_mut(&key) else {
            return;
        };
        let Some(d) = decoder.as_mut() else { return };
        let packet = rtp::Packet {
            header: rtp::header::Header {
                timestamp: ts,
                ..Default::default()
            },
            payload: bytes::Bytes::copy_from_slice(packet),
        };
        if d.ogg.write_rtp(&packet).is_err() {
            *decoder = None;
        }
    }

    /// Recorder job `job` of `stream` ended (its publisher left or went off
    /// air): its place empties.
    pub fn gone(&self, stream: &str, job: usize) {
        let mut s = lock(&self.state);
        for audio in [false, true] {
            let key = (stream.to_owned(), audio);
            if s.inputs.get(&key).is_some_and(|(j, _)| *j == job) {
                s.inputs.remove(&key);
                s.replace();
            }
        }
    }

    /// Ends the stream: the encoder finishes its last segment, the playlist
    /// (marked ended) goes out, and the MP4 is closed. Answers the MP4, as
    /// long as the mix ran, unless the encoder failed.
    pub async fn finish(&self) -> Option<PathBuf> {
        self.stop.send_replace(true);
        let task = lock(&self.task).take();
        let recording = match task {
            Some(task) => task.await.ok().flatten(),
            None => None,
        };
        lock(&self.state).inputs.clear();
        recording
    }
}

impl MixState {
    /// Works the places out again; a change clears the canvas.
    fn replace(&mut self) {
        let streams: Vec<&str> = self
            .inputs
            .keys()
            .filter(|(_, audio)| !audio)
            .map(|(n, _)| n.as_str())
            .collect();
        let places = if self.speaker_view {
            speaker_places(&self.seen, self.speaker.as_deref(), &streams, LIVE_SIZE)
        } else {
            live_places(
                &self.on_air,
                self.layout.unwrap_or(StageLayout::Solo),
                &streams,
                LIVE_SIZE,
            )
        };
        if places != self.places {
            self.places = places;
            self.generation += 1;
        }
    }

    fn place_of(&self, stream: &str) -> Option<Rect> {
        self.places
            .iter()
            .find(|(n, _)| n == stream)
            .map(|(_, r)| *r)
    }
}

/// Where each picture goes, as the audience's page lays them out: people in
/// the order on air (one for [`StageLayout::Solo`], all in a grid side by
/// side), or the first shared screen large with the first person beside it.
/// `streams` are the pictures there are (`<id>` cameras, `<id>~screen`
/// screens); only those of people on air are placed.
pub fn live_places(
    on_air: &[String],
    layout: StageLayout,
    streams: &[&str],
    size: (u32, u32),
) -> Vec<(String, Rect)> {
    let has = |name: &str| streams.contains(&name);
    let people: Vec<String> = on_air.iter().filter(|p| has(p)).cloned().collect();
    // A screen is `<id>~screen` (`sfu::screen_stream`).
    let screens: Vec<String> = on_air
        .iter()
        .filter_map(|p| {
            streams
                .iter()
                .find(|s| s.strip_suffix("~screen") == Some(p.as_str()))
        })
        .map(|s| (*s).to_owned())
        .collect();
    let (w, h) = size;
    match layout {
        StageLayout::Solo => people
            .into_iter()
            .take(1)
            .map(|p| (p, (0, 0, w, h)))
            .collect(),
        StageLayout::SideBySide => {
            let rects = grid(people.len(), size);
            people.into_iter().zip(rects).collect()
        }
        StageLayout::ScreenSpeaker => match (screens.first(), people.first()) {
            (Some(screen), Some(person)) => {
                let side = w / 4 / 2 * 2;
                let tall = side * 9 / 16 / 2 * 2;
                vec![
                    (screen.clone(), (0, 0, w - side, h)),
                    (
                        person.clone(),
                        (w - side, (h - tall) / 2 / 2 * 2, side, tall),
                    ),
                ]
            }
            (Some(only), None) | (None, Some(only)) => vec![(only.clone(), (0, 0, w, h))],
            (None, None) => Vec::new(),
        },
    }
}

/// Cameras beside the large place, at most.
pub const BESIDE: usize = 4;

/// Where each picture of a session's recording goes: the speaker (or,
/// before anyone spoke, the first who came) large, the others in a column
/// beside them in the order they came, at most [`BESIDE`]; a shared screen
/// takes the large place and the speaker goes first beside it. `order` is
/// the people in the order they came; `streams` the pictures there are
/// (`<id>` cameras, `<id>~screen` screens). One person fills the picture.
pub fn speaker_places(
    order: &[String],
    speaker: Option<&str>,
    streams: &[&str],
    size: (u32, u32),
) -> Vec<(String, Rect)> {
    let has = |name: &str| streams.contains(&name);
    let people: Vec<&str> = order
        .iter()
        .map(String::as_str)
        .filter(|p| !p.ends_with("~screen") && has(p))
        .collect();
    // A screen is `<id>~screen` (`sfu::screen_stream`); the first shared.
    let screen = order
        .iter()
        .find(|s| s.ends_with("~screen") && has(s))
        .cloned();
    let lead = speaker
        .filter(|s| people.contains(s))
        .or(people.first().copied());
    let (large, beside): (String, Vec<&str>) = match (screen, lead) {
        (Some(screen), lead) => {
            let mut beside: Vec<&str> = lead.into_iter().collect();
            beside.extend(people.iter().filter(|p| Some(**p) != lead));
            (screen, beside)
        }
        (None, Some(lead)) => (
            lead.to_owned(),
            people.iter().copied().filter(|p| *p != lead).collect(),
        ),
        (None, None) => return Vec::new(),
    };
    let (w, h) = size;
    if beside.is_empty() {
        return vec![(large, (0, 0, w, h))];
    }
    let side = w / 4 / 2 * 2;
    let tall = side * 9 / 16 / 2 * 2;
    let big_h = ((w - side) * 9 / 16 / 2 * 2).min(h);
    let mut places = vec![(large, (0, (h - big_h) / 2 / 2 * 2, w - side, big_h))];
    let shown = beside.len().min(BESIDE) as u32;
    let top = (h - shown * tall) / 2 / 2 * 2;
    places.extend(
        beside
            .into_iter()
            .take(BESIDE)
            .zip(0..)
            .map(|(p, i)| (p.to_owned(), (w - side, top + i * tall, side, tall))),
    );
    places
}

/// `n` places in a grid as near square as can be, each at most 16:9 (a
/// camera's shape, as the audience's tiles), a last row that is not full
/// centred, the whole in the middle of `size`.
pub fn grid(n: usize, size: (u32, u32)) -> Vec<Rect> {
    if n == 0 {
        return Vec::new();
    }
    let n = n as u32;
    let cols = (1..=n).find(|c| c * c >= n).unwrap_or(1);
    let rows = n.div_ceil(cols);
    let w = size.0 / cols / 2 * 2;
    let h = (size.1 / rows / 2 * 2).min(w * 9 / 16 / 2 * 2);
    let top = (size.1 - rows * h) / 2 / 2 * 2;
    (0..n)
        .map(|i| {
            let (row, col) = (i / cols, i % cols);
            let in_row = if row == rows - 1 {
                n - row * cols
            } else {
                cols
            };
            let left = (size.0 - in_row * w) / 2 / 2 * 2;
            (left + col * w, top + row * h, w, h)
        })
        .collect()
}

/// The `ffmpeg` arguments of a stream's picture decoder: VP8 in IVF on
/// stdin, raw 4:2:0 pictures of `size` (the source letterboxed) on stdout.
pub fn decoder_args(size: (u32, u32)) -> Vec<String> {
    let (w, h) = size;
    [
        "-nostdin",
        "-v",
        "error",
        "-threads",
        "1",
        "-probesize",
        "32",
        "-analyzeduration",
        "0",
        "-f",
        "ivf",
        "-i",
        "pipe:0",
        "-vf",
        &format!(
            "scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,format=yuv420p"
        ),
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "pipe:1",
    ]
    .map(String::from)
    .to_vec()
}

/// The encoder's arguments: raw pictures on stdin and PCM from `audio`
/// (a loopback TCP address), H.264/AAC as an MP4 at `recording` and, with
/// `hls`, as HLS into that folder.
pub fn encoder_args(
    audio: std::net::SocketAddr,
    hls: Option<&Path>,
    recording: &Path,
) -> Vec<String> {
    let (w, h) = LIVE_SIZE;
    let mut args: Vec<String> = [
        "-nostdin",
        "-v",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-s",
        &format!("{w}x{h}"),
        "-r",
        &FPS.to_string(),
        "-i",
        "pipe:0",
        "-f",
        "s16le",
        "-ar",
        "48000",
        "-ac",
        "2",
        "-i",
        &format!("tcp://{audio}"),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-g",
        &(FPS * 2).to_string(),
        "-keyint_min",
        &(FPS * 2).to_string(),
        "-sc_threshold",
        "0",
        "-b:v",
        "2500k",
        "-maxrate",
        "2500k",
        "-bufsize",
        "5000k",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        // The MP4 needs its codecs' headers apart (the TS segments get
        // them before each keyframe from the muxer).
        "-flags",
        "+global_header",
        "-f",
        "tee",
    ]
    .map(String::from)
    .to_vec();
    // One encode, two outputs: the HLS stream, and the whole as the
    // recording.
    let mp4 = format!("[f=mp4:movflags=+faststart]{}", recording.display());
    args.push(match hls {
        Some(dir) => format!(
            "[f=hls:hls_time=2:hls_list_size=6:hls_start_number_source=epoch:hls_flags=delete_segments+temp_file+independent_segments+omit_endlist:hls_segment_filename={}]{}|{mp4}",
            dir.join("live%05d.ts").display(),
            dir.join(PLAYLIST).display(),
        ),
        None => mp4,
    });
    args
}

/// Whether `path` can stand in the encoder's `tee` output list (none of
/// its separators).
fn teeable(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|p| !p.contains(['[', ']', '|', ':', '\\', '\'']))
}

fn ffmpeg(args: &[String]) -> std::io::Result<Child> {
    Command::new("ffmpeg")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

/// Writes what comes on `rx` to `child`'s stdin until either ends.
fn feed(child: &mut Child, mut rx: mpsc::Receiver<Vec<u8>>) {
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                if stdin.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
    }
}

impl VideoDecoder {
    /// A decoder of a stream whose pictures are `source` big, scaling them
    /// to `size`.
    fn start(size: (u32, u32), source: (u16, u16)) -> std::io::Result<VideoDecoder> {
        let mut child = ffmpeg(&decoder_args(size))?;
        let (frames, rx) = mpsc::channel(DECODER_DEPTH);
        let mut header = Vec::with_capacity(32);
        ivf_header(&mut header, source.0, source.1);
        let _ = frames.try_send(header);
        feed(&mut child, rx);
        let latest = Arc::new(Mutex::new(Vec::new()));
        let slot = latest.clone();
        let len = (size.0 * size.1 * 3 / 2) as usize;
        tokio::spawn(async move {
            let Some(mut stdout) = child.stdout.take() else {
                return;
            };
            let mut buf = vec![0u8; len];
            while stdout.read_exact(&mut buf).await.is_ok() {
                std::mem::swap(&mut *lock(&slot), &mut buf);
                buf.resize(len, 0);
            }
            let _ = child.wait().await;
        });
        Ok(VideoDecoder {
            size,
            frames,
            latest,
            pts: 0,
        })
    }
}

impl AudioDecoder {
    fn start() -> std::io::Result<AudioDecoder> {
        let args: Vec<String> = [
            "-nostdin", "-v", "error", "-f", "ogg", "-i", "pipe:0", "-f", "s16le", "-ar", "48000",
            "-ac", "2", "pipe:1",
        ]
        .map(String::from)
        .to_vec();
        let mut child = ffmpeg(&args)?;
        let (tx, rx) = mpsc::channel(DECODER_DEPTH * 4);
        feed(&mut child, rx);
        let ogg = OggWriter::new(Pipe(tx), 48_000, 2)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let pcm = Arc::new(Mutex::new(Pcm::default()));
        let sink = pcm.clone();
        tokio::spawn(async move {
            let Some(mut stdout) = child.stdout.take() else {
                return;
            };
            let mut buf = vec![0u8; 3840];
            loop {
                match stdout.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    // Whole samples only: an odd byte waits for its pair.
                    Ok(n) => lock(&sink).push(&buf[..n - n % 2]),
                }
            }
            let _ = child.wait().await;
        });
        Ok(AudioDecoder { ogg, pcm })
    }
}

/// Copies picture `frame` (4:2:0, the place's size) onto `canvas` at `at`.
pub fn blit(canvas: &mut [u8], size: (u32, u32), frame: &[u8], at: Rect) {
    let (cw, ch) = (size.0 as usize, size.1 as usize);
    let (x, y, w, h) = (at.0 as usize, at.1 as usize, at.2 as usize, at.3 as usize);
    if frame.len() != w * h * 3 / 2 || x + w > cw || y + h > ch {
        return;
    }
    let (cy, cc) = canvas.split_at_mut(cw * ch);
    let (cu, cv) = cc.split_at_mut(cw * ch / 4);
    let (fy, fc) = frame.split_at(w * h);
    let (fu, fv) = fc.split_at(w * h / 4);
    for row in 0..h {
        let to = (y + row) * cw + x;
        cy[to..to + w].copy_from_slice(&fy[row * w..(row + 1) * w]);
    }
    for (plane, src) in [(cu, fu), (cv, fv)] {
        for row in 0..h / 2 {
            let to = (y / 2 + row) * (cw / 2) + x / 2;
            plane[to..to + w / 2].copy_from_slice(&src[row * (w / 2)..(row + 1) * (w / 2)]);
        }
    }
}

/// A black 4:2:0 picture of `size`.
pub fn black(size: (u32, u32)) -> Vec<u8> {
    let luma = (size.0 * size.1) as usize;
    let mut v = vec![16u8; luma];
    v.resize(luma * 3 / 2, 128);
    v
}

/// The names of the segments a playlist lists.
pub fn segments_of(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.rsplit('/').next().unwrap_or(l).to_owned())
        .collect()
}

/// The compositor: runs the encoder and feeds it a picture and a tick of
/// sound [`FPS`] times a second until stopped, publishing segments as they
/// are finished.
async fn compose(
    mix: std::sync::Weak<LiveMix>,
    dir: PathBuf,
    recording: PathBuf,
    label: String,
    out: Option<mpsc::UnboundedSender<LiveFile>>,
    mut stopped: watch::Receiver<bool>,
) -> Option<PathBuf> {
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "live mix: no socket for its sound");
            return None;
        }
    };
    let audio_at = listener.local_addr().ok()?;
    let hls = out.as_ref().map(|_| dir.as_path());
    let mut encoder = match ffmpeg(&encoder_args(audio_at, hls, &recording)) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "live mix: the encoder did not start");
            return None;
        }
    };
    let (pictures, rx) = mpsc::channel::<Vec<u8>>(ENCODER_DEPTH);
    feed(&mut encoder, rx);
    let (sound, mut sound_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let sound_task = tokio::spawn(async move {
        let Ok(Ok((mut socket, _))) =
            tokio::time::timeout(Duration::from_secs(30), listener.accept()).await
        else {
            return;
        };
        while let Some(chunk) = sound_rx.recv().await {
            if socket.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = socket.shutdown().await;
    });
    let mut canvas = black(LIVE_SIZE);
    let mut generation = u64::MAX;
    let mut mixed = vec![0i32; SAMPLES_PER_TICK * 2];
    let mut published = Published::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / FPS);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n = 0u32;
    let mut dropped = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.wait_for(|s| *s) => break,
        }
        let Some(mix) = mix.upgrade() else { break };
        {
            let s = lock(&mix.state);
            if s.generation != generation {
                generation = s.generation;
                canvas = black(LIVE_SIZE);
            }
            mixed.iter_mut().for_each(|m| *m = 0);
            for (name, at) in &s.places {
                if let Some((_, Input::Video(Some(d)))) = s.inputs.get(&(name.clone(), false)) {
                    blit(&mut canvas, LIVE_SIZE, &lock(&d.latest), *at);
                }
            }
            for (_, input) in s.inputs.values() {
                if let Input::Audio(Some(d)) = input {
                    lock(&d.pcm).take_into(&mut mixed);
                }
            }
        }
        drop(mix);
        let sent = pictures.try_send(canvas.clone());
        if let Err(mpsc::error::TrySendError::Closed(_)) = sent {
            // The recording is then mixed from its segments.
            tracing::warn!("live mix: the encoder exited; the stream stops");
            break;
        }
        if sent.is_err() {
            // The tick's sound goes too, so both keep the same count.
            dropped += 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "live mix: the encoder falls behind; pictures dropped"
                );
            }
        } else {
            let mut pcm = Vec::with_capacity(mixed.len() * 2);
            for m in &mixed {
                let s = (*m).clamp(i16::MIN.into(), i16::MAX.into()) as i16;
                pcm.extend_from_slice(&s.to_le_bytes());
            }
            // Until the encoder reads its sound, this waits in the channel:
            // the sound starts with as many ticks as pictures were written.
            let _ = sound.send(pcm);
        }
        n += 1;
        if let (true, Some(out)) = (n.is_multiple_of(POLL_EVERY), &out) {
            published.send_new(&dir, &label, out).await;
        }
    }
    if dropped > 0 {
        tracing::warn!(
            seconds = f64::from(u32::try_from(dropped).unwrap_or(u32::MAX)) / f64::from(FPS),
            "live mix: ended shorter than it ran, by the pictures dropped"
        );
    }
    drop(pictures);
    drop(sound);
    // An encoder that no longer reads its sound does not hold the end up.
    let abort = sound_task.abort_handle();
    if tokio::time::timeout(Duration::from_secs(10), sound_task)
        .await
        .is_err()
    {
        abort.abort();
    }
    // Closing an hour's MP4 moves its index to the front: give it time.
    let finished = match tokio::time::timeout(Duration::from_secs(120), encoder.wait()).await {
        Ok(Ok(status)) if status.success() => true,
        Ok(status) => {
            tracing::warn!(?status, "live mix: the encoder failed");
            false
        }
        Err(_) => {
            tracing::warn!("live mix: the encoder did not finish; stopped");
            let _ = encoder.kill().await;
            false
        }
    };
    if let Some(out) = &out {
        published.send_new(&dir, &label, out).await;
    }
    let _ = tokio::fs::remove_dir_all(&dir).await;
    (finished && tokio::fs::try_exists(&recording).await.unwrap_or(false)).then_some(recording)
}

/// What of the stream went out already.
#[derive(Default)]
struct Published {
    playlist: String,
    segments: Vec<String>,
}

impl Published {
    /// Sends the segments the playlist lists that have not gone yet, then
    /// the playlist, if it changed.
    async fn send_new(&mut self, dir: &Path, label: &str, out: &mpsc::UnboundedSender<LiveFile>) {
        let Ok(playlist) = tokio::fs::read_to_string(dir.join(PLAYLIST)).await else {
            return;
        };
        if playlist == self.playlist {
            return;
        }
        for name in segments_of(&playlist) {
            if self.segments.contains(&name) {
                continue;
            }
            let Ok(bytes) = tokio::fs::read(dir.join(&name)).await else {
                continue;
            };
            let _ = out.send(LiveFile {
                label: label.to_owned(),
                name: name.clone(),
                bytes,
            });
            self.segments.push(name);
            if self.segments.len() > 64 {
                self.segments.remove(0);
            }
        }
        let _ = out.send(LiveFile {
            label: label.to_owned(),
            name: PLAYLIST.into(),
            bytes: playlist.clone().into_bytes(),
        });
        self.playlist = playlist;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &[(String, Rect)]) -> Vec<&str> {
        p.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn places_follow_the_layout_and_who_is_on_air() {
        let on_air = ["bo".to_owned(), "ada".to_owned()];
        let streams = ["ada", "bo", "ada~screen", "cy"];
        let solo = live_places(&on_air, StageLayout::Solo, &streams, LIVE_SIZE);
        assert_eq!(solo, [("bo".to_owned(), (0, 0, 1280, 720))]);
        let side = live_places(&on_air, StageLayout::SideBySide, &streams, LIVE_SIZE);
        assert_eq!(names(&side), ["bo", "ada"]);
        assert_eq!(side[0].1, (0, 180, 640, 360));
        assert_eq!(side[1].1, (640, 180, 640, 360));
        let screen = live_places(&on_air, StageLayout::ScreenSpeaker, &streams, LIVE_SIZE);
        assert_eq!(names(&screen), ["ada~screen", "bo"]);
        assert_eq!(screen[0].1, (0, 0, 960, 720));
        assert_eq!(screen[1].1, (960, 270, 320, 180));
        // Someone on air without a camera yet has no place; nobody off air does.
        let waiting = live_places(
            &["dee".to_owned()],
            StageLayout::SideBySide,
            &streams,
            LIVE_SIZE,
        );
        assert!(waiting.is_empty());
    }

    #[test]
    fn a_session_recording_follows_the_speaker() {
        let order: Vec<String> = ["ada", "bo", "cy"].map(String::from).to_vec();
        let streams = ["ada", "bo", "cy"];
        // Before anyone spoke, the first who came is large.
        let first = speaker_places(&order, None, &streams, LIVE_SIZE);
        assert_eq!(names(&first), ["ada", "bo", "cy"]);
        assert_eq!(first[0].1, (0, 90, 960, 540));
        assert_eq!(first[1].1, (960, 180, 320, 180));
        assert_eq!(first[2].1, (960, 360, 320, 180));
        // The speaker moves to the large place; the others keep their order.
        let bo = speaker_places(&order, Some("bo"), &streams, LIVE_SIZE);
        assert_eq!(names(&bo), ["bo", "ada", "cy"]);
        // A speaker without a camera leaves the large place to who has one.
        let dee = speaker_places(&order, Some("dee"), &streams, LIVE_SIZE);
        assert_eq!(names(&dee), ["ada", "bo", "cy"]);
        // A screen is large, its speaker first beside it, also the screen
        // of someone without a camera.
        let order: Vec<String> = ["ada", "bo", "cy", "dee~screen", "cy~screen"]
            .map(String::from)
            .to_vec();
        let shared = ["ada", "bo", "cy", "cy~screen"];
        let screen = speaker_places(&order, Some("bo"), &shared, LIVE_SIZE);
        assert_eq!(names(&screen), ["cy~screen", "bo", "ada", "cy"]);
        let camera_less = ["ada", "dee~screen", "cy~screen"];
        let dee = speaker_places(&order, Some("dee"), &camera_less, LIVE_SIZE);
        assert_eq!(names(&dee), ["dee~screen", "ada"]);
        // Alone, one fills the picture; at most four go beside.
        let alone = speaker_places(&order, Some("cy"), &["cy"], LIVE_SIZE);
        assert_eq!(alone, [("cy".to_owned(), (0, 0, 1280, 720))]);
        let many: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
        let all: Vec<&str> = many.iter().map(String::as_str).collect();
        let crowd = speaker_places(&many, Some("p6"), &all, LIVE_SIZE);
        assert_eq!(names(&crowd), ["p6", "p0", "p1", "p2", "p3"]);
        for (_, (x, y, w, h)) in crowd.iter().chain(&screen) {
            assert!(x % 2 == 0 && y % 2 == 0 && w % 2 == 0 && h % 2 == 0);
            assert!(x + w <= LIVE_SIZE.0 && y + h <= LIVE_SIZE.1);
        }
        assert!(speaker_places(&order, None, &[], LIVE_SIZE).is_empty());
    }

    #[test]
    fn places_are_even_and_inside_the_picture() {
        for n in 1..=9 {
            for (x, y, w, h) in grid(n, LIVE_SIZE) {
                assert!(x % 2 == 0 && y % 2 == 0 && w % 2 == 0 && h % 2 == 0);
                assert!(x + w <= LIVE_SIZE.0 && y + h <= LIVE_SIZE.1, "{n}");
            }
        }
    }

    #[test]
    fn a_picture_lands_at_its_place_in_every_plane() {
        let size = (8, 4);
        let mut canvas = black(size);
        let frame = [
            vec![200u8; 4 * 2], // luma 4x2
            vec![10u8; 2],      // u 2x1
            vec![20u8; 2],      // v 2x1
        ]
        .concat();
        blit(&mut canvas, size, &frame, (2, 2, 4, 2));
        let (y, c) = canvas.split_at(32);
        assert_eq!(&y[16..24], &[16, 16, 200, 200, 200, 200, 16, 16]);
        assert_eq!(&y[0..8], &[16; 8]);
        let (u, v) = c.split_at(8);
        assert_eq!(u, &[128, 128, 128, 128, 128, 10, 10, 128]);
        assert_eq!(v, &[128, 128, 128, 128, 128, 20, 20, 128]);
        // A picture of the wrong size is left out rather than torn.
        let before = canvas.clone();
        blit(&mut canvas, size, &frame[1..], (2, 2, 4, 2));
        assert_eq!(canvas, before);
    }

    #[test]
    fn sound_is_heard_once_primed_and_primes_again_when_dry() {
        let mut pcm = Pcm::default();
        let mut mix = vec![0i32; 4];
        pcm.push(&[1, 0, 1, 0]);
        pcm.take_into(&mut mix);
        assert_eq!(mix, [0; 4], "not primed yet");
        pcm.push(&vec![1u8; PRIME_SAMPLES * 2]);
        pcm.take_into(&mut mix);
        assert_eq!(mix, [1, 1, 257, 257]);
        pcm.samples.truncate(2);
        let mut mix = vec![0i32; 4];
        pcm.take_into(&mut mix);
        assert!(!pcm.primed);
    }

    #[test]
    fn a_playlist_names_its_segments() {
        let p = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nlive00003.ts\n#EXTINF:2.0,\n/tmp/x/live00004.ts\n";
        assert_eq!(segments_of(p), ["live00003.ts", "live00004.ts"]);
    }
}
