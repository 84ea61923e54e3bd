//! Media assets' transforms (the seed's MTS), on `ffprobe` and `ffmpeg` run
//! as processes: what an uploaded file is ([`probe`]), its HLS renditions
//! ([`hls`], [`master_playlist`]) and a thumbnail ([`thumbnail`]). Files in,
//! files out: the registry of assets (the seed's MAR) and their storage are
//! `services::assets`.
//!
//! The processes are run with `std::process` on tokio's blocking pool, so a
//! transform of many minutes holds no runtime thread.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Why an uploaded file cannot be a video asset. The message is the one
/// organisers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// ffprobe found no media in it at all.
    #[error("this file is not a video: upload an MP4, WebM, MOV or MKV file")]
    NotMedia,
    /// Media, but without a picture (a sound file, say).
    #[error("this file has no video track: upload a video with a picture")]
    NoVideo,
    /// A picture, not a moving one.
    #[error("this file is a still image: upload a video")]
    StillImage,
    /// Shorter than a tenth of a second, or of unknown length.
    #[error("this video has no length: upload a video that plays")]
    NoDuration,
}

/// What went wrong in a transform.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is refused (nothing should be kept of it).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// `ffmpeg` or `ffprobe` could not be started (not installed?).
    #[error("{tool} failed: could not start it ({reason}); is ffmpeg installed?")]
    NotStarted {
        /// Which program.
        tool: &'static str,
        /// What the system said.
        reason: String,
    },
    /// `ffmpeg` or `ffprobe` ran and failed.
    #[error("{tool} failed: {detail}")]
    Tool {
        /// Which program.
        tool: &'static str,
        /// The last lines of what it said.
        detail: String,
    },
    /// Reading or writing a file.
    #[error("media file: {0}")]
    Io(#[from] std::io::Error),
}

/// What [`probe`] found in a playable video.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The container, as ffprobe names it (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`).
    pub format: String,
    /// How long it plays.
    pub duration: Duration,
    /// The picture's codec (`h264`, `vp8`, …).
    pub video_codec: String,
    /// Its width and height in pixels.
    pub width: u32,
    /// See `width`.
    pub height: u32,
    /// It has a sound track.
    pub audio: bool,
}

/// Containers that hold one picture, however ffprobe reads them.
fn is_image_format(format: &str) -> bool {
    format == "image2" || format == "gif" || format.ends_with("_pipe")
}

/// Reads ffprobe's JSON (`-show_format -show_streams`) as a video, or says
/// why it is not one.
pub fn parse_probe(json: &str) -> Result<Probe, Refusal> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|_| Refusal::NotMedia)?;
    let streams = v["streams"].as_array().cloned().unwrap_or_default();
    let format = v["format"]["format_name"]
        .as_str()
        .ok_or(Refusal::NotMedia)?
        .to_owned();
    if streams.is_empty() {
        return Err(Refusal::NotMedia);
    }
    let video = streams.iter().find(|s| {
        s["codec_type"] == "video" && s["disposition"]["attached_pic"].as_i64() != Some(1)
    });
    let Some(video) = video else {
        return Err(Refusal::NoVideo);
    };
    if is_image_format(&format) {
        return Err(Refusal::StillImage);
    }
    let seconds = v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d >= 0.1)
        .ok_or(Refusal::NoDuration)?;
    let dimension = |key: &str| video[key].as_u64().and_then(|d| u32::try_from(d).ok());
    let (Some(width), Some(height)) = (dimension("width"), dimension("height")) else {
        return Err(Refusal::NoVideo);
    };
    Ok(Probe {
        format,
        duration: Duration::from_secs_f64(seconds),
        video_codec: video["codec_name"].as_str().unwrap_or_default().to_owned(),
        width,
        height,
        audio: streams.iter().any(|s| s["codec_type"] == "audio"),
    })
}

/// Runs `program` with `args` on the blocking pool; its stdout on success.
pub(crate) async fn run(program: &'static str, args: Vec<String>) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::NotStarted {
                tool: program,
                reason: e.to_string(),
            })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(Error::Tool {
                tool: program,
                detail: tail(&String::from_utf8_lossy(&out.stderr)),
            })
        }
    })
    .await
    .map_err(|e| Error::Tool {
        tool: program,
        detail: e.to_string(),
    })?
}

/// The last few lines of a tool's complaint (the rest is its banner).
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

