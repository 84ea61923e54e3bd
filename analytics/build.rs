//! `sqlx::migrate!` embeds `migrations/` (analytics' own database) when this
//! crate compiles: a new migration must rebuild it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
