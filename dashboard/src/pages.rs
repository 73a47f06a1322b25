//! The HTML pages, in SecuML's URL scheme: thin shells whose content the scripts build from the API.
//!
//! - `/` and `/SecuML/`: "Select a project"
//! - `/SecuML/<project>/menu/`: "Select a dataset"
//! - `/SecuML/<project>/<dataset>/menu/`: "Select an experiment"
//! - `/SecuML/<exp_id>/`: the page of the experiment's kind (DIADEM or clustering)
//! - `/jobs`, `/jobs/<job_id>`, `/workers`, `/dead-letters`: the live pages ([`crate::live_pages`]),
//!   rendered with their content and kept up to date by their script

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secuml_proto::ExperimentRecord;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::data::Reader;
use crate::error::DashboardError;
use crate::security::{escape_html, Segment};

/// Characters left as they are in a path segment of a link (those `encodeURIComponent` keeps).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Every page route.
pub fn routes(reader: Reader) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_reader = warp::any().map(move || reader.clone());

    let root = warp::path::end()
        .or(warp::path!("SecuML"))
        .unify()
        .map(projects_page);
    let datasets = warp::path!("SecuML" / Segment / "menu")
        .and(with_reader.clone())
        .then(|p: Segment, r: Reader| async move { datasets_page(&r, &p.0).await });
    let experiments =
        warp::path!("SecuML" / Segment / Segment / "menu")
            .and(with_reader.clone())
            .then(|p: Segment, d: Segment, r: Reader| async move {
                experiments_page(&r, &p.0, &d.0).await
            });
    let experiment = warp::path!("SecuML" / u64)
        .and(with_reader.clone())
        .then(|id: u64, r: Reader| async move { experiment_page(&r, id).await });
    let jobs = warp::path!("jobs")
        .and(with_reader.clone())
        .then(|r: Reader| async move { page(crate::live_pages::jobs(&r).await) });
    let job = warp::path!("jobs" / Segment).and(with_reader.clone()).then(
        |id: Segment, r: Reader| async move { page(crate::live_pages::job(&r, &id.0).await) },
    );
    let workers = warp::path!("workers")
        .and(with_reader.clone())
        .then(|r: Reader| async move { page(crate::live_pages::workers(&r).await) });
    let dead_letters = warp::path!("dead-letters")
        .and(with_reader)
        .then(|r: Reader| async move { page(crate::live_pages::dead_letters(&r).await) });

    crate::api::any_of(vec![
        root.boxed(),
        datasets.boxed(),
        experiments.boxed(),
        experiment.boxed(),
        jobs.boxed(),
        job.boxed(),
        workers.boxed(),
        dead_letters.boxed(),
    ])
}

fn page(shell: Result<Shell<'static>, DashboardError>) -> Response {
    match shell {
        Ok(shell) => html(StatusCode::OK, &shell),
        Err(err) => error_page(&err),
    }
}

/// A page's title, its kind for the scripts, the values handed to them and the scripts it loads.
pub(crate) struct Shell<'a> {
    pub(crate) title: String,
    pub(crate) page: &'a str,
    pub(crate) data: Vec<(&'a str, String)>,
    pub(crate) crumbs: Vec<(String, String)>,
    pub(crate) scripts: &'a [&'a str],
    /// Markup of the content area, already escaped (empty when the scripts build it).
    pub(crate) content: String,
}

/// The menu of every page: the experiments and the live pages.
const MENU: &[(&str, &str)] = &[
    ("/SecuML/", "Experiments"),
    ("/jobs", "Jobs"),
    ("/workers", "Workers"),
    ("/dead-letters", "Dead letters"),
];

const MENU_SCRIPTS: &[&str] = &["/static/common.js", "/static/menus.js"];
const DIADEM_SCRIPTS: &[&str] = &[
    "/static/vendor/chart.umd.js",
    "/static/common.js",
    "/static/charts.js",
    "/static/leaderboard.js",
    "/static/alerts.js",
    "/static/instances.js",
    "/static/diadem.js",
];
const CLUSTERING_SCRIPTS: &[&str] = &[
    "/static/vendor/chart.umd.js",
    "/static/common.js",
    "/static/charts.js",
    "/static/clustering.js",
];

fn projects_page() -> Response {
    let shell = Shell {
        title: "Select a project".into(),
        page: "projects",
        data: vec![],
        crumbs: vec![],
        scripts: MENU_SCRIPTS,
        content: String::new(),
    };
    html(StatusCode::OK, &shell)
}

async fn datasets_page(reader: &Reader, project: &str) -> Response {
    if let Err(err) = reader.datasets(project).await {
        return error_page(&err);
    }
    let shell = Shell {
        title: "Select a dataset".into(),
        page: "datasets",
        data: vec![("project", project.to_string())],
        crumbs: vec![(project.to_string(), project_link(project))],
        scripts: MENU_SCRIPTS,
        content: String::new(),
    };
    html(StatusCode::OK, &shell)
}

