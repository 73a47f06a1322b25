//! The static files, compiled into the binary: there is no network at run time, so nothing comes from a CDN.

use warp::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// One static file: its name under `/static/`, its media type and its bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file served under `/static/`; Chart.js is vendored with its license.
const ASSETS: &[Asset] = &[
    Asset {
        name: "style.css",
        media_type: CSS,
        body: include_str!("../static/style.css"),
    },
    Asset {
        name: "common.js",
        media_type: JS,
        body: include_str!("../static/common.js"),
    },
    Asset {
        name: "menus.js",
        media_type: JS,
        body: include_str!("../static/menus.js"),
    },
    Asset {
        name: "charts.js",
        media_type: JS,
        body: include_str!("../static/charts.js"),
    },
    Asset {
        name: "alerts.js",
        media_type: JS,
        body: include_str!("../static/alerts.js"),
    },
    Asset {
        name: "diadem.js",
        media_type: JS,
        body: include_str!("../static/diadem.js"),
    },
    Asset {
        name: "instances.js",
        media_type: JS,
        body: include_str!("../static/instances.js"),
    },
    Asset {
        name: "clustering.js",
        media_type: JS,
        body: include_str!("../static/clustering.js"),
    },
    Asset {
        name: "leaderboard.js",
        media_type: JS,
        body: include_str!("../static/leaderboard.js"),
    },
    Asset {
        name: "live.js",
        media_type: JS,
        body: include_str!("../static/live.js"),
    },
    Asset {
        name: "vendor/chart.umd.js",
        media_type: JS,
        body: include_str!("../static/vendor/chart-4.6.1.umd.js"),
    },
    Asset {
        name: "vendor/chart.js-LICENSE.md",
        media_type: "text/plain; charset=utf-8",
        body: include_str!("../static/vendor/chart.js-LICENSE.md"),
    },
];

/// `GET /static/<name>` for the files above.
pub fn routes() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path("static")
        .and(warp::path::tail())
        .and_then(|tail: warp::path::Tail| async move {
            let asset = ASSETS
                .iter()
                .find(|a| a.name == tail.as_str())
                .ok_or_else(warp::reject::not_found)?;
            let mut response = asset.body.into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(asset.media_type));
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            Ok::<Response, Rejection>(response)
        })
}
