//! `sqlx::migrate!` embeds `migrations/` when this crate compiles: a new
//! migration must rebuild it (sqlx's own advice), or an incremental build
//! runs without it.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
