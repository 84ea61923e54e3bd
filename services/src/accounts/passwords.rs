//! Password hashing with Argon2id (default parameters), off the async threads.
//!
//! Each hash takes about 19 MiB and a core for tens of milliseconds, so at most
//! one per core runs at a time; a request that cannot get a turn within
//! [`WAIT`] is refused as busy (503) rather than queued without end. Without
//! the bound, a few hundred concurrent log-ins would need gigabytes.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::domain::Password;
use crate::{Error, Result};

/// A valid Argon2id hash of a random string: verified against when the email is
/// unknown, so that a wrong email costs as much time as a wrong password.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Yb3ZbSnlJHZ2ms4GZzoNQ1sNT2pT9jLw3i2r3ZcZ0Q";

/// How long a request waits for a hashing turn before it is refused.
pub const WAIT: Duration = Duration::from_secs(3);

/// How many hashes may run at once: one per core.
fn turns() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

static TURNS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(turns())));

/// Runs `work` on a blocking thread when a hashing turn is free.
async fn with_turn<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    with_turn_of(&TURNS, work).await
}

/// [`with_turn`] with the turns taken from `turns`.
async fn with_turn_of<T: Send + 'static>(
    turns: &Arc<Semaphore>,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let busy = || Error::Busy("too many sign-ins at once; please try again in a moment".into());
    let turn = tokio::time::timeout(WAIT, turns.clone().acquire_owned())
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
    // The turn goes with the work: a request dropped meanwhile (the client
    // left) does not free it while the hash still runs.
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    })
    .await
    .map_err(|e| Error::Internal(format!("join: {e}")))?
}

/// Hashes a password with Argon2id on a blocking thread.
pub async fn hash(password: &Password) -> Result<String> {
    let pw = password.expose().to_owned();
    with_turn(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    })
    .await
}

/// Verifies a password against a PHC hash on a blocking thread.
pub async fn verify(password: String, phc: String) -> Result<bool> {
    with_turn(move || {
        let parsed =
            PasswordHash::new(&phc).map_err(|e| Error::Internal(format!("argon2: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2id_round_trip_and_dummy_hash_parses() {
        let pw = Password::parse("correct horse battery").unwrap();
        let h = hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), h.clone())
            .await
            .unwrap());
        assert!(!verify("wrong horse battery".into(), h).await.unwrap());
        assert!(!verify("anything".into(), DUMMY_HASH.into()).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_there_are_turns() {
        let turns = turns();
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..turns * 3)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(with_turn(move || {
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    let pw = Password::parse("correct horse battery")?;
                    let salt = SaltString::generate(&mut OsRng);
                    let _ = Argon2::default().hash_password(pw.expose().as_bytes(), &salt);
                    running.fetch_sub(1, SeqCst);
                    Ok(())
                }))
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let most = most.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            most >= 1 && most <= turns,
            "{most} ran at once with {turns} turns"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_request_keeps_its_turn_until_its_hash_ends() {
        let turns = Arc::new(Semaphore::new(1));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
        let request = tokio::spawn({
            let turns = turns.clone();
            async move {
                with_turn_of(&turns, move || {
                    started_tx.send(()).unwrap();
                    let _ = finish_rx.recv();
                    Ok(())
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // The client leaves while the hash runs: the turn stays taken.
        request.abort();
        assert!(request.await.unwrap_err().is_cancelled());
        assert_eq!(turns.available_permits(), 0);
        finish_tx.send(()).unwrap();
        let back = tokio::time::timeout(Duration::from_secs(5), turns.acquire())
            .await
            .expect("the turn comes back once the hash ends");
        drop(back);
    }

    #[tokio::test]
    async fn a_request_that_gets_no_turn_in_time_is_refused_as_busy() {
        tokio::time::pause();
        let all = turns() as u32;
        let held = TURNS.acquire_many(all).await.unwrap();
        let refused = verify("x".into(), DUMMY_HASH.into()).await;
        assert!(matches!(refused, Err(Error::Busy(_))), "{refused:?}");
        drop(held);
    }
}
