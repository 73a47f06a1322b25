//! Real-browser checks: finds Node, Chromium and `playwright-core`, and runs the scripts of `tests/browser/`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use secuml_coordinator::config::Paths;
use secuml_runtime::Store;
use serde::Deserialize;

/// How long one browser script may run.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// What to install when a tool is missing.
const INSTALL_HINT: &str = "install them with `apt-get install -y nodejs npm chromium` \
     and `cd tests/browser && npm ci` (or run scripts/test-all)";

/// The tools a browser test needs, found on this machine.
#[derive(Debug, Clone)]
pub struct BrowserTools {
    /// The `node` executable.
    pub node: PathBuf,
    /// The Chromium executable (Debian's, never a downloaded build).
    pub chromium: PathBuf,
    /// `tests/browser/`, holding the scripts and their `node_modules/`.
    pub scripts_dir: PathBuf,
}

/// Serves the dashboard over `store` and the datasets folder of `paths` on a free loopback port; returns
/// its address and the server's task (abort it to stop the server).
pub async fn serve_dashboard(
    store: Arc<dyn Store>,
    paths: &Paths,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let (addr, server) = secuml_dashboard::bind(
        store,
        paths.datasets_dir(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("the dashboard binds to a free loopback port");
    (addr, tokio::spawn(server))
}

/// What `diadem_page.mjs` read on the page, after moving the slider.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DiademPageReading {
    /// Detection shown (`train`, `test` or `validation:<dataset>`).
    pub detection: String,
    /// Slider position when the page opened (percent).
    pub initial_slider: u32,
    /// Slider position after the key presses (percent).
    pub slider: u32,
    /// The threshold the slider selects.
    pub threshold: f64,
    /// Detection rate behind the displayed value (`data-value`).
    pub detection_rate: f64,
    /// Detection rate as displayed, e.g. "86.92%".
    pub detection_rate_text: String,
    /// Charts drawn on the page.
    pub charts: Vec<String>,
}

/// What `multiclass_page.mjs` read on the DIADEM page of a multiclass experiment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MulticlassPageReading {
    /// Detection shown.
    pub detection: String,
    /// Accuracy behind the displayed value (`data-value`).
    pub accuracy: f64,
    /// Accuracy as displayed, e.g. "97.12%".
    pub accuracy_text: String,
    /// F1 micro (`data-value`).
    pub f1_micro: f64,
    /// F1 macro (`data-value`).
    pub f1_macro: f64,
    /// F1 macro as displayed.
    pub f1_macro_text: String,
    /// The confusion matrix's families (column headers).
    pub families: Vec<String>,
    /// Its counts, true families as rows.
    pub confusion: Vec<Vec<u64>>,
}

/// A row of a clustering page's cluster table, as `clustering_page.mjs` read it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClusterRowReading {
    /// Cluster index.
    pub cluster: u32,
    /// Its size (`data-value`).
    pub size: u64,
    /// Its size as displayed.
    pub size_text: String,
    /// Malicious among its labelled instances (`data-value`), when the clustering has labels.
    pub malicious: Option<f64>,
    /// Its top families as displayed, when the clustering has families.
    pub families: Option<String>,
}

/// A row of a clustering page's instances table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InstanceReading {
    /// Instance id as displayed.
    pub instance_id: i64,
    /// Ident as displayed.
    pub ident: String,
    /// Distance to the centre (`data-value`).
    pub distance: f64,
    /// Label as displayed, `None` for "-" or no column.
    pub label: Option<String>,
    /// Family as displayed, `None` for "-" or no column.
    pub family: Option<String>,
}

/// A page of a cluster's instances as the page showed it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InstancesReading {
    /// Cluster shown.
    pub cluster: u32,
    /// Instances skipped.
    pub offset: u64,
    /// Page size.
    pub limit: u64,
    /// Instances of the cluster.
    pub total: u64,
    /// The line above the table.
    pub summary: String,
    /// Rows of the cluster table marked selected.
    pub selected: Vec<u32>,
    /// The table's rows.
    pub rows: Vec<InstanceReading>,
}

