//! The jobs queue as the harness sees it: every test ends with its jobs run,
//! and a job nobody can process fails the test that left it.

use crate::helpers::spawn_web_only;

#[tokio::test]
async fn queued_jobs_are_drained_and_none_is_left() {
    let app = spawn_web_only().await;
    let org = app.organiser().await;
    let slug = app.event(&org).await;
    let (s, _) = app.register(&slug, "drain@example.org").await;
    assert_eq!(s, 200);
    // The free order's confirmation email (skipped: this server has no SMTP relay).
    assert_eq!(app.drain_jobs().await, 1);
    assert_eq!(app.drain_jobs().await, 0);
    assert!(services::jobs::unfinished(&app.pool)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
#[should_panic(expected = "the test left jobs unprocessed")]
async fn a_test_that_leaves_a_job_nobody_handles_fails() {
    let app = spawn_web_only().await;
    sqlx::query("INSERT INTO jobs (kind, payload) VALUES ('no_such_job', '{}')")
        .execute(&app.pool)
        .await
        .unwrap();
}
