//! The asset services' tools ([`services::assets::Tools`]) on
//! `media::assets`: ffprobe and ffmpeg. Here because `services` does not
//! depend on the media plane and `media` does not touch the database.

use std::path::Path;

use media::assets::{self as tools, Error, Probe};
use services::assets::{Probed, ToolError, Tools};

/// ffprobe and ffmpeg, as installed (the README's commands install them).
pub struct Ffmpeg;

fn tool_error(e: Error) -> ToolError {
    match e {
        Error::Refused(why) => ToolError::Refused(why.to_string()),
        other => ToolError::Failed(other.to_string()),
    }
}

async fn probe(input: &Path) -> Result<Probe, ToolError> {
    tools::probe(input).await.map_err(tool_error)
}

#[async_trait::async_trait]
impl Tools for Ffmpeg {
    async fn probe(&self, file: &Path) -> Result<Probed, ToolError> {
        let p = probe(file).await?;
        Ok(Probed {
            duration_ms: p.duration.as_millis() as i64,
            width: p.width,
            height: p.height,
            audio: p.audio,
        })
    }

    async fn renditions(
        &self,
        input: &Path,
        dir: &Path,
        progress: Box<dyn Fn(f32) + Send + Sync>,
    ) -> Result<Vec<String>, ToolError> {
        let p = probe(input).await?;
        let renditions = tools::renditions_for(p.height);
        let progress = std::sync::Arc::new(progress);
        let n = renditions.len() as f32;
        for (i, r) in renditions.iter().enumerate() {
            let progress = progress.clone();
            // Each rendition is an equal share of the whole.
            tools::hls(input, dir, &p, r, move |f| (**progress)((i as f32 + f) / n))
                .await
                .map_err(tool_error)?;
        }
        let master = tools::master_playlist((p.width, p.height), &renditions, p.audio);
        std::fs::write(dir.join("master.m3u8"), master)
            .map_err(|e| ToolError::Failed(format!("writing the master playlist: {e}")))?;
        Ok(renditions.iter().map(|r| r.name.to_owned()).collect())
    }

    async fn thumbnail(&self, input: &Path, out: &Path) -> Result<(), ToolError> {
        let p = probe(input).await?;
        tools::thumbnail(input, out, &p).await.map_err(tool_error)
    }
}