/// What `clustering_page.mjs` read on a clustering page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClusteringPageReading {
    /// The page's title.
    pub title: String,
    /// The cluster table.
    pub clusters: Vec<ClusterRowReading>,
    /// Charts drawn.
    pub charts: Vec<String>,
    /// The instances after clicking the row cluster's table row.
    pub by_row: InstancesReading,
    /// Then after clicking Next.
    pub next: InstancesReading,
    /// Then after clicking the bar cluster's bar.
    pub by_bar: InstancesReading,
}

/// One distinct state of a job page, as `job_page.mjs` read it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JobPageState {
    /// Rows of the task table.
    pub rows: u32,
    /// Rows in each state.
    pub queued: u32,
    /// Rows running.
    pub running: u32,
    /// Rows done.
    pub done: u32,
    /// Rows failed.
    pub failed: u32,
    /// The progress bar's percentage (`data-percent`).
    pub percent: Option<u32>,
    /// The progress bar's value and maximum.
    pub bar_value: Option<u32>,
    /// The progress bar's maximum.
    pub bar_max: Option<u32>,
    /// The job's status badge.
    pub status: Option<String>,
    /// Whether the page says the job's event stream ended.
    pub ended: bool,
    /// Lines of the event log.
    pub events: u32,
    /// Fold scores the live leaderboard shows (`None` without a leaderboard).
    #[serde(default)]
    pub board_scores: Option<u32>,
    /// Candidate rows of the leaderboard.
    #[serde(default)]
    pub board_rows: u32,
    /// Grid index of the highlighted leader.
    #[serde(default)]
    pub board_leader: Option<usize>,
    /// Candidates with some but not all of their folds scored.
    #[serde(default)]
    pub board_partial: u32,
}

/// What `job_page.mjs` saw while the job ran.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JobPageReading {
    /// Main-frame navigations (1: the page never reloaded).
    pub navigations: u32,
    /// Every distinct state, in order, from the page's first one to the end.
    pub readings: Vec<JobPageState>,
}

impl BrowserTools {
    /// Finds `node` (or `$NODE`), Chromium (`$CHROMIUM`, default `/usr/bin/chromium`) and
    /// `tests/browser/node_modules/playwright-core`; the error lists everything missing and how to install it.
    pub fn find() -> anyhow::Result<Self> {
        let node = PathBuf::from(std::env::var_os("NODE").unwrap_or_else(|| "node".into()));
        let chromium = PathBuf::from(
            std::env::var_os("CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()),
        );
        let scripts_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
        let mut missing = Vec::new();
        match std::process::Command::new(&node).arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => missing.push(format!(
                "`{} --version` failed with {}",
                node.display(),
                out.status
            )),
            Err(e) => missing.push(format!("node ({}) cannot run: {e}", node.display())),
        }
        if !chromium.is_file() {
            missing.push(format!("no Chromium at {}", chromium.display()));
        }
        let playwright = scripts_dir.join("node_modules/playwright-core/package.json");
        if !playwright.is_file() {
            missing.push(format!("{} is missing", playwright.display()));
        }
        if !missing.is_empty() {
            bail!(
                "the browser tests cannot run: {}; {INSTALL_HINT}",
                missing.join("; ")
            );
        }
        Ok(Self {
            node,
            chromium,
            scripts_dir,
        })
    }