/// What the file at `path` is, if it is a video that plays.
pub async fn probe(path: &Path) -> Result<Probe, Error> {
    let args = vec![
        "-v".into(),
        "error".into(),
        "-print_format".into(),
        "json".into(),
        "-show_format".into(),
        "-show_streams".into(),
        path.display().to_string(),
    ];
    match run("ffprobe", args).await {
        Ok(json) => Ok(parse_probe(&json)?),
        // ffprobe fails outright on what is not media at all.
        Err(Error::Tool { detail, .. }) => {
            tracing::debug!(%detail, "ffprobe refused a file");
            Err(Refusal::NotMedia.into())
        }
        Err(e) => Err(e),
    }
}

/// One HLS rendition: its name (also its playlist's, `360p.m3u8`), its
/// height, and the bitrates it is encoded at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rendition {
    /// `360p`, `720p`.
    pub name: &'static str,
    /// Lines of picture.
    pub height: u32,
    /// Video bitrate, kbit/s.
    pub video_kbps: u32,
    /// Audio bitrate, kbit/s.
    pub audio_kbps: u32,
}

/// The renditions every video gets, smallest first.
pub const RENDITIONS: [Rendition; 2] = [
    Rendition {
        name: "360p",
        height: 360,
        video_kbps: 800,
        audio_kbps: 96,
    },
    Rendition {
        name: "720p",
        height: 720,
        video_kbps: 2_500,
        audio_kbps: 128,
    },
];

/// Seconds per HLS segment.
pub const SEGMENT_SECONDS: u32 = 4;

/// The renditions of a video `height` lines high: those no taller than it
/// (scaling up adds bytes, not detail), and the smallest always.
pub fn renditions_for(height: u32) -> Vec<Rendition> {
    RENDITIONS
        .iter()
        .enumerate()
        .filter(|(i, r)| *i == 0 || r.height <= height)
        .map(|(_, r)| *r)
        .collect()
}

/// The width of a rendition `height` high of a `source` picture: the
/// aspect kept, rounded to an even number (H.264 needs it).
pub fn scaled_width(source: (u32, u32), height: u32) -> u32 {
    let (w, h) = source;
    if h == 0 {
        return height * 16 / 9 / 2 * 2;
    }
    let exact = u64::from(w) * u64::from(height) / u64::from(h);
    (exact as u32).max(2) / 2 * 2
}

/// The master playlist naming each rendition's playlist (`<name>.m3u8`).
pub fn master_playlist(source: (u32, u32), renditions: &[Rendition], audio: bool) -> String {
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
    for r in renditions {
        let bandwidth = (r.video_kbps + if audio { r.audio_kbps } else { 0 }) * 1000;
        let codecs = if audio {
            "avc1.4d401f,mp4a.40.2"
        } else {
            "avc1.4d401f"
        };
        out.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={}x{},CODECS=\"{codecs}\"\n{}.m3u8\n",
            scaled_width(source, r.height),
            r.height,
            r.name
        ));
    }
    out
}

/// The arguments of ffmpeg making rendition `r` of `input` as HLS in `dir`
/// (`<name>.m3u8` and `<name>_000.ts`…), writing progress to stdout.
pub fn hls_args(input: &Path, dir: &Path, source: (u32, u32), r: &Rendition) -> Vec<String> {
    let gop = (SEGMENT_SECONDS * 25).to_string();
    let mut args: Vec<String> = vec![
        "-nostdin".into(),
        "-v".into(),
        "error".into(),
        "-y".into(),
        "-i".into(),
        input.display().to_string(),
        "-map".into(),
        "0:v:0".into(),
        "-map".into(),
        "0:a:0?".into(),
        "-vf".into(),
        format!("scale={}:{}", scaled_width(source, r.height), r.height),
        "-c:v".into(),
        "libx264".into(),
        "-preset".into(),
        "veryfast".into(),
        "-profile:v".into(),
        "main".into(),
        "-pix_fmt".into(),
        "yuv420p".into(),
        "-b:v".into(),
        format!("{}k", r.video_kbps),
        "-maxrate".into(),
        format!("{}k", r.video_kbps * 3 / 2),
        "-bufsize".into(),
        format!("{}k", r.video_kbps * 2),
        // A keyframe at every segment's start, so renditions switch cleanly.
        "-force_key_frames".into(),
        format!("expr:gte(t,n_forced*{SEGMENT_SECONDS})"),
        "-g".into(),
        gop,
        "-sc_threshold".into(),
        "0".into(),
        "-c:a".into(),
        "aac".into(),
        "-b:a".into(),
        format!("{}k", r.audio_kbps),
        "-ac".into(),
        "2".into(),
        "-f".into(),
        "hls".into(),
        "-hls_time".into(),
        SEGMENT_SECONDS.to_string(),
        "-hls_playlist_type".into(),
        "vod".into(),
        "-hls_segment_filename".into(),
        dir.join(format!("{}_%03d.ts", r.name))
            .display()
            .to_string(),
        "-progress".into(),
        "pipe:1".into(),
    ];
    args.push(dir.join(format!("{}.m3u8", r.name)).display().to_string());
    args
}

