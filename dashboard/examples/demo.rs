//! Serves the dashboard over an in-memory store filled with one realistic DIADEM experiment, to look at the pages.
//!
//! `cargo run -p secuml-dashboard --example demo -- 127.0.0.1:8890`

#[path = "../tests/support/mod.rs"]
mod support;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8890".into())
        .parse()?;
    let store = support::demo_store().await;
    let names: Vec<String> = (0..20).map(|i| format!("<i>feature</i>_{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    support::put_diadem(
        store.as_ref(),
        2,
        "<script>alert(1)</script>",
        "d<b>",
        &names,
    )
    .await;
    support::put_diadem(
        store.as_ref(),
        3,
        "NSL-KDD",
        "train20",
        &["duration", "src_bytes"],
    )
    .await;
    for (name, seed) in [("validation:test", 4), ("validation:test-2", 5)] {
        let d = support::detection(name, name.trim_start_matches("validation:"), seed);
        store
            .hset(
                &secuml_proto::keys::detections(3),
                name,
                &serde_json::to_vec(&d)?,
            )
            .await?;
    }
    secuml_dashboard::serve(store, addr, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