async fn experiments_page(reader: &Reader, project: &str, dataset: &str) -> Response {
    if let Err(err) = reader.dataset_experiments(project, dataset).await {
        return error_page(&err);
    }
    let shell = Shell {
        title: "Select an experiment".into(),
        page: "experiments",
        data: vec![
            ("project", project.to_string()),
            ("dataset", dataset.to_string()),
        ],
        crumbs: vec![
            (project.to_string(), project_link(project)),
            (dataset.to_string(), dataset_link(project, dataset)),
        ],
        scripts: MENU_SCRIPTS,
        content: String::new(),
    };
    html(StatusCode::OK, &shell)
}

async fn experiment_page(reader: &Reader, id: u64) -> Response {
    let record = match reader.experiment(id).await {
        Ok(record) => record,
        Err(err) => return error_page(&err),
    };
    let shell = if record.kind.eq_ignore_ascii_case("diadem") {
        experiment_shell(&record, "DIADEM", "diadem", DIADEM_SCRIPTS)
    } else if crate::clustering::is_clustering(&record) {
        experiment_shell(&record, "Clustering", "clustering", CLUSTERING_SCRIPTS)
    } else {
        return error_page(&DashboardError::not_found(format!(
            "page for experiments of kind {}",
            record.kind
        )));
    };
    html(StatusCode::OK, &shell)
}

/// The shell of an experiment's page: its title, its crumbs and the scripts of its kind.
fn experiment_shell(
    record: &ExperimentRecord,
    title: &str,
    page: &'static str,
    scripts: &'static [&'static str],
) -> Shell<'static> {
    Shell {
        title: format!("{title} \u{2013} {}", record.name),
        page,
        data: vec![("experiment", record.id.to_string())],
        crumbs: vec![
            (record.project.clone(), project_link(&record.project)),
            (
                record.dataset.clone(),
                dataset_link(&record.project, &record.dataset),
            ),
            (record.name.clone(), format!("/SecuML/{}/", record.id)),
        ],
        scripts,
        content: String::new(),
    }
}

fn error_page(err: &DashboardError) -> Response {
    let title = match err.status() {
        StatusCode::NOT_FOUND => "Not found".to_string(),
        status => format!("Error {}", status.as_u16()),
    };
    let content = format!(
        "<p class=\"error\" id=\"error-message\">{}</p>",
        escape_html(&err.to_string())
    );
    let shell = Shell {
        title,
        page: "error",
        data: vec![],
        crumbs: vec![],
        scripts: &[],
        content,
    };
    html(err.status(), &shell)
}

pub(crate) fn html(status: StatusCode, shell: &Shell<'_>) -> Response {
    warp::reply::with_status(warp::reply::html(render(shell)), status).into_response()
}

fn render(shell: &Shell<'_>) -> String {
    let title = escape_html(&shell.title);
    let mut body_attrs = format!(" data-page=\"{}\"", escape_html(shell.page));
    for (name, value) in &shell.data {
        body_attrs.push_str(&format!(" data-{}=\"{}\"", name, escape_html(value)));
    }
    let mut crumbs = String::from("<a href=\"/SecuML/\">SecuML</a>");
    for (text, href) in &shell.crumbs {
        crumbs.push_str(&format!(
            " <span class=\"sep\">\u{203a}</span> <a href=\"{}\">{}</a>",
            escape_html(href),
            escape_html(text)
        ));
    }
    let menu: String = MENU
        .iter()
        .map(|(href, text)| format!("<a href=\"{href}\">{text}</a>"))
        .collect::<Vec<_>>()
        .join(" ");
    let content = &shell.content;
    let scripts: String = shell
        .scripts
        .iter()
        .map(|src| format!("<script src=\"{src}\"></script>\n"))
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"/static/style.css\">\n</head>\n\
         <body{body_attrs}>\n<header class=\"bar\"><nav class=\"crumbs\" id=\"crumbs\">{crumbs}</nav>\
         <nav class=\"menu-bar\" id=\"menu\">{menu}</nav></header>\n<main>\n\
         <h1 id=\"page-title\">{title}</h1>\n<div id=\"content\">{content}</div>\n</main>\n{scripts}</body>\n</html>\n"
    )
}

fn project_link(project: &str) -> String {
    format!("/SecuML/{}/menu/", utf8_percent_encode(project, SEGMENT))
}

fn dataset_link(project: &str, dataset: &str) -> String {
    format!(
        "/SecuML/{}/{}/menu/",
        utf8_percent_encode(project, SEGMENT),
        utf8_percent_encode(dataset, SEGMENT)
    )
}