/// How far an ffmpeg `-progress` line says it got (`out_time_us=…`).
pub fn progress_of(line: &str) -> Option<Duration> {
    let micros = line
        .strip_prefix("out_time_us=")
        .or_else(|| line.strip_prefix("out_time_ms="))?;
    micros.trim().parse::<u64>().ok().map(Duration::from_micros)
}

/// Makes rendition `r` of `input` (a video of `probe`) in `dir`, calling
/// `progress` with the fraction done (0..=1) as ffmpeg reports it.
pub async fn hls(
    input: &Path,
    dir: &Path,
    probe: &Probe,
    r: &Rendition,
    progress: impl Fn(f32) + Send + 'static,
) -> Result<(), Error> {
    use std::io::{BufRead, BufReader};
    let args = hls_args(input, dir, (probe.width, probe.height), r);
    let total = probe.duration.as_secs_f32().max(0.1);
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("ffmpeg")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::NotStarted {
                tool: "ffmpeg",
                reason: e.to_string(),
            })?;
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(done) = progress_of(&line) {
                    progress((done.as_secs_f32() / total).clamp(0.0, 1.0));
                }
            }
        }
        let out = child.wait_with_output()?;
        if out.status.success() {
            progress(1.0);
            Ok(())
        } else {
            Err(Error::Tool {
                tool: "ffmpeg",
                detail: tail(&String::from_utf8_lossy(&out.stderr)),
            })
        }
    })
    .await
    .map_err(|e| Error::Tool {
        tool: "ffmpeg",
        detail: e.to_string(),
    })?
}

/// Writes a JPEG of `input`'s picture at `at` (or its start, for a video
/// shorter than that), 320 pixels wide, to `out`.
pub async fn thumbnail(input: &Path, out: &Path, probe: &Probe) -> Result<(), Error> {
    let at = (probe.duration / 10).min(Duration::from_secs(5));
    let args = vec![
        "-nostdin".into(),
        "-v".into(),
        "error".into(),
        "-y".into(),
        "-ss".into(),
        format!("{:.3}", at.as_secs_f64()),
        "-i".into(),
        input.display().to_string(),
        "-frames:v".into(),
        "1".into(),
        "-vf".into(),
        "scale=320:-2".into(),
        "-q:v".into(),
        "4".into(),
        out.display().to_string(),
    ];
    run("ffmpeg", args).await.map(|_| ())
}

