//! Fixed-window rate limits kept in Redis, shared by every node.

use redis::aio::ConnectionManager;

use crate::{Error, Result};

/// Counts one attempt under `key`; errors with `RateLimited` past `max` in `window_secs`.
pub async fn hit(
    redis: &mut ConnectionManager,
    key: &str,
    max: u64,
    window_secs: u64,
) -> Result<()> {
    let full = format!("rl:{key}");
    let (count,): (u64,) = redis::pipe()
        .atomic()
        .incr(&full, 1u64)
        // NX: the first hit of a window sets its expiry; later hits do not extend it.
        .cmd("EXPIRE")
        .arg(&full)
        .arg(window_secs)
        .arg("NX")
        .ignore()
        .query_async(redis)
        .await?;
    if count > max {
        return Err(Error::RateLimited(format!(
            "too many attempts; try again in {window_secs} seconds"
        )));
    }
    Ok(())
}