    /// Opens a job's page and records its states until it says the job ended; `ready` fires once the page
    /// is loaded and follows the job's event stream, so the job can start then.
    pub async fn watch_job_page(
        &self,
        url: &str,
        screenshot: &Path,
        ready: tokio::sync::oneshot::Sender<()>,
    ) -> anyhow::Result<JobPageReading> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt};

        let script = self.scripts_dir.join("job_page.mjs");
        let mut child = self
            .command(&script, &[url], screenshot)
            .spawn()
            .with_context(|| format!("starting {}", script.display()))?;
        let stdout = child.stdout.take().context("the script's stdout")?;
        let mut stderr = child.stderr.take().context("the script's stderr")?;
        let run = async move {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            let mut ready = Some(ready);
            let mut reading = None;
            while let Some(line) = lines.next_line().await? {
                if line == "ready" {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                } else if line.starts_with('{') {
                    reading = Some(line);
                }
            }
            let mut errors = String::new();
            stderr.read_to_string(&mut errors).await?;
            let status = child.wait().await?;
            anyhow::Ok((status, reading, errors))
        };
        let (status, reading, errors) = tokio::time::timeout(SCRIPT_TIMEOUT, run)
            .await
            .with_context(|| format!("{} ran longer than {SCRIPT_TIMEOUT:?}", script.display()))?
            .with_context(|| format!("running {}", script.display()))?;
        if !status.success() {
            bail!("{} failed ({status}): {}", script.display(), errors.trim());
        }
        let line = reading.context("the script printed no reading")?;
        serde_json::from_str(&line).with_context(|| format!("reading the script's output {line}"))
    }

    fn command(&self, script: &Path, args: &[&str], screenshot: &Path) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.node);
        command
            .arg(script)
            .args(args)
            .current_dir(&self.scripts_dir)
            .env("CHROMIUM", &self.chromium)
            .env("SECUML_SCREENSHOT", screenshot)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Opens a DIADEM page, moves its slider to `threshold`, and checks that the page shows `expected_dr`;
    /// writes a full-page screenshot to `screenshot`.
    pub async fn check_diadem_page(
        &self,
        url: &str,
        threshold: f64,
        expected_dr: f64,
        screenshot: &Path,
    ) -> anyhow::Result<DiademPageReading> {
        self.run_script(
            "diadem_page.mjs",
            &[url, &threshold.to_string(), &expected_dr.to_string()],
            screenshot,
        )
        .await
    }

    /// Opens the DIADEM page of a multiclass experiment and reads the indicators and the family
    /// confusion matrix of the detection it shows; writes a full-page screenshot to `screenshot`.
    pub async fn read_multiclass_page(
        &self,
        url: &str,
        screenshot: &Path,
    ) -> anyhow::Result<MulticlassPageReading> {
        self.run_script("multiclass_page.mjs", &[url], screenshot)
            .await
    }

    /// Opens a DIADEM page and drives its panels following `plan` (see `diadem_panels.mjs`: fold and
    /// test-dataset selectors, tabs, a confusion-matrix cell, a histogram bin, the instance description,
    /// the family table, the interpretation chart); returns what the page showed, as JSON.
    pub async fn drive_diadem_panels(
        &self,
        url: &str,
        plan: &serde_json::Value,
        screenshot: &Path,
    ) -> anyhow::Result<serde_json::Value> {
        self.run_script("diadem_panels.mjs", &[url, &plan.to_string()], screenshot)
            .await
    }

    /// Opens the experiments menu at `menu_url`, follows the link of clustering `experiment`, and shows
    /// the instances of `row_cluster` (its table row, then the next page) and of `bar_cluster` (its bar);
    /// writes a full-page screenshot to `screenshot`.
    pub async fn read_clustering_page(
        &self,
        menu_url: &str,
        experiment: u64,
        row_cluster: u32,
        bar_cluster: u32,
        screenshot: &Path,
    ) -> anyhow::Result<ClusteringPageReading> {
        self.run_script(
            "clustering_page.mjs",
            &[
                menu_url,
                &experiment.to_string(),
                &row_cluster.to_string(),
                &bar_cluster.to_string(),
            ],
            screenshot,
        )
        .await
    }

    /// Runs one script of `tests/browser/` to its end and reads the JSON line it printed last.
    pub async fn run_script<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        args: &[&str],
        screenshot: &Path,
    ) -> anyhow::Result<T> {
        let script = self.scripts_dir.join(name);
        let child = self
            .command(&script, args, screenshot)
            .spawn()
            .with_context(|| format!("starting {}", script.display()))?;
        let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
            .await
            .with_context(|| format!("{} ran longer than {SCRIPT_TIMEOUT:?}", script.display()))?
            .with_context(|| format!("running {}", script.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            bail!(
                "{} failed ({}): {}{}",
                script.display(),
                output.status,
                stderr.trim(),
                stdout.trim()
            );
        }
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .context("the script printed no reading")?;
        serde_json::from_str(line).with_context(|| format!("reading the script's output {line}"))
    }
}