/// Writes a test video (`ffmpeg`'s test pattern and a tone) of `seconds`
/// at `width`×`height` to `out` (MP4): for tests and demo data.
pub async fn test_video(out: PathBuf, seconds: u32, width: u32, height: u32) -> Result<(), Error> {
    let args = vec![
        "-nostdin".into(),
        "-v".into(),
        "error".into(),
        "-y".into(),
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        format!("testsrc2=size={width}x{height}:rate=25:duration={seconds}"),
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        format!("sine=frequency=440:duration={seconds}"),
        "-c:v".into(),
        "libx264".into(),
        "-preset".into(),
        "ultrafast".into(),
        "-pix_fmt".into(),
        "yuv420p".into(),
        "-c:a".into(),
        "aac".into(),
        "-shortest".into(),
        out.display().to_string(),
    ];
    run("ffmpeg", args).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MP4: &str = r#"{"streams":[
        {"index":0,"codec_name":"h264","codec_type":"video","width":1280,"height":720,"disposition":{"attached_pic":0}},
        {"index":1,"codec_name":"aac","codec_type":"audio"}],
        "format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"12.480000"}}"#;

    #[test]
    fn a_video_with_sound_probes_as_one() {
        let p = parse_probe(MP4).unwrap();
        assert_eq!((p.width, p.height, p.audio), (1280, 720, true));
        assert_eq!(p.video_codec, "h264");
        assert_eq!(p.duration, Duration::from_millis(12_480));
    }

    #[test]
    fn what_is_not_a_playable_video_is_refused_with_a_reason() {
        assert_eq!(parse_probe("not json"), Err(Refusal::NotMedia));
        assert_eq!(
            parse_probe(r#"{"streams":[],"format":{"format_name":"tty"}}"#),
            Err(Refusal::NotMedia)
        );
        let mp3 = r#"{"streams":[{"codec_type":"audio","codec_name":"mp3"}],
            "format":{"format_name":"mp3","duration":"3.0"}}"#;
        assert_eq!(parse_probe(mp3), Err(Refusal::NoVideo));
        // Cover art is a picture stream, not a video.
        let art = r#"{"streams":[{"codec_type":"audio"},
            {"codec_type":"video","width":500,"height":500,"disposition":{"attached_pic":1}}],
            "format":{"format_name":"mp3","duration":"3.0"}}"#;
        assert_eq!(parse_probe(art), Err(Refusal::NoVideo));
        let png = r#"{"streams":[{"codec_type":"video","codec_name":"png","width":10,"height":10}],
            "format":{"format_name":"png_pipe"}}"#;
        assert_eq!(parse_probe(png), Err(Refusal::StillImage));
        let frozen = MP4.replace("12.480000", "0.04");
        assert_eq!(parse_probe(&frozen), Err(Refusal::NoDuration));
        assert!(Refusal::NotMedia.to_string().contains("not a video"));
    }

    #[test]
    fn renditions_never_scale_up_but_the_smallest_is_always_made() {
        let names = |h| renditions_for(h).iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(names(1080), ["360p", "720p"]);
        assert_eq!(names(720), ["360p", "720p"]);
        assert_eq!(names(480), ["360p"]);
        assert_eq!(names(240), ["360p"]);
    }

    #[test]
    fn widths_keep_the_aspect_and_are_even() {
        assert_eq!(scaled_width((1920, 1080), 360), 640);
        assert_eq!(scaled_width((1280, 720), 720), 1280);
        assert_eq!(scaled_width((640, 480), 360), 480);
        // 4:3 of an odd result rounds down to even.
        assert_eq!(scaled_width((725, 400), 360), 652);
        assert_eq!(scaled_width((0, 0), 360), 640);
    }

    #[test]
    fn the_master_playlist_names_each_rendition() {
        let m = master_playlist((1280, 720), &RENDITIONS, true);
        assert!(m.starts_with("#EXTM3U\n"));
        assert!(m.contains("BANDWIDTH=896000,RESOLUTION=640x360"));
        assert!(m.contains("\n360p.m3u8\n") && m.ends_with("\n720p.m3u8\n"));
        let silent = master_playlist((1280, 720), &RENDITIONS[..1], false);
        assert!(silent.contains("BANDWIDTH=800000") && !silent.contains("mp4a"));
    }

    #[test]
    fn progress_lines_are_read_in_microseconds() {
        assert_eq!(
            progress_of("out_time_us=2500000"),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(progress_of("frame=12"), None);
        assert_eq!(progress_of("out_time_us=N/A"), None);
    }

    /// Runs the real tools: a generated video probes, gets its renditions
    /// and a thumbnail; a text file is refused.
    #[tokio::test]
    async fn a_generated_video_becomes_hls_renditions_and_a_thumbnail() {
        let dir = std::env::temp_dir().join(format!("convene-assets-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.mp4");
        test_video(input.clone(), 3, 1280, 720).await.unwrap();
        let p = probe(&input).await.unwrap();
        assert_eq!((p.width, p.height, p.audio), (1280, 720, true));
        assert!((p.duration.as_secs_f64() - 3.0).abs() < 0.2, "{p:?}");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let r = RENDITIONS[0];
        let log = seen.clone();
        hls(&input, &dir, &p, &r, move |f| log.lock().unwrap().push(f))
            .await
            .unwrap();
        let playlist = std::fs::read_to_string(dir.join("360p.m3u8")).unwrap();
        assert!(playlist.contains("#EXT-X-ENDLIST") && playlist.contains("360p_000.ts"));
        let segment = probe(&dir.join("360p_000.ts")).await.unwrap();
        assert_eq!((segment.width, segment.height), (640, 360));
        assert_eq!(seen.lock().unwrap().last(), Some(&1.0));
        thumbnail(&input, &dir.join("thumb.jpg"), &p).await.unwrap();
        let jpeg = std::fs::read(dir.join("thumb.jpg")).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG");
        let text = dir.join("notes.txt");
        std::fs::write(&text, "not a video at all\n").unwrap();
        assert!(matches!(
            probe(&text).await,
            Err(Error::Refused(Refusal::NotMedia))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
