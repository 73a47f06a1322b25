//! The warp dashboard of secuml: SecuML's menus, DIADEM and clustering pages, a JSON API and the charts, over
//! the store.
//!
//! It reads only through [`Store`] and the key builders of `secuml_proto::keys`, plus the clustering
//! assignments and predictions files the stored results name inside the datasets folder ([`clustering`],
//! [`diadem`]) and the shard of a dataset holding an instance ([`instance`]); it never writes.
//! The experiment pages are thin HTML shells; the scripts under `static/` build their content from `/api/`
//! with `textContent`, so no string from a dataset or a user is ever parsed as markup. The live pages
//! (jobs, workers, dead letters) are rendered with their content, every stored string escaped, and
//! `static/live.js` keeps them current, the job page over server-sent events ([`live`]).
#![warn(missing_docs)]

pub mod alerts;
pub mod api;
mod assets;
pub mod clustering;
pub mod data;
pub mod diadem;
pub mod error;
mod files;
pub mod instance;
pub mod jobs;
pub mod leaderboard;
pub mod live;
mod live_pages;
pub mod pages;
pub mod security;

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use secuml_runtime::Store;
use warp::reply::Response;
use warp::Filter;

pub use data::Reader;
pub use error::DashboardError;
pub use files::Files;

/// Address the dashboard binds to unless told otherwise (SecuML's port, loopback only).
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// Every route of the dashboard: pages, `/api/` and `/static/`, behind the request guard.
///
/// `datasets` is the datasets folder of `secuml` (`<data_dir>/datasets`, shared by every machine in the
/// distributed mode), or an object-store data root ([`Files`]): the dashboard reads the files its
/// stored results name there (predictions, clustering assignments, an instance's shard).
/// Errors become JSON replies with a status from the shared code set; every reply carries the security headers.
pub fn routes(
    store: Arc<dyn Store>,
    datasets: impl Into<Files> + 'static,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    let reader = Reader::new(store, datasets);
    security::request_guard()
        .and(
            api::routes(reader.clone())
                .or(pages::routes(reader))
                .unify()
                .or(assets::routes())
                .unify(),
        )
        .map(security::with_security_headers)
        .recover(error::handle_rejection)
        .unify()
}

/// Binds the dashboard ([`routes`] over `store` and `datasets`) to `addr` (port 0 picks a free port) and
/// returns the bound address and the server future, which runs until dropped.
pub async fn bind(
    store: Arc<dyn Store>,
    datasets: impl Into<Files> + 'static,
    addr: SocketAddr,
) -> anyhow::Result<(SocketAddr, impl Future<Output = ()> + Send + 'static)> {
    bind_with_shutdown(store, datasets, addr, std::future::pending()).await
}

/// Binds the dashboard and returns the bound address and the server future, which ends after `shutdown`
/// completes and the requests in flight are answered.
pub async fn bind_with_shutdown(
    store: Arc<dyn Store>,
    datasets: impl Into<Files> + 'static,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(SocketAddr, impl Future<Output = ()> + Send + 'static)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the dashboard to {addr}"))?;
    let bound = listener
        .local_addr()
        .context("reading the dashboard's bound address")?;
    let server = warp::serve(routes(store, datasets))
        .incoming(listener)
        .graceful(shutdown)
        .run();
    Ok((bound, server))
}

/// Serves the dashboard on `addr` until `shutdown` completes.
pub async fn serve(
    store: Arc<dyn Store>,
    datasets: impl Into<Files> + 'static,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (bound, server) = bind_with_shutdown(store, datasets, addr, shutdown).await?;
    tracing::info!(url = %format!("http://{bound}/"), "dashboard listening");
    server.await;
    tracing::info!("dashboard stopped");
    Ok(())
}
