//! The `secuml` command line: SecuML's executables as subcommands, with its option names and defaults.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use secuml_proto::hyper::{
    Criterion, EllipticEnvelopeHyper, Gamma, IsolationForestHyper, LabelPropagationHyper, LofHyper,
    MaxFeatures, MaxSamples, OneClassSvmHyper, OptimAlgo, PropagationKernel, Splitter, SssvddHyper,
    WeightedIsolationForestHyper,
};
use secuml_proto::job::TreeLimitsGrid;
use secuml_proto::{
    AlertsAnalysis, AlertsClusteringAlgo, AnnotationsSource, ClusteringSpec, DiademSpec, JobSpec,
    ModelSpec, Objective, Penalty, ValidationSpec,
};

use crate::config::{self, Overrides, Settings};
use crate::{
    client, clustering, connect, datasets, diadem, embedded, jobs, preflight, report, service,
};

/// secuml: train and diagnose detection models (DIADEM), on one machine or many.
#[derive(Debug, Parser)]
#[command(name = "secuml", version, about)]
pub struct Cli {
    /// Config file (TOML, `version = 1`); also SECUML_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder of ingested datasets and of the store; also SECUML_DATA_DIR
    /// [default: <user data dir>/secuml, e.g. ~/.local/share/secuml].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// RabbitMQ URL (e.g. amqp://user:pass@host:5672/%2f): run on the distributed services;
    /// also SECUML_AMQP_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub amqp: Option<String>,
    /// Redis URL (e.g. redis://host:6379): the distributed store; also SECUML_REDIS_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub redis: Option<String>,
    /// Where ingested datasets live, for `ingest`, `coordinator` and `worker`: a folder, or an
    /// object store (s3://bucket/prefix, gs://, az://, http(s)://, file:///path; options such as
    /// credentials from AWS_*, GOOGLE_*, AZURE_* variables) so machines share no disk; also
    /// SECUML_DATA_ROOT [default: the data folder].
    #[arg(long, global = true, value_name = "URL")]
    pub data_root: Option<String>,
    /// Local cache of the files read from an object-store data root; also SECUML_CACHE_DIR
    /// [default: <data folder>/cache].
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Bound of that cache (least recently used files go first), e.g. 10GiB, 500MiB or bytes;
    /// also SECUML_CACHE_MAX_BYTES [default: 10GiB].
    #[arg(long, global = true, value_name = "BYTES")]
    pub cache_max_bytes: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// A command-line error, with the choices listed when a subcommand is unknown (the model
/// classes of `secuml diadem`, the algorithms of `secuml clustering`, the commands): clap
/// suggests only a close name. `args` is the command line parsed, program name first.
pub fn explain(mut error: clap::Error, args: &[String]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let unknown = match error.kind() {
        ErrorKind::InvalidSubcommand => true,
        // Where the subcommand follows positional arguments and global options (`secuml
        // clustering <project> <dataset> Nosuch`), clap calls the name an unexpected argument.
        ErrorKind::UnknownArgument => matches!(
            error.get(ContextKind::InvalidArg),
            Some(ContextValue::String(arg)) if !arg.starts_with('-')
        ),
        _ => false,
    };
    if !unknown {
        return error;
    }
    let root = <Cli as clap::CommandFactory>::command();
    let mut command = &root;
    for arg in args.iter().skip(1) {
        if let Some(sub) = command.find_subcommand(arg) {
            command = sub;
        }
    }
    // Empty when a subcommand was given: the unexpected argument is not a subcommand's name.
    let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    if names.is_empty() {
        return error;
    }
    let what = match command.get_name() {
        "diadem" => "model classes",
        "clustering" => "algorithms",
        _ => "commands",
    };
    let mut tips = match error.get(ContextKind::Suggested) {
        Some(ContextValue::StyledStrs(tips)) => tips.clone(),
        _ => Vec::new(),
    };
    tips.push(format!("{what}: {}", names.join(", ")).into());
    error.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    error
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reads a dataset in SecuML's layout and writes its Parquet shards and manifest.
    Ingest(IngestArgs),
    /// Trains, tunes and validates a detection model (SecuML's DIADEM).
    Diadem(DiademArgs),
    /// Clusters a dataset's instances (SecuML's clustering; k-means).
    Clustering(ClusteringArgs),
    /// Serves the dashboard.
    Dashboard(DashboardArgs),
    /// Ingests the bundled NSL-KDD sample, runs DIADEM on it and serves the dashboard.
    Demo(DemoArgs),
    /// Runs the coordinator service: takes submitted jobs, plans their tasks, follows them.
    Coordinator(CoordinatorArgs),
    /// Runs a stateless worker: takes tasks, runs them, stores their results.
    Worker(WorkerArgs),
    /// Submits a job to the coordinator service (what CI calls); with --wait, follows it.
    Submit(SubmitArgs),
    /// Shows a job's state, tasks and metrics.
    Status(StatusArgs),
    /// Lists the jobs, newest first.
    Jobs(JobsArgs),
    /// Cancels a job.
    Cancel(CancelArgs),
}

/// `secuml coordinator`.
#[derive(Debug, Args)]
pub struct CoordinatorArgs {
    /// Folder holding `<project>/<dataset>/` (datasets are ingested on first use into the data folder).
    #[arg(long, value_name = "DIR")]
    pub input_dir: Option<PathBuf>,
    /// Coordinator id [default: coordinator-<host>-<pid>].
    #[arg(long)]
    pub id: Option<String>,
    /// Seconds a job lease lives without renewal (a dead coordinator's jobs are resumed after it).
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true, value_parser = number)]
    pub lease_ttl: f64,
}

/// `secuml worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Tasks run at once [default: one per core].
    #[arg(long, allow_negative_numbers = true)]
    pub slots: Option<usize>,
    /// Worker id [default: <host>-<pid>].
    #[arg(long)]
    pub id: Option<String>,
    /// Seconds a heartbeat lives (a worker silent for longer is lost; its tasks are re-queued).
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true, value_parser = number)]
    pub heartbeat_ttl: f64,
    /// Tasks each slot takes from the broker ahead: 1 never holds a task back from an idle
    /// worker (right for tasks of seconds); 2 or more hides the broker's round trip between
    /// tasks of milliseconds.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000), allow_negative_numbers = true)]
    pub prefetch: u16,
}

/// Job types `secuml submit` accepts.
// Built once per job and moved a few times: boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum SubmitJob {
    /// A DIADEM job (same arguments as `secuml diadem`).
    Diadem(DiademArgs),
    /// A clustering job (same arguments as `secuml clustering`).
    Clustering(ClusteringArgs),
}

/// Clustering algorithms.
#[derive(Debug, Subcommand)]
pub enum ClusteringAlgoCommand {
    /// k-means: greedy k-means++ initialisation, then Lloyd iterations, on standardised columns.
    #[command(name = "Kmeans")]
    Kmeans {
        /// Clusters.
        #[arg(long, default_value_t = secuml_proto::job::DEFAULT_NUM_CLUSTERS, allow_negative_numbers = true)]
        num_clusters: u32,
        /// Runs from different initialisations; the one of lowest inertia is kept.
        #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
        n_init: u32,
        /// Lloyd iterations per run at most.
        #[arg(long, default_value_t = 300, allow_negative_numbers = true)]
        max_iter: u32,
        /// Convergence: centre shift relative to the mean feature variance.
        #[arg(long, default_value_t = 1e-4, allow_negative_numbers = true, value_parser = number)]
        tol: f64,
    },
}

/// `secuml clustering`.
#[derive(Debug, Args)]
pub struct ClusteringArgs {
    /// Project name.
    pub project: String,
    /// Dataset name.
    pub dataset: String,
    /// The algorithm and its options.
    #[command(subcommand)]
    pub algo: ClusteringAlgoCommand,
    /// Folder holding `<project>/<dataset>/`; also SECUML_INPUT_DIR [default: .].
    #[arg(long, global = true, value_name = "DIR")]
    pub input_dir: Option<PathBuf>,
    /// Experiment name [default: built from the parameters].
    #[arg(long, global = true)]
    pub exp_name: Option<String>,
    /// Labels and families shown per cluster: GROUND_TRUTH, an annotations file, or NONE.
    #[arg(short = 'a', long, global = true, default_value = "GROUND_TRUTH")]
    pub annotations: String,
    /// Seed of the initialisations.
    #[arg(
        long,
        global = true,
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub seed: u64,
    /// Rows per task; results do not depend on the number of workers, only on this.
    #[arg(long, global = true, default_value_t = secuml_proto::job::DEFAULT_BLOCK_ROWS, allow_negative_numbers = true)]
    pub block_rows: u64,
    /// Task slots (workers) of the embedded mode; -1 = one per core.
    #[arg(long, global = true, default_value_t = -1, allow_negative_numbers = true)]
    pub n_jobs: i64,
    /// Print one JSON object on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

impl ClusteringArgs {
    /// The job spec these arguments describe.
    pub fn to_spec(&self) -> ClusteringSpec {
        let ClusteringAlgoCommand::Kmeans {
            num_clusters,
            n_init,
            max_iter,
            tol,
        } = &self.algo;
        ClusteringSpec {
            project: self.project.clone(),
            dataset: self.dataset.clone(),
            exp_name: self.exp_name.clone(),
            annotations: match self.annotations.as_str() {
                "NONE" => None,
                other => Some(annotations_source(other)),
            },
            algo: secuml_proto::ClusteringAlgo::Kmeans {
                num_clusters: *num_clusters,
                n_init: *n_init,
                max_iter: *max_iter,
                tol: *tol,
            },
            seed: self.seed,
            block_rows: self.block_rows,
        }
    }
}

/// `GROUND_TRUTH` or an annotations file (keyed by its stem in the ingested dataset).
fn annotations_source(value: &str) -> AnnotationsSource {
    match value {
        "GROUND_TRUTH" => AnnotationsSource::GroundTruth,
        file => AnnotationsSource::File(
            file.strip_suffix(".csv.gz")
                .or_else(|| file.strip_suffix(".csv"))
                .unwrap_or(file)
                .to_string(),
        ),
    }
}

/// `secuml submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The job.
    #[command(subcommand)]
    pub job: SubmitJob,
    /// Follow the job to its end (progress on stderr); exit 0 succeeded, 1 a gate failed,
    /// 2 the job failed, 3 bad request.
    #[arg(long, global = true)]
    pub wait: bool,
    /// A gate METRIC=VALUE (e.g. validation.auc=0.9): with --wait, exit 1 unless METRIC >= VALUE.
    /// Metrics: cv.best_score, then <detection>.<metric> for detections train, test,
    /// validation (the held-out one) and validation.<dataset>, metrics auc, detection_rate,
    /// false_alarm_rate, precision, f_score, false_positive_rate, accuracy.
    #[arg(long, global = true, value_name = "METRIC=VALUE")]
    pub fail_under: Vec<String>,
    /// Print one JSON object on stdout: job id, status, experiment id, dashboard URL, every
    /// metric and every gate (also accepted after the job's arguments).
    #[arg(long = "json", id = "submit_json")]
    pub json: bool,
}

/// `secuml status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Job id.
    pub job: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `secuml jobs`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Print one JSON array.
    #[arg(long)]
    pub json: bool,
}

/// `secuml cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Job id.
    pub job: String,
}

/// `secuml ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Folder holding `<project>/<dataset>/` (idents.csv, features/, annotations/).
    pub input_dir: PathBuf,
    /// Project name.
    pub project: String,
    /// Dataset name.
    pub dataset: String,
    /// Features under `features/`: a CSV file (`.csv` or `.csv.gz`), or a folder of CSVs
    /// concatenated column-wise.
    #[arg(short = 'f', long, default_value = "features.csv")]
    pub features: String,
    /// Rows per Parquet shard [default: sized for ~64 MiB shards].
    #[arg(long, allow_negative_numbers = true)]
    pub shard_rows: Option<usize>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Validation modes available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidationMode {
    /// Stratified seeded random split of the training dataset (`--test-size`).
    #[value(name = "RandomSplit")]
    RandomSplit,
    /// Train on the whole dataset, validate on `--validation-datasets`.
    #[value(name = "ValidationDatasets")]
    ValidationDatasets,
    /// Hold out the most recent instances (`--test-size`); needs timestamps.
    #[value(name = "TemporalSplit")]
    TemporalSplit,
    /// Train before `--cutoff-time`, validate from it on; needs timestamps.
    #[value(name = "CutoffTime")]
    CutoffTime,
    /// Stratified seeded k-fold (`--validation-folds`), each fold searched and trained on its own.
    #[value(name = "Cv")]
    Cv,
    /// Folds + 1 buckets of equal duration (`--validation-folds`); fold i trains on the
    /// buckets up to i, validates on the next; needs timestamps.
    #[value(name = "TemporalCv")]
    TemporalCv,
    /// A window of `--train-buckets` then `--test-buckets` among `--buckets` of equal duration,
    /// sliding one bucket per fold; needs timestamps.
    #[value(name = "SlidingWindow")]
    SlidingWindow,
    /// Train on the labelled instances, predict the unlabelled ones (no performance).
    #[value(name = "UnlabeledLabeled")]
    UnlabeledLabeled,
}

impl ValidationMode {
    fn name(self) -> &'static str {
        match self {
            ValidationMode::RandomSplit => "RandomSplit",
            ValidationMode::ValidationDatasets => "ValidationDatasets",
            ValidationMode::TemporalSplit => "TemporalSplit",
            ValidationMode::CutoffTime => "CutoffTime",
            ValidationMode::Cv => "Cv",
            ValidationMode::TemporalCv => "TemporalCv",
            ValidationMode::SlidingWindow => "SlidingWindow",
            ValidationMode::UnlabeledLabeled => "UnlabeledLabeled",
        }
    }
}

fn parse_cutoff_time(value: &str) -> Result<i64, String> {
    secuml_engine::dataset::parse_timestamp(value.as_bytes()).ok_or_else(|| {
        format!("`{value}` is not a time YYYY-MM-DD HH:MM:SS (UTC, as idents.csv's timestamps)")
    })
}

/// Clustering algorithms of the alert analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlertsClusteringArg {
    /// k-means (k-means++, 10 runs).
    #[value(name = "Kmeans")]
    Kmeans,
    /// Gaussian mixture, diagonal covariances, initialised by k-means.
    #[value(name = "GaussianMixture")]
    GaussianMixture,
    /// DBSCAN (eps 0.5, min_samples 5): finds its number of clusters; noise is a group.
    #[value(name = "Dbscan")]
    Dbscan,
}

/// Objective functions available.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ObjectiveArg {
    /// Area under the ROC curve.
    #[value(name = "RocAuc")]
    RocAuc,
    /// Accuracy at the threshold 0.5.
    #[value(name = "Accuracy")]
    Accuracy,
    /// NDCG of the ranking by predicted probability (relevance: malicious).
    #[value(name = "Ndcg")]
    Ndcg,
    /// Detection rate at a false alarm rate of `--far`, SecuML's false alarm rate being the
    /// false discovery rate FP / (FP + TP), not the false positive rate.
    #[value(name = "DrAtFar")]
    DrAtFar,
}

/// Solvers of the logistic regression, as SecuML and scikit-learn spell them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OptimAlgoArg {
    /// liblinear's objectives, solved to the optimum by (proximal) Newton methods.
    #[value(name = "liblinear")]
    Liblinear,
    /// L-BFGS (l2 only: pass `--penalty l2`).
    #[value(name = "lbfgs")]
    Lbfgs,
    /// Stochastic average gradient (l2 only: pass `--penalty l2`).
    #[value(name = "sag")]
    Sag,
    /// SAGA (l1 and l2).
    #[value(name = "saga")]
    Saga,
}

/// Penalties, as SecuML spells them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PenaltyArg {
    /// Lasso.
    #[value(name = "l1")]
    L1,
    /// Ridge.
    #[value(name = "l2")]
    L2,
}

/// Model classes.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Logistic regression on standardised features, no intercept, tuned by grid search.
    #[command(name = "LogisticRegression")]
    LogisticRegression {
        /// Grid of C values (inverse regularisation strength).
        #[arg(long, num_args = 1.., default_values_t = [0.01, 0.1, 1.0, 10.0], allow_negative_numbers = true, value_parser = number)]
        regularization: Vec<f64>,
        /// Grid of penalties.
        #[arg(long, num_args = 1.., value_enum, default_values = ["l1", "l2"])]
        penalty: Vec<PenaltyArg>,
        /// Solver of every candidate (lbfgs and sag need `--penalty l2`).
        #[arg(long, value_enum, default_value = "liblinear")]
        optim_algo: OptimAlgoArg,
    },
    /// Linear support vector classifier with probabilities (Platt scaling), tuned by grid search.
    #[command(name = "Svc")]
    Svc {
        /// Grid of C values (inverse regularisation strength).
        #[arg(long, num_args = 1.., default_values_t = [0.01, 0.1, 1.0, 10.0], allow_negative_numbers = true, value_parser = number)]
        regularization: Vec<f64>,
    },
    /// Gaussian naive Bayes (SecuML: no grid; one candidate, cross-validated).
    #[command(name = "GaussianNaiveBayes")]
    GaussianNaiveBayes {
        /// Share of the largest feature variance added to every variance, for stability: a
        /// grid of values (scikit-learn's default, 1e-9).
        #[arg(long, num_args = 1.., default_values_t = [1e-9], allow_negative_numbers = true, value_parser = number)]
        var_smoothing: Vec<f64>,
    },
    /// Decision tree (CART), tuned by grid search (SecuML's grid: 60 combinations).
    #[command(name = "DecisionTree")]
    DecisionTree {
        /// Grid of impurity measures.
        #[arg(long, num_args = 1.., value_enum, default_values = ["gini", "entropy"])]
        criterion: Vec<CriterionArg>,
        /// Grid of threshold choices.
        #[arg(long, num_args = 1.., value_enum, default_values = ["best", "random"])]
        splitter: Vec<SplitterArg>,
        #[command(flatten)]
        limits: TreeArgs,
    },
    /// Random forest (SecuML: 100 trees, max_features sqrt, no bootstrap).
    #[command(name = "RandomForest")]
    RandomForest {
        /// Grid of numbers of trees.
        #[arg(long, num_args = 1.., default_values_t = [100], allow_negative_numbers = true)]
        n_estimators: Vec<u32>,
        /// Grid of impurity measures.
        #[arg(long, num_args = 1.., value_enum, default_values = ["gini"])]
        criterion: Vec<CriterionArg>,
        /// Grid of bootstrap choices.
        #[arg(long, num_args = 1.., default_values_t = [false])]
        bootstrap: Vec<bool>,
        #[command(flatten)]
        limits: TreeArgs,
    },
    /// Gradient boosting of regression trees on the log loss (SecuML: max_depth 3 or 5,
    /// subsample 0.1).
    #[command(name = "GradientBoosting")]
    GradientBoosting {
        /// Grid of learning rates.
        #[arg(long, num_args = 1.., default_values_t = [0.1], allow_negative_numbers = true, value_parser = number)]
        learning_rate: Vec<f64>,
        /// Grid of numbers of stages.
        #[arg(long, num_args = 1.., default_values_t = [100], allow_negative_numbers = true)]
        n_estimators: Vec<u32>,
        /// Grid of row fractions per stage.
        #[arg(long, num_args = 1.., default_values_t = [0.1], allow_negative_numbers = true, value_parser = number)]
        subsample: Vec<f64>,
        #[command(flatten)]
        limits: TreeArgs,
    },
    /// Label propagation (semi-supervised: learns from labelled and unlabelled rows).
    #[command(name = "LabelPropagation")]
    LabelPropagation {
        /// Graph kernel.
        #[arg(long, value_enum, default_value = "rbf")]
        kernel: KernelArg,
        /// Neighbours of the knn kernel.
        #[arg(long, default_value_t = 7, allow_negative_numbers = true)]
        n_neighbors: u32,
        /// Width of the rbf kernel.
        #[arg(long, default_value_t = 20.0, allow_negative_numbers = true, value_parser = number)]
        gamma: f64,
    },
    /// Semi-supervised support vector data description.
    #[command(name = "Sssvdd")]
    Sssvdd {
        /// Weight of the labelled rows' slacks.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = number)]
        nu_l: f64,
        /// Weight of the unlabelled rows' slacks.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = number)]
        nu_u: f64,
        /// Margin of the labelled rows.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = number)]
        kappa: f64,
    },
    /// Isolation forest whose node weights are updated from labelled feedback (semi-supervised).
    #[command(
        name = "WeightedIsolationForest",
        visible_alias = "WeighedIsolationForest"
    )]
    WeightedIsolationForest {
        #[command(flatten)]
        forest: IsolationArgs,
        /// Learning rate of the weight updates.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = number)]
        eta: f64,
    },
    /// Isolation forest (unsupervised, raw features).
    #[command(name = "IsolationForest")]
    IsolationForest {
        #[command(flatten)]
        forest: IsolationArgs,
    },
    /// Local outlier factor, as a novelty detector (unsupervised).
    #[command(name = "Lof")]
    Lof {
        /// Neighbours.
        #[arg(long, default_value_t = 20, allow_negative_numbers = true)]
        n_neighbors: u32,
        /// Expected share of outliers.
        #[arg(long, default_value_t = 0.1, allow_negative_numbers = true, value_parser = number)]
        contamination: f64,
    },
    /// One-class SVM with an RBF kernel (unsupervised).
    #[command(name = "OneClassSvm")]
    OneClassSvm {
        /// Upper bound on the share of outliers.
        #[arg(long, default_value_t = 0.5, allow_negative_numbers = true, value_parser = number)]
        nu: f64,
        /// Kernel width: `scale` (1 / (features x variance)) or a number.
        #[arg(long, default_value = "scale", value_parser = parse_gamma)]
        gamma: Gamma,
    },
    /// Elliptic envelope: distance to a robust covariance (unsupervised).
    #[command(name = "EllipticEnvelope")]
    EllipticEnvelope {
        /// Expected share of outliers.
        #[arg(long, default_value_t = 0.1, allow_negative_numbers = true, value_parser = number)]
        contamination: f64,
    },
    /// Applies the model of an earlier DIADEM experiment to the validation datasets.
    #[command(name = "AlreadyTrained")]
    AlreadyTrained {
        /// The experiment whose model is applied.
        #[arg(long, allow_negative_numbers = true)]
        model_exp_id: u64,
    },
}

/// Impurity measures.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CriterionArg {
    /// Gini impurity.
    #[value(name = "gini")]
    Gini,
    /// Entropy.
    #[value(name = "entropy")]
    Entropy,
}

/// Threshold choices of a tree.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SplitterArg {
    /// The best threshold.
    #[value(name = "best")]
    Best,
    /// A random threshold.
    #[value(name = "random")]
    Random,
}

/// Kernels of label propagation.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KernelArg {
    /// Gaussian.
    #[value(name = "rbf")]
    Rbf,
    /// Nearest neighbours.
    #[value(name = "knn")]
    Knn,
}

/// A tree depth: a number or `None` (unlimited).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Depth(pub Option<u32>);

fn parse_depth(text: &str) -> Result<Depth, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Depth(None));
    }
    text.parse::<u32>()
        .ok()
        .filter(|d| *d >= 1)
        .map(|d| Depth(Some(d)))
        .ok_or_else(|| format!("`{text}` is not a depth of at least 1 or None"))
}

fn parse_max_features(text: &str) -> Result<MaxFeatures, String> {
    match text.to_ascii_lowercase().as_str() {
        "sqrt" => Ok(MaxFeatures::Sqrt),
        "log2" => Ok(MaxFeatures::Log2),
        "none" | "auto" | "all" => Ok(MaxFeatures::All),
        other => other
            .parse::<f64>()
            .ok()
            .filter(|f| *f > 0.0 && *f <= 1.0)
            .map(MaxFeatures::Fraction)
            .ok_or_else(|| {
                format!("`{text}` is not sqrt, log2, None, auto or a fraction in (0, 1]")
            }),
    }
}

fn parse_gamma(text: &str) -> Result<Gamma, String> {
    if text == "scale" {
        return Ok(Gamma::Scale);
    }
    text.parse::<f64>()
        .ok()
        .filter(|g| g.is_finite() && *g > 0.0)
        .map(Gamma::Value)
        .ok_or_else(|| format!("`{text}` is not `scale` or a positive number"))
}

fn parse_max_samples(text: &str) -> Result<MaxSamples, String> {
    if text == "auto" {
        return Ok(MaxSamples::Auto);
    }
    if let Ok(n) = text.parse::<u32>() {
        return Ok(MaxSamples::Count(n));
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| *f > 0.0 && *f <= 1.0)
        .map(MaxSamples::Fraction)
        .ok_or_else(|| format!("`{text}` is not auto, a row count or a fraction in (0, 1]"))
}

/// Growth limits of tree classes; each option a grid, its default the class's SecuML grid.
#[derive(Debug, Clone, Args)]
pub struct TreeArgs {
    /// Grid of deepest levels (numbers, or None for unlimited).
    #[arg(long, num_args = 1.., value_parser = parse_depth)]
    pub max_depth: Option<Vec<Depth>>,
    /// Grid of features per split: sqrt, log2, None (all), auto (all) or a fraction.
    #[arg(long, num_args = 1.., value_parser = parse_max_features)]
    pub max_features: Option<Vec<MaxFeatures>>,
    /// Grid of the fewest rows to split a node.
    #[arg(long, num_args = 1.., allow_negative_numbers = true)]
    pub min_samples_split: Option<Vec<u32>>,
    /// Grid of the fewest rows per leaf.
    #[arg(long, num_args = 1.., allow_negative_numbers = true)]
    pub min_samples_leaf: Option<Vec<u32>>,
    /// Grid of the most leaves (numbers, or None for unlimited).
    #[arg(long, num_args = 1.., value_parser = parse_depth)]
    pub max_leaf_nodes: Option<Vec<Depth>>,
    /// Grid of the least impurity decrease of a split.
    #[arg(long, num_args = 1.., allow_negative_numbers = true, value_parser = number)]
    pub min_impurity_decrease: Option<Vec<f64>>,
}

impl TreeArgs {
    /// The class's default grid with the options given replacing their defaults.
    fn over(&self, mut grid: TreeLimitsGrid) -> TreeLimitsGrid {
        let depths = |d: &Vec<Depth>| d.iter().map(|d| d.0).collect::<Vec<_>>();
        if let Some(v) = &self.max_depth {
            grid.max_depth = depths(v);
        }
        if let Some(v) = &self.max_features {
            grid.max_features = v.clone();
        }
        if let Some(v) = &self.min_samples_split {
            grid.min_samples_split = v.clone();
        }
        if let Some(v) = &self.min_samples_leaf {
            grid.min_samples_leaf = v.clone();
        }
        if let Some(v) = &self.max_leaf_nodes {
            grid.max_leaf_nodes = depths(v);
        }
        if let Some(v) = &self.min_impurity_decrease {
            grid.min_impurity_decrease = v.clone();
        }
        grid
    }
}

/// Options of the isolation forests.
#[derive(Debug, Clone, Args)]
pub struct IsolationArgs {
    /// Number of trees.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    pub n_estimators: u32,
    /// Rows per tree: auto (min(256, n)), a count or a fraction.
    #[arg(long, default_value = "auto", value_parser = parse_max_samples)]
    pub max_samples: MaxSamples,
    /// Fraction of the features each tree draws from.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = number)]
    pub max_features: f64,
}

impl IsolationArgs {
    fn hyper(&self) -> IsolationForestHyper {
        IsolationForestHyper {
            n_estimators: self.n_estimators,
            max_samples: self.max_samples,
            max_features: self.max_features,
        }
    }
}

fn criteria(c: &[CriterionArg]) -> Vec<Criterion> {
    c.iter()
        .map(|c| match c {
            CriterionArg::Gini => Criterion::Gini,
            CriterionArg::Entropy => Criterion::Entropy,
        })
        .collect()
}

/// The default tree grid of `class` (SecuML's), under the options given.
fn tree_grid(class: &str, limits: &TreeArgs) -> TreeLimitsGrid {
    let default = match ModelSpec::secuml_default(class) {
        Some(ModelSpec::DecisionTree { limits, .. })
        | Some(ModelSpec::RandomForest { limits, .. })
        | Some(ModelSpec::GradientBoosting { limits, .. }) => limits,
        _ => unreachable!("{class} is a tree class"),
    };
    limits.over(default)
}

impl ModelCommand {
    /// The model spec these options describe.
    pub fn to_spec(&self) -> ModelSpec {
        match self {
            ModelCommand::LogisticRegression {
                regularization,
                penalty,
                optim_algo,
            } => ModelSpec::LogisticRegression {
                c: regularization.clone(),
                penalty: penalty
                    .iter()
                    .map(|p| match p {
                        PenaltyArg::L1 => Penalty::L1,
                        PenaltyArg::L2 => Penalty::L2,
                    })
                    .collect(),
                optim_algo: match optim_algo {
                    OptimAlgoArg::Liblinear => OptimAlgo::Liblinear,
                    OptimAlgoArg::Lbfgs => OptimAlgo::Lbfgs,
                    OptimAlgoArg::Sag => OptimAlgo::Sag,
                    OptimAlgoArg::Saga => OptimAlgo::Saga,
                },
            },
            ModelCommand::Svc { regularization } => ModelSpec::Svc {
                c: regularization.clone(),
            },
            ModelCommand::GaussianNaiveBayes { var_smoothing } => ModelSpec::GaussianNaiveBayes {
                var_smoothing: var_smoothing.clone(),
            },
            ModelCommand::DecisionTree {
                criterion,
                splitter,
                limits,
            } => ModelSpec::DecisionTree {
                criterion: criteria(criterion),
                splitter: splitter
                    .iter()
                    .map(|s| match s {
                        SplitterArg::Best => Splitter::Best,
                        SplitterArg::Random => Splitter::Random,
                    })
                    .collect(),
                limits: tree_grid("DecisionTree", limits),
            },
            ModelCommand::RandomForest {
                n_estimators,
                criterion,
                bootstrap,
                limits,
            } => ModelSpec::RandomForest {
                n_estimators: n_estimators.clone(),
                criterion: criteria(criterion),
                limits: tree_grid("RandomForest", limits),
                bootstrap: bootstrap.clone(),
            },
            ModelCommand::GradientBoosting {
                learning_rate,
                n_estimators,
                subsample,
                limits,
            } => ModelSpec::GradientBoosting {
                learning_rate: learning_rate.clone(),
                n_estimators: n_estimators.clone(),
                limits: tree_grid("GradientBoosting", limits),
                subsample: subsample.clone(),
            },
            ModelCommand::LabelPropagation {
                kernel,
                n_neighbors,
                gamma,
            } => ModelSpec::LabelPropagation(LabelPropagationHyper {
                kernel: match kernel {
                    KernelArg::Rbf => PropagationKernel::Rbf,
                    KernelArg::Knn => PropagationKernel::Knn,
                },
                n_neighbors: *n_neighbors,
                gamma: *gamma,
            }),
            ModelCommand::Sssvdd { nu_l, nu_u, kappa } => ModelSpec::Sssvdd(SssvddHyper {
                nu_l: *nu_l,
                nu_u: *nu_u,
                kappa: *kappa,
            }),
            ModelCommand::WeightedIsolationForest { forest, eta } => {
                ModelSpec::WeightedIsolationForest(WeightedIsolationForestHyper {
                    forest: forest.hyper(),
                    eta: *eta,
                })
            }
            ModelCommand::IsolationForest { forest } => ModelSpec::IsolationForest(forest.hyper()),
            ModelCommand::Lof {
                n_neighbors,
                contamination,
            } => ModelSpec::Lof(LofHyper {
                n_neighbors: *n_neighbors,
                contamination: *contamination,
            }),
            ModelCommand::OneClassSvm { nu, gamma } => ModelSpec::OneClassSvm(OneClassSvmHyper {
                nu: *nu,
                gamma: *gamma,
            }),
            ModelCommand::EllipticEnvelope { contamination } => {
                ModelSpec::EllipticEnvelope(EllipticEnvelopeHyper {
                    contamination: *contamination,
                })
            }
            ModelCommand::AlreadyTrained { model_exp_id } => ModelSpec::AlreadyTrained {
                model_exp_id: *model_exp_id,
            },
        }
    }
}

/// `secuml diadem`.
#[derive(Debug, Args)]
pub struct DiademArgs {
    /// Project name (a folder of the input folder).
    pub project: String,
    /// Training dataset name.
    pub dataset: String,
    /// The model class and its options.
    #[command(subcommand)]
    pub model: ModelCommand,
    /// Folder holding `<project>/<dataset>/`; also the config's `input_data_dir` and SECUML_INPUT_DIR [default: .].
    #[arg(long, global = true, value_name = "DIR")]
    pub input_dir: Option<PathBuf>,
    /// Experiment name [default: built from the parameters].
    #[arg(long, global = true)]
    pub exp_name: Option<String>,
    /// Training labels: GROUND_TRUTH (idents.csv) or an annotations file of the dataset.
    #[arg(short = 'a', long, global = true, default_value = "GROUND_TRUTH")]
    pub annotations: String,
    /// Validation mode.
    #[arg(long, global = true, value_enum, default_value = "RandomSplit")]
    pub validation_mode: ValidationMode,
    /// Held-out fraction of RandomSplit and TemporalSplit (SecuML's `--test-size` and
    /// `--test-size-temp`) [default: 0.1].
    #[arg(
        long,
        global = true,
        visible_alias = "test-size-temp",
        allow_negative_numbers = true,
        value_parser = number
    )]
    pub test_size: Option<f64>,
    /// CutoffTime: instances before this time (YYYY-MM-DD HH:MM:SS) train, the others validate.
    #[arg(long, global = true, value_parser = parse_cutoff_time, value_name = "TIME", allow_negative_numbers = true)]
    pub cutoff_time: Option<i64>,
    /// Outer folds of Cv and TemporalCv (SecuML's `--num-folds-val` and `--num-folds-val-temp`)
    /// [default: 4].
    #[arg(long, global = true, visible_aliases = ["num-folds-val", "num-folds-val-temp"], allow_negative_numbers = true)]
    pub validation_folds: Option<u32>,
    /// Buckets of equal duration of SlidingWindow [default: 10].
    #[arg(
        long,
        global = true,
        visible_alias = "num-buckets",
        allow_negative_numbers = true
    )]
    pub buckets: Option<u32>,
    /// Training buckets of each SlidingWindow fold [default: 4].
    #[arg(
        long,
        global = true,
        visible_alias = "num-train-buckets",
        allow_negative_numbers = true
    )]
    pub train_buckets: Option<u32>,
    /// Validation buckets of each SlidingWindow fold [default: 1].
    #[arg(
        long,
        global = true,
        visible_alias = "num-test-buckets",
        allow_negative_numbers = true
    )]
    pub test_buckets: Option<u32>,
    /// Validation datasets of ValidationDatasets (same project).
    #[arg(long, global = true, num_args = 1..)]
    pub validation_datasets: Vec<String>,
    /// ValidationDatasets: read the validation datasets shard by shard and predict them
    /// `--stream-batch` rows at a time, never whole in memory.
    #[arg(long, global = true)]
    pub streaming: bool,
    /// Rows predicted at a time with `--streaming` [default: 1000].
    #[arg(
        long,
        global = true,
        requires = "streaming",
        allow_negative_numbers = true
    )]
    pub stream_batch: Option<u32>,
    /// Folds of the hyperparameter search.
    #[arg(
        long,
        global = true,
        default_value_t = 4,
        allow_negative_numbers = true
    )]
    pub num_folds: u32,
    /// Objective of the hyperparameter search, computed on each fold [default: RocAuc;
    /// Accuracy with --multiclass, which refuses any other].
    #[arg(long, global = true, value_enum)]
    pub objective_func: Option<ObjectiveArg>,
    /// Train on the instances' families instead of their binary labels (supervised classes
    /// and LabelPropagation; the search objective is Accuracy); the detections report the
    /// accuracy, F1 micro and F1 macro on families and a family confusion matrix.
    #[arg(long, global = true)]
    pub multiclass: bool,
    /// False alarm rate of DrAtFar: the highest detection rate among the thresholds whose false
    /// alarm rate is at most this. As in SecuML the false alarm rate is the false discovery rate
    /// FP / (FP + TP) (1 - precision), not the false positive rate.
    #[arg(long, global = true, default_value_t = secuml_proto::job::DEFAULT_FAR, allow_negative_numbers = true, value_parser = number)]
    pub far: f64,
    /// Seed of the random split and of shuffled folds.
    #[arg(
        long,
        global = true,
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub seed: u64,
    /// Shuffle the stratified folds with the seed (SecuML keeps the dataset order).
    #[arg(long, global = true)]
    pub shuffle_folds: bool,
    /// Probability above which an instance is an alert.
    #[arg(
        long,
        global = true,
        default_value_t = 0.5,
        allow_negative_numbers = true,
        value_parser = number
    )]
    pub detection_threshold: f64,
    /// Cluster the alerts of every detection but the training one (their features
    /// standardised on the alerts, as SecuML); shown in the dashboard's Alerts Analysis panel.
    #[arg(long, global = true, value_enum, value_name = "ALGO")]
    pub alerts_clustering: Option<AlertsClusteringArg>,
    /// Clusters of `--alerts-clustering Kmeans|GaussianMixture` [default: 4], at most one per
    /// alert (Dbscan finds its own number and ignores it).
    #[arg(long, global = true, allow_negative_numbers = true)]
    pub num_alerts_clusters: Option<u32>,
    /// Name the family of each alert (every detection but the training one) with a multiclass
    /// model of this supervised class (its default grid, chosen by Accuracy over --num-folds
    /// folds) trained on the training rows' malicious families, as SecuML; skipped with fewer
    /// than 2 families. Exclusive with --alerts-clustering.
    #[arg(long, global = true, value_name = "MODEL_CLASS")]
    pub alerts_classif: Option<String>,
    /// Do not apply the model to the training set.
    #[arg(long, global = true)]
    pub no_training_detection: bool,
    /// Task slots (workers) of the embedded mode; -1 = one per core.
    #[arg(long, global = true, default_value_t = -1, allow_negative_numbers = true)]
    pub n_jobs: i64,
    /// Print one JSON object on stdout (progress and logs go to stderr).
    #[arg(long, global = true)]
    pub json: bool,
}

/// `secuml dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Address to bind [default: 127.0.0.1]; also SECUML_HOST.
    #[arg(long)]
    pub host: Option<IpAddr>,
    /// Port [default: 8080]; also SECUML_PORT.
    #[arg(long, allow_negative_numbers = true)]
    pub port: Option<u16>,
}

/// `secuml demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder holding the bundled `NSL-KDD/` sample [default: ./data, else the source tree's data/].
    #[arg(long, value_name = "DIR")]
    pub input_dir: Option<PathBuf>,
    /// Dashboard address [default: 127.0.0.1].
    #[arg(long)]
    pub host: Option<IpAddr>,
    /// Dashboard port [default: 8080].
    #[arg(long, allow_negative_numbers = true)]
    pub port: Option<u16>,
    /// Exit after the run instead of serving the dashboard.
    #[arg(long)]
    pub no_serve: bool,
}

impl DiademArgs {
    /// The job spec these arguments describe (validated later, once, by the spec itself).
    ///
    /// Refuses, as a bad request, an option of another validation mode than the chosen one and
    /// CutoffTime without `--cutoff-time`.
    pub fn to_spec(&self) -> anyhow::Result<DiademSpec> {
        check_diadem_args(self).map_err(|e| connect::BadRequest(format!("{e:#}")))?;
        let model = self.model.to_spec();
        // SecuML names the file (`init_annotations.csv`); the ingested dataset keys it by stem.
        let annotations = annotations_source(&self.annotations);
        use secuml_proto::job::{
            DEFAULT_BUCKETS, DEFAULT_STREAM_BATCH, DEFAULT_TEST_BUCKETS, DEFAULT_TRAIN_BUCKETS,
            DEFAULT_VALIDATION_FOLDS,
        };
        let test_size = self.test_size.unwrap_or(0.1);
        let folds = self.validation_folds.unwrap_or(DEFAULT_VALIDATION_FOLDS);
        let validation = match self.validation_mode {
            ValidationMode::RandomSplit => ValidationSpec::RandomSplit { test_size },
            ValidationMode::ValidationDatasets => ValidationSpec::ValidationDatasets {
                datasets: self.validation_datasets.clone(),
            },
            ValidationMode::TemporalSplit => ValidationSpec::TemporalSplit { test_size },
            ValidationMode::CutoffTime => ValidationSpec::CutoffTime {
                cutoff_time: self.cutoff_time.context("checked above")?,
            },
            ValidationMode::Cv => ValidationSpec::Cv { num_folds: folds },
            ValidationMode::TemporalCv => ValidationSpec::TemporalCv { num_folds: folds },
            ValidationMode::SlidingWindow => ValidationSpec::SlidingWindow {
                num_buckets: self.buckets.unwrap_or(DEFAULT_BUCKETS),
                num_train_buckets: self.train_buckets.unwrap_or(DEFAULT_TRAIN_BUCKETS),
                num_test_buckets: self.test_buckets.unwrap_or(DEFAULT_TEST_BUCKETS),
            },
            ValidationMode::UnlabeledLabeled => ValidationSpec::UnlabeledLabeled,
        };
        Ok(DiademSpec {
            project: self.project.clone(),
            dataset: self.dataset.clone(),
            exp_name: self.exp_name.clone(),
            model,
            annotations,
            validation,
            num_folds: self.num_folds,
            objective: match self.objective_func {
                None if self.multiclass => Objective::Accuracy,
                None | Some(ObjectiveArg::RocAuc) => Objective::RocAuc,
                Some(ObjectiveArg::Accuracy) => Objective::Accuracy,
                Some(ObjectiveArg::Ndcg) => Objective::Ndcg,
                Some(ObjectiveArg::DrAtFar) => Objective::DrAtFar,
            },
            far: self.far,
            seed: self.seed,
            shuffle_folds: self.shuffle_folds,
            detection_threshold: self.detection_threshold,
            no_training_detection: self.no_training_detection,
            stream_batch: self
                .streaming
                .then_some(self.stream_batch.unwrap_or(DEFAULT_STREAM_BATCH)),
            multiclass: self.multiclass,
            alerts: match &self.alerts_classif {
                Some(class) => Some(AlertsAnalysis::Classification {
                    model: Box::new(ModelSpec::secuml_default(class).ok_or_else(|| {
                        anyhow::anyhow!(
                            "invalid parameter `alerts-classif`: unknown model class `{class}`; \
                             expected one of LogisticRegression, Svc, GaussianNaiveBayes, \
                             DecisionTree, RandomForest, GradientBoosting"
                        )
                    })?),
                    num_folds: self.num_folds,
                }),
                None => self
                    .alerts_clustering
                    .map(|algo| AlertsAnalysis::Clustering {
                        algo: match algo {
                            AlertsClusteringArg::Kmeans => AlertsClusteringAlgo::Kmeans,
                            AlertsClusteringArg::GaussianMixture => {
                                AlertsClusteringAlgo::GaussianMixture
                            }
                            AlertsClusteringArg::Dbscan => AlertsClusteringAlgo::Dbscan,
                        },
                        num_clusters: self
                            .num_alerts_clusters
                            .unwrap_or(secuml_proto::job::DEFAULT_NUM_ALERTS_CLUSTERS),
                    }),
            },
        })
    }
}

fn settings(cli: &Cli, extra: Overrides) -> anyhow::Result<Settings> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let overrides = Overrides {
        config: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
        amqp_url: cli.amqp.clone(),
        redis_url: cli.redis.clone(),
        data_root: cli.data_root.clone(),
        cache_dir: cli.cache_dir.clone(),
        cache_max_bytes: cli.cache_max_bytes.clone(),
        ..extra
    };
    config::load(&overrides, &env)
}

/// Writes `text` to stdout; a reader that closed the pipe (`secuml jobs | head`) is not an error.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// How to serve the results of an embedded run: the dashboard reads the same data folder.
fn serve_hint(settings: &Settings) -> String {
    format!(
        "  (serve it with: secuml --data-dir {} dashboard)\n",
        settings.paths.data_dir.display()
    )
}

fn workers(n_jobs: i64) -> anyhow::Result<usize> {
    match n_jobs {
        -1 => Ok(embedded::default_workers()),
        n if n >= 1 => Ok(n as usize),
        n => Err(connect::BadRequest(format!(
            "invalid parameter `n-jobs`: {n} is neither -1 nor a positive number"
        ))
        .into()),
    }
}

/// The bundled sample's folder for `secuml demo`.
fn demo_input_dir(given: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = given {
        return dir;
    }
    let local = PathBuf::from("data");
    if local.join("NSL-KDD").join("train20").is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("data")
}

/// The demo's DIADEM spec: LogisticRegression trained on NSL-KDD train20, validated on test.
pub fn demo_spec() -> DiademSpec {
    DiademSpec::with_defaults(
        "NSL-KDD",
        "train20",
        ModelSpec::default_logistic_regression(),
        ValidationSpec::ValidationDatasets {
            datasets: vec!["test".into()],
        },
    )
}

async fn serve_dashboard(settings: &Settings) -> anyhow::Result<()> {
    let store = connect::store(settings).await?;
    let addr = SocketAddr::new(settings.host, settings.port);
    // Ctrl-C or SIGTERM (systemd, docker stop) stops it.
    let shutdown = async {
        let signal = embedded::interrupted().await;
        tracing::info!(signal, "stopping the dashboard");
    };
    // The datasets of the data root; an object store's files mirrored as they are read.
    let datasets = secuml_dashboard::Files::of_root(
        connect::data_root(settings)?,
        settings
            .data
            .cache_dir
            .join("dashboard")
            .join(secuml_runtime::data_root::DATASETS),
    );
    secuml_dashboard::serve(store, datasets, addr, shutdown).await
}

/// Exit codes of every command (`secuml submit --wait` adds the gates').
pub mod exit {
    /// The job succeeded and every gate holds.
    pub const OK: u8 = 0;
    /// A `--fail-under` gate failed.
    pub const GATE_FAILED: u8 = 1;
    /// The job failed or was cancelled, or its data refused it (a missing dataset, no
    /// timestamps for a temporal mode).
    pub const JOB_FAILED: u8 = 2;
    /// The request was refused before any work (an unknown option, a parameter out of range).
    pub const BAD_REQUEST: u8 = 3;
    /// Anything else: unreadable or invalid input files, unreachable services.
    pub const OTHER: u8 = 1;
}

fn secs(name: &str, value: f64) -> anyhow::Result<std::time::Duration> {
    if !(value.is_finite() && value > 0.0) {
        return Err(connect::BadRequest(format!(
            "invalid parameter `{name}`: {value} is not a positive number of seconds"
        ))
        .into());
    }
    Ok(std::time::Duration::from_secs_f64(value))
}

/// The report of a finished job read back from the store: JSON and text.
async fn stored_report(
    store: &dyn secuml_runtime::Store,
    record: &secuml_proto::JobRecord,
    experiment_url: &str,
) -> anyhow::Result<(serde_json::Value, String)> {
    let id = record
        .experiment_id
        .context("a finished job has an experiment")?;
    let experiment = jobs::load_experiment(store, id)
        .await?
        .context("the experiment record is missing")?;
    match &record.spec {
        JobSpec::Diadem(spec) => {
            let outcome = embedded::DiademOutcome {
                experiment_id: id,
                job_id: record.job_id.clone(),
                results: diadem::load_results(store, id, spec).await?,
                record: experiment,
            };
            Ok((
                report::diadem_json(&outcome, experiment_url),
                report::diadem_text(&outcome, experiment_url),
            ))
        }
        JobSpec::Clustering(_) => {
            let bytes = store
                .get(&secuml_proto::keys::clustering(id))
                .await?
                .context("the clustering result is missing")?;
            let outcome = embedded::ClusteringOutcome {
                experiment_id: id,
                job_id: record.job_id.clone(),
                results: clustering::ClusteringResults {
                    result: serde_json::from_slice(&bytes)?,
                    tasks: record.tasks_planned as usize,
                },
                record: experiment,
            };
            Ok((
                report::clustering_json(&outcome, experiment_url),
                report::clustering_text(&outcome, experiment_url),
            ))
        }
    }
}

/// Submits a job to the services, then (with `wait`) follows it and checks the gates.
async fn submit_job(
    cli: &Cli,
    spec: JobSpec,
    wait: bool,
    gates: &[String],
    json: bool,
) -> anyhow::Result<u8> {
    let gates = gates
        .iter()
        .map(|g| g.parse::<client::Gate>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| connect::BadRequest(format!("invalid parameter `fail-under`: {e}")))?;
    for gate in &gates {
        gate.check_for(&spec)
            .map_err(|e| connect::BadRequest(format!("invalid parameter `fail-under`: {e}")))?;
    }
    preflight::request(&spec)?;
    let settings = settings(cli, Overrides::default())?;
    let (store, queue) = connect::services(&settings, "submit").await?;
    let job_id = client::submit(&*store, &*queue, spec).await?;
    let job_url = settings.job_url(&job_id);
    if !wait {
        if json {
            print_stdout(&format!(
                "{}\n",
                serde_json::json!({"job_id": job_id, "status": "queued", "dashboard_url": job_url})
            ))?;
        } else {
            print_stdout(&format!("submitted {job_id}\n  dashboard: {job_url}\n"))?;
        }
        return Ok(exit::OK);
    }
    let record = client::wait(&*store, &job_id, json).await?;
    let results = client::check_gates(&record, &gates);
    let code = match record.status {
        secuml_proto::JobStatus::Succeeded if results.iter().all(|g| g.passed) => exit::OK,
        secuml_proto::JobStatus::Succeeded => exit::GATE_FAILED,
        _ => exit::JOB_FAILED,
    };
    let experiment_url = record.experiment_id.map(|id| settings.experiment_url(id));
    let report = match (&experiment_url, record.status) {
        (Some(url), secuml_proto::JobStatus::Succeeded) => {
            Some(stored_report(&*store, &record, url).await?)
        }
        _ => None,
    };
    if json {
        let mut value = ended_json(&settings, &record, &results, code == exit::OK);
        if let Some((report, _)) = report {
            value["report"] = report;
        }
        print_stdout(&format!("{value}\n"))?;
    } else {
        if let Some((_, text)) = &report {
            print_stdout(text)?;
        }
        if let Some(error) = &record.error {
            print_stdout(&format!("job {job_id} {:?}: {error}\n", record.status))?;
        }
        for g in &results {
            print_stdout(&format!(
                "gate {} >= {}: {} ({})\n",
                g.metric,
                g.threshold,
                if g.passed { "passed" } else { "FAILED" },
                match (g.value, g.margin) {
                    (Some(v), Some(m)) => format!("{v:.4}, margin {m:+.4}"),
                    _ => "no such metric in this job".to_string(),
                }
            ))?;
        }
    }
    Ok(code)
}

/// The JSON object `--json` prints for a job that ended: `secuml submit --wait`'s, and a failed
/// embedded run's.
fn ended_json(
    settings: &Settings,
    record: &secuml_proto::JobRecord,
    gates: &[client::GateResult],
    passed: bool,
) -> serde_json::Value {
    let job_url = settings.job_url(&record.job_id);
    serde_json::json!({
        "job_id": record.job_id,
        "status": record.status,
        "experiment_id": record.experiment_id,
        "dashboard_url": record
            .experiment_id
            .map_or_else(|| job_url.clone(), |id| settings.experiment_url(id)),
        "job_url": job_url,
        "error": record.error,
        "metrics": record.metrics,
        "gates": gates,
        "passed": passed,
    })
}

/// Whether the command prints one JSON object on stdout.
fn prints_json(command: &Command) -> bool {
    match command {
        Command::Diadem(args) => args.json,
        Command::Clustering(args) => args.json,
        Command::Submit(args) => {
            args.json
                || match &args.job {
                    SubmitJob::Diadem(d) => d.json,
                    SubmitJob::Clustering(c) => c.json,
                }
        }
        _ => false,
    }
}

/// The JSON object `--json` prints when a command fails with `error`: a refused request
/// (`status` `refused`), a job that ended failed (as [`ended_json`]), or any other error
/// (`status` `error`: a bad config file, an unreachable service, an interruption).
fn failure_json(cli: &Cli, error: &anyhow::Error) -> serde_json::Value {
    if error.downcast_ref::<connect::BadRequest>().is_some() {
        return serde_json::json!({"status": "refused", "error": format!("{error:#}")});
    }
    let ended = error
        .downcast_ref::<connect::JobFailed>()
        .and_then(|failed| {
            let settings = settings(cli, Overrides::default()).ok()?;
            Some(ended_json(&settings, &failed.record, &[], false))
        });
    ended.unwrap_or_else(|| serde_json::json!({"status": "error", "error": format!("{error:#}")}))
}

/// The JSON object `--json` prints for a command line that does not parse (`args`, the
/// program's name first): `{"status": "refused", "error": ...}` when the command is one that
/// prints JSON and `--json` is among the arguments; `None` otherwise.
pub fn parse_failure_json(error: &clap::Error, args: &[String]) -> Option<serde_json::Value> {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        return None;
    }
    // The command is the first argument that names one (a project or dataset may be called
    // `diadem` too).
    let root = <Cli as clap::CommandFactory>::command();
    let json_command = args
        .iter()
        .skip(1)
        .find(|a| root.find_subcommand(a.as_str()).is_some())
        .is_some_and(|c| matches!(c.as_str(), "diadem" | "clustering" | "submit"));
    let json = args.iter().skip(1).any(|a| a == "--json");
    (json_command && json).then(|| {
        let message = error.render().to_string();
        serde_json::json!({"status": "refused", "error": message.trim_end()})
    })
}

/// The DIADEM spec of the arguments, checked: a bad one is a bad request.
fn diadem_job(args: &DiademArgs) -> anyhow::Result<JobSpec> {
    Ok(JobSpec::Diadem(args.to_spec()?))
}

/// A number of the command line: any `f64` but NaN, which no parameter takes (a domain check
/// after it would name NaN `null`).
fn number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_nan() => Err(format!("`{text}` is not a number")),
        Ok(v) => Ok(v),
        Err(e) => Err(format!("`{text}`: {e}")),
    }
}

fn check_diadem_args(args: &DiademArgs) -> anyhow::Result<()> {
    use ValidationMode as M;
    let mode = args.validation_mode;
    let given: [(&str, bool, &[M]); 7] = [
        (
            "validation-datasets",
            !args.validation_datasets.is_empty(),
            &[M::ValidationDatasets],
        ),
        (
            "test-size",
            args.test_size.is_some(),
            &[M::RandomSplit, M::TemporalSplit],
        ),
        ("cutoff-time", args.cutoff_time.is_some(), &[M::CutoffTime]),
        (
            "validation-folds",
            args.validation_folds.is_some(),
            &[M::Cv, M::TemporalCv],
        ),
        ("buckets", args.buckets.is_some(), &[M::SlidingWindow]),
        (
            "train-buckets",
            args.train_buckets.is_some(),
            &[M::SlidingWindow],
        ),
        (
            "test-buckets",
            args.test_buckets.is_some(),
            &[M::SlidingWindow],
        ),
    ];
    for (param, is_given, modes) in given {
        if is_given && !modes.contains(&mode) {
            let names: Vec<&str> = modes.iter().map(|m| m.name()).collect();
            anyhow::bail!(
                "invalid parameter `{param}`: it applies to `--validation-mode {}`, not {}",
                names.join(" | "),
                mode.name()
            );
        }
    }
    if mode == M::CutoffTime && args.cutoff_time.is_none() {
        anyhow::bail!("invalid parameter `cutoff-time`: `--validation-mode CutoffTime` needs it (YYYY-MM-DD HH:MM:SS)");
    }
    if args.num_alerts_clusters.is_some() && args.alerts_clustering.is_none() {
        anyhow::bail!(
            "invalid parameter `num-alerts-clusters`: it applies to `--alerts-clustering \
             Kmeans|GaussianMixture`, which is not given"
        );
    }
    if args.alerts_classif.is_some() && args.alerts_clustering.is_some() {
        anyhow::bail!(
            "invalid parameter `alerts-classif`: the alerts are analysed by --alerts-classif or \
             --alerts-clustering, not both"
        );
    }
    Ok(())
}

async fn stop_signal(stop: tokio::sync::watch::Sender<bool>) {
    let signal = embedded::interrupted().await;
    tracing::info!(signal, "stopping: finishing the work in hand");
    let _ = stop.send(true);
}

/// Runs a parsed command line; returns the exit code.
///
/// With `--json`, a refused request, a failed job or any other error still prints one JSON
/// object on stdout (the error also goes to stderr, by the caller).
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let result = run_command(&cli).await;
    if let Err(error) = &result {
        if prints_json(&cli.command) {
            print_stdout(&format!("{}\n", failure_json(&cli, error)))?;
        }
    }
    result
}

async fn run_command(cli: &Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Ingest(args) => {
            secuml_proto::job::check_name("project", &args.project)?;
            secuml_proto::job::check_name("dataset", &args.dataset)?;
            let settings = settings(cli, Overrides::default())?;
            let root = connect::data_root(&settings)?;
            let input = datasets_input(&args.input_dir, &args.project, &args.dataset);
            let started = std::time::Instant::now();
            let manifest = {
                let (paths, root) = (settings.paths.clone(), root.clone());
                let (project, dataset) = (args.project.clone(), args.dataset.clone());
                let (features, shard_rows) = (args.features.clone(), args.shard_rows);
                tokio::task::spawn_blocking(move || {
                    datasets::ingest(
                        &paths,
                        &root,
                        &input,
                        &project,
                        &dataset,
                        Some(&features),
                        shard_rows,
                    )
                })
                .await
                .context("the ingest panicked")??
            };
            let seconds = started.elapsed().as_secs_f64();
            let dir = root.describe(&datasets::dataset_key(&args.project, &args.dataset));
            if args.json {
                let value = serde_json::json!({
                    "project": args.project, "dataset": args.dataset, "rows": manifest.rows,
                    "features": manifest.features.len(), "shards": manifest.shards.len(),
                    "output": dir, "seconds": seconds,
                });
                print_stdout(&format!("{value}\n"))?;
            } else {
                print_stdout(&format!(
                    "ingested {}/{}: {} rows, {} features, {} shard(s) in {:.3} s into {}\n",
                    args.project,
                    args.dataset,
                    manifest.rows,
                    manifest.features.len(),
                    manifest.shards.len(),
                    seconds,
                    dir
                ))?;
            }
            Ok(exit::OK)
        }
        Command::Diadem(args) => {
            let spec = args.to_spec()?;
            let settings = settings(
                cli,
                Overrides {
                    input_dir: args.input_dir.clone(),
                    ..Default::default()
                },
            )?;
            if settings.distributed() {
                return submit_job(cli, JobSpec::Diadem(spec), true, &[], args.json).await;
            }
            refuse_data_root(&settings)?;
            let outcome =
                embedded::run_diadem(&settings.paths, spec, workers(args.n_jobs)?).await?;
            let url = settings.experiment_url(outcome.experiment_id);
            if args.json {
                print_stdout(&format!("{}\n", report::diadem_json(&outcome, &url)))?;
            } else {
                print_stdout(&report::diadem_text(&outcome, &url))?;
                print_stdout(&serve_hint(&settings))?;
            }
            Ok(exit::OK)
        }
        Command::Clustering(args) => {
            let settings = settings(
                cli,
                Overrides {
                    input_dir: args.input_dir.clone(),
                    ..Default::default()
                },
            )?;
            if settings.distributed() {
                return submit_job(
                    cli,
                    JobSpec::Clustering(args.to_spec()),
                    true,
                    &[],
                    args.json,
                )
                .await;
            }
            refuse_data_root(&settings)?;
            let outcome =
                embedded::run_clustering(&settings.paths, args.to_spec(), workers(args.n_jobs)?)
                    .await?;
            let url = settings.experiment_url(outcome.experiment_id);
            if args.json {
                print_stdout(&format!("{}\n", report::clustering_json(&outcome, &url)))?;
            } else {
                print_stdout(&report::clustering_text(&outcome, &url))?;
                print_stdout(&serve_hint(&settings))?;
            }
            Ok(exit::OK)
        }
        Command::Dashboard(args) => {
            let settings = settings(
                cli,
                Overrides {
                    host: args.host,
                    port: args.port,
                    ..Default::default()
                },
            )?;
            serve_dashboard(&settings).await?;
            Ok(exit::OK)
        }
        Command::Demo(args) => {
            let input_dir = demo_input_dir(args.input_dir.clone());
            let settings = settings(
                cli,
                Overrides {
                    input_dir: Some(input_dir),
                    host: args.host,
                    port: args.port,
                    ..Default::default()
                },
            )?;
            refuse_data_root(&settings)?;
            // The port is taken before the run, so a busy port fails at once, not after training.
            let server = if args.no_serve {
                None
            } else {
                let store = embedded::open_store(&settings.paths)?;
                let addr = SocketAddr::new(settings.host, settings.port);
                let (addr, serving) =
                    secuml_dashboard::bind(store, settings.paths.datasets_dir(), addr).await?;
                Some((addr, tokio::spawn(serving)))
            };
            let outcome =
                embedded::run_diadem(&settings.paths, demo_spec(), embedded::default_workers())
                    .await
                    .context("running the demo")?;
            let url = settings.experiment_url(outcome.experiment_id);
            print_stdout(&report::diadem_text(&outcome, &url))?;
            let Some((addr, serving)) = server else {
                return Ok(exit::OK);
            };
            print_stdout(&format!(
                "serving the dashboard on http://{addr}/ (Ctrl-C to stop)\n"
            ))?;
            // Ctrl-C or SIGTERM: the job's handler of SIGTERM is installed for good, so the
            // signal's default action no longer stops the process.
            let signal = embedded::interrupted().await;
            tracing::info!(signal, "stopping the dashboard");
            serving.abort();
            Ok(exit::OK)
        }
        Command::Coordinator(args) => {
            let settings = settings(
                cli,
                Overrides {
                    input_dir: args.input_dir.clone(),
                    ..Default::default()
                },
            )?;
            let lease_ttl = secs("lease-ttl", args.lease_ttl)?;
            let (store, queue) = connect::services(&settings, "coordinator").await?;
            let id = args
                .id
                .clone()
                .unwrap_or_else(service::default_coordinator_id);
            secuml_proto::job::check_name("id", &id)?;
            let root = connect::data_root(&settings)?;
            let env = service::env_for(settings.paths.clone(), root, store, queue.clone(), id);
            let (stop, stopped) = tokio::sync::watch::channel(false);
            tokio::spawn(stop_signal(stop));
            service::run_coordinator(
                env,
                service::CoordinatorConfig {
                    lease_ttl,
                    ..Default::default()
                },
                stopped,
            )
            .await?;
            queue.close().await?;
            Ok(exit::OK)
        }
        Command::Worker(args) => {
            let settings = settings(cli, Overrides::default())?;
            let heartbeat_ttl = secs("heartbeat-ttl", args.heartbeat_ttl)?;
            let slots = match args.slots {
                Some(0) => {
                    return Err(connect::BadRequest(
                        "invalid parameter `slots`: 0 is not a positive number".into(),
                    )
                    .into())
                }
                Some(n) => n,
                None => embedded::default_workers(),
            };
            let (store, queue) = connect::services(&settings, "worker").await?;
            let id = args
                .id
                .clone()
                .unwrap_or_else(secuml_worker::run::default_worker_id);
            secuml_proto::job::check_name("id", &id)?;
            let ctx = secuml_worker::TaskContext {
                // A slot works on one search fold at a time (`FOLD_CACHE_ENTRIES`).
                cache: std::sync::Arc::new(
                    secuml_worker::DataCache::new(connect::data_root(&settings)?, 4)
                        .with_fold_entries(slots.min(secuml_worker::data::FOLD_CACHE_ENTRIES)),
                ),
                store,
            };
            let (stop, stopped) = tokio::sync::watch::channel(false);
            tokio::spawn(stop_signal(stop));
            let config = secuml_worker::WorkerConfig {
                heartbeat_ttl,
                prefetch: args.prefetch,
                ..secuml_worker::WorkerConfig::new(id, slots)
            };
            secuml_worker::run_worker(queue.clone(), ctx, config, stopped).await?;
            queue.close().await?;
            Ok(exit::OK)
        }
        Command::Submit(args) => match &args.job {
            SubmitJob::Diadem(diadem) => {
                submit_job(
                    cli,
                    diadem_job(diadem)?,
                    args.wait,
                    &args.fail_under,
                    args.json || diadem.json,
                )
                .await
            }
            SubmitJob::Clustering(c) => {
                submit_job(
                    cli,
                    JobSpec::Clustering(c.to_spec()),
                    args.wait,
                    &args.fail_under,
                    args.json || c.json,
                )
                .await
            }
        },
        Command::Status(args) => {
            let settings = settings(cli, Overrides::default())?;
            let store = connect::store(&settings).await?;
            let Some((record, tasks)) = client::status(&*store, &args.job).await? else {
                return Err(connect::BadRequest(format!("job {} does not exist", args.job)).into());
            };
            if args.json {
                let tasks: serde_json::Map<String, serde_json::Value> = tasks
                    .iter()
                    .map(|(id, t)| (id.clone(), serde_json::to_value(t).unwrap_or_default()))
                    .collect();
                print_stdout(&format!(
                    "{}\n",
                    serde_json::json!({"job": record, "tasks": tasks, "dashboard_url": settings.job_url(&record.job_id)})
                ))?;
            } else {
                print_stdout(&client::status_text(
                    &record,
                    &tasks,
                    &settings.job_url(&record.job_id),
                ))?;
            }
            Ok(exit::OK)
        }
        Command::Jobs(args) => {
            let settings = settings(cli, Overrides::default())?;
            let store = connect::store(&settings).await?;
            let jobs = jobs::list_jobs(&*store).await?;
            if args.json {
                print_stdout(&format!("{}\n", serde_json::to_value(&jobs)?))?;
            } else {
                for job in &jobs {
                    print_stdout(&format!(
                        "{}  {:<9}  {}/{} tasks  {}\n",
                        job.job_id,
                        format!("{:?}", job.status).to_lowercase(),
                        job.tasks_done,
                        job.tasks_planned,
                        job.error.as_deref().unwrap_or("")
                    ))?;
                }
            }
            Ok(exit::OK)
        }
        Command::Cancel(args) => {
            let settings = settings(cli, Overrides::default())?;
            let store = connect::store(&settings).await?;
            let record = client::cancel(&*store, &args.job).await?;
            if record.status.is_final() {
                print_stdout(&format!(
                    "job {} already ended: {:?}\n",
                    record.job_id, record.status
                ))?;
            } else {
                print_stdout(&format!("cancel of job {} requested\n", record.job_id))?;
            }
            Ok(exit::OK)
        }
    }
}

/// The embedded mode reads its datasets from the data folder only.
fn refuse_data_root(settings: &Settings) -> anyhow::Result<()> {
    match &settings.data.root {
        None => Ok(()),
        Some(root) => Err(connect::BadRequest(format!(
            "the data root `{root}` (--data-root, SECUML_DATA_ROOT or data_root) is read by `secuml ingest` and the distributed services; the embedded mode reads the data folder (--data-dir): unset it, or give --amqp and --redis to run on the services"
        ))
        .into()),
    }
}

/// `secuml ingest <input_dir> <project> <dataset>` reads `<input_dir>/<project>/<dataset>/`.
fn datasets_input(input_dir: &std::path::Path, project: &str, dataset: &str) -> PathBuf {
    input_dir.join(project).join(dataset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_work_before_and_after_the_model_class() {
        let cli = Cli::try_parse_from([
            "secuml",
            "diadem",
            "NSL-KDD",
            "train20",
            "--seed",
            "3",
            "LogisticRegression",
            "--validation-mode",
            "ValidationDatasets",
            "--validation-datasets",
            "test",
            "--regularization",
            "1",
            "10",
        ])
        .unwrap();
        let Command::Diadem(args) = cli.command else {
            panic!("not diadem")
        };
        let spec = args.to_spec().unwrap();
        assert_eq!(spec.seed, 3);
        assert_eq!(
            spec.validation,
            ValidationSpec::ValidationDatasets {
                datasets: vec!["test".into()]
            }
        );
        assert_eq!(
            spec.model,
            ModelSpec::LogisticRegression {
                c: vec![1.0, 10.0],
                penalty: vec![Penalty::L1, Penalty::L2],
                optim_algo: Default::default(),
            }
        );
        assert_eq!(spec.annotations, AnnotationsSource::GroundTruth);
    }

    #[test]
    fn defaults_are_secuml_defaults() {
        let cli =
            Cli::try_parse_from(["secuml", "diadem", "p", "d", "LogisticRegression"]).unwrap();
        let Command::Diadem(args) = cli.command else {
            panic!("not diadem")
        };
        let spec = args.to_spec().unwrap();
        assert_eq!(spec.model, ModelSpec::default_logistic_regression());
        assert_eq!(
            spec.validation,
            ValidationSpec::RandomSplit { test_size: 0.1 }
        );
        assert_eq!(spec.num_folds, 4);
        assert_eq!(spec.detection_threshold, 0.5);
        assert_eq!(args.n_jobs, -1);
    }

    #[test]
    fn every_secuml_objective_parses_with_far() {
        for (name, objective) in [
            ("RocAuc", Objective::RocAuc),
            ("Accuracy", Objective::Accuracy),
            ("Ndcg", Objective::Ndcg),
            ("DrAtFar", Objective::DrAtFar),
        ] {
            let cli = Cli::try_parse_from([
                "secuml",
                "diadem",
                "p",
                "d",
                "LogisticRegression",
                "--objective-func",
                name,
                "--far",
                "0.1",
            ])
            .unwrap();
            let Command::Diadem(args) = cli.command else {
                panic!("not diadem")
            };
            let spec = args.to_spec().unwrap();
            assert_eq!(spec.objective, objective);
            assert_eq!(spec.far, 0.1);
        }
        let cli =
            Cli::try_parse_from(["secuml", "diadem", "p", "d", "LogisticRegression"]).unwrap();
        let Command::Diadem(args) = cli.command else {
            panic!("not diadem")
        };
        assert_eq!(args.to_spec().unwrap().far, 0.05, "SecuML's default --far");
        let cli = Cli::try_parse_from([
            "secuml",
            "diadem",
            "p",
            "d",
            "LogisticRegression",
            "--objective-func",
            "DrAtFar",
            "--far",
            "1.5",
        ])
        .unwrap();
        let Command::Diadem(args) = cli.command else {
            panic!("not diadem")
        };
        let error = diadem_job(&args).and_then(|job| Ok(job.validate()?));
        assert!(
            error.unwrap_err().to_string().contains("`far`"),
            "a bad --far is refused by name"
        );
    }

    #[test]
    fn optim_algo_reaches_the_spec_and_l2_only_solvers_refuse_l1() {
        let args = diadem_args(&["--optim-algo", "lbfgs"]).unwrap();
        let error = diadem_job(&args).and_then(|job| Ok(job.validate()?));
        let message = error.unwrap_err().to_string();
        assert!(
            message.contains("`optim-algo`") && message.contains("--penalty l2"),
            "{message}"
        );
        let args = diadem_args(&["--optim-algo", "sag", "--penalty", "l2"]).unwrap();
        let spec = args.to_spec().unwrap();
        spec.validate().unwrap();
        assert!(matches!(
            spec.model,
            ModelSpec::LogisticRegression {
                optim_algo: OptimAlgo::Sag,
                ..
            }
        ));
    }

    #[test]
    fn multiclass_selects_by_accuracy_and_refuses_another_objective_or_class() {
        let spec = diadem_args(&["--multiclass"]).unwrap().to_spec().unwrap();
        assert!(spec.multiclass);
        assert_eq!(spec.objective, Objective::Accuracy, "forced for multiclass");
        spec.validate().unwrap();
        let refused = |args: DiademArgs| {
            diadem_job(&args)
                .and_then(|job| Ok(job.validate()?))
                .unwrap_err()
                .to_string()
        };
        let error = refused(diadem_args(&["--multiclass", "--objective-func", "RocAuc"]).unwrap());
        assert!(
            error.contains("objective-func") && error.contains("Accuracy"),
            "{error}"
        );
        let cli =
            Cli::try_parse_from(["secuml", "diadem", "p", "d", "--multiclass", "Lof"]).unwrap();
        let Command::Diadem(args) = cli.command else {
            panic!("not diadem")
        };
        let error = refused(args);
        assert!(
            error.contains("multiclass") && error.contains("Lof"),
            "{error}"
        );
    }

    fn diadem_args(options: &[&str]) -> Result<DiademArgs, clap::Error> {
        let mut argv = vec!["secuml", "diadem", "p", "d", "LogisticRegression"];
        argv.extend_from_slice(options);
        let cli = Cli::try_parse_from(argv)?;
        let Command::Diadem(args) = cli.command else {
            panic!("not diadem")
        };
        Ok(args)
    }

    #[test]
    fn alert_options_parse_and_alert_classification_is_checked() {
        assert_eq!(diadem_args(&[]).unwrap().to_spec().unwrap().alerts, None);
        for (name, algo) in AlertsClusteringAlgo::ALL {
            let spec = diadem_args(&["--alerts-clustering", name, "--num-alerts-clusters", "6"])
                .unwrap()
                .to_spec()
                .unwrap();
            assert_eq!(
                spec.alerts,
                Some(AlertsAnalysis::Clustering {
                    algo,
                    num_clusters: 6
                })
            );
        }
        let spec = diadem_args(&["--alerts-clustering", "Kmeans"])
            .unwrap()
            .to_spec()
            .unwrap();
        assert!(matches!(
            spec.alerts,
            Some(AlertsAnalysis::Clustering {
                num_clusters: 4,
                ..
            })
        ));
        assert!(diadem_args(&["--alerts-clustering", "Birch"]).is_err());
        let lone = diadem_args(&["--num-alerts-clusters", "3"])
            .unwrap()
            .to_spec()
            .unwrap_err();
        assert!(
            format!("{lone:#}").contains("invalid parameter `num-alerts-clusters`"),
            "{lone:#}"
        );
        let negative = diadem_args(&["--detection-threshold", "-0.5"]).unwrap();
        assert_eq!(
            negative.detection_threshold, -0.5,
            "parsed, then refused by the spec"
        );
        let both = diadem_args(&[
            "--alerts-clustering",
            "Kmeans",
            "--alerts-classif",
            "GaussianNaiveBayes",
        ])
        .unwrap()
        .to_spec()
        .unwrap_err();
        assert!(format!("{both:#}").contains("not both"), "{both:#}");
        let classif = diadem_args(&["--alerts-classif", "GaussianNaiveBayes", "--num-folds", "3"])
            .unwrap()
            .to_spec()
            .unwrap();
        let Some(AlertsAnalysis::Classification { model, num_folds }) = &classif.alerts else {
            panic!("{:?}", classif.alerts)
        };
        assert!(matches!(**model, ModelSpec::GaussianNaiveBayes { .. }));
        assert_eq!(*num_folds, 3);
        classif.validate().unwrap();
        let unknown = diadem_args(&["--alerts-classif", "Birch"])
            .unwrap()
            .to_spec()
            .unwrap_err();
        assert!(
            format!("{unknown:#}").contains("unknown model class `Birch`"),
            "{unknown:#}"
        );
        let unsupervised = diadem_args(&["--alerts-classif", "Lof"])
            .unwrap()
            .to_spec()
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(unsupervised.param, "alerts-classif");
        assert!(
            unsupervised.to_string().contains("supervised"),
            "{unsupervised}"
        );
    }

    #[test]
    fn every_validation_mode_parses_with_secuml_names_and_defaults() {
        let cases: Vec<(Vec<&str>, ValidationSpec)> = vec![
            (
                vec!["--validation-mode", "TemporalSplit"],
                ValidationSpec::TemporalSplit { test_size: 0.1 },
            ),
            (
                vec![
                    "--validation-mode",
                    "TemporalSplit",
                    "--test-size-temp",
                    "0.3",
                ],
                ValidationSpec::TemporalSplit { test_size: 0.3 },
            ),
            (
                vec![
                    "--validation-mode",
                    "CutoffTime",
                    "--cutoff-time",
                    "1970-01-02 00:00:00",
                ],
                ValidationSpec::CutoffTime {
                    cutoff_time: 86_400,
                },
            ),
            (
                vec!["--validation-mode", "Cv"],
                ValidationSpec::Cv { num_folds: 4 },
            ),
            (
                vec!["--validation-mode", "Cv", "--num-folds-val", "5"],
                ValidationSpec::Cv { num_folds: 5 },
            ),
            (
                vec!["--validation-mode", "TemporalCv", "--validation-folds", "3"],
                ValidationSpec::TemporalCv { num_folds: 3 },
            ),
            (
                vec![
                    "--validation-mode",
                    "TemporalCv",
                    "--num-folds-val-temp",
                    "2",
                ],
                ValidationSpec::TemporalCv { num_folds: 2 },
            ),
            (
                vec!["--validation-mode", "SlidingWindow"],
                ValidationSpec::SlidingWindow {
                    num_buckets: 10,
                    num_train_buckets: 4,
                    num_test_buckets: 1,
                },
            ),
            (
                vec![
                    "--validation-mode",
                    "SlidingWindow",
                    "--num-buckets",
                    "8",
                    "--train-buckets",
                    "3",
                    "--num-test-buckets",
                    "2",
                ],
                ValidationSpec::SlidingWindow {
                    num_buckets: 8,
                    num_train_buckets: 3,
                    num_test_buckets: 2,
                },
            ),
            (
                vec!["--validation-mode", "UnlabeledLabeled"],
                ValidationSpec::UnlabeledLabeled,
            ),
        ];
        for (options, expected) in cases {
            let spec = diadem_args(&options).unwrap().to_spec().unwrap();
            assert_eq!(spec.validation, expected, "{options:?}");
            spec.validate().unwrap();
        }
    }

    #[test]
    fn bad_validation_options_are_refused_by_name() {
        let refused = |options: &[&str], param: &str| {
            let error = diadem_args(options)
                .unwrap()
                .to_spec()
                .and_then(|s| Ok(s.validate()?))
                .unwrap_err();
            assert!(
                error.to_string().contains(&format!("`{param}`")),
                "{options:?}: {error}"
            );
        };
        refused(
            &["--validation-mode", "Cv", "--validation-folds", "1"],
            "validation-folds",
        );
        refused(
            &[
                "--validation-mode",
                "RandomSplit",
                "--validation-folds",
                "3",
            ],
            "validation-folds",
        );
        refused(&["--validation-mode", "Cv", "--buckets", "3"], "buckets");
        refused(
            &[
                "--validation-mode",
                "ValidationDatasets",
                "--test-size",
                "0.2",
            ],
            "test-size",
        );
        refused(&["--validation-mode", "CutoffTime"], "cutoff-time");
        refused(
            &[
                "--validation-mode",
                "TemporalSplit",
                "--cutoff-time",
                "2020-01-01 00:00:00",
            ],
            "cutoff-time",
        );
        refused(
            &[
                "--validation-mode",
                "SlidingWindow",
                "--buckets",
                "4",
                "--train-buckets",
                "4",
            ],
            "buckets",
        );
        let missing = diadem_args(&["--validation-mode", "CutoffTime"])
            .unwrap()
            .to_spec();
        assert!(missing
            .unwrap_err()
            .downcast_ref::<connect::BadRequest>()
            .is_some());
        assert!(diadem_args(&["--cutoff-time", "yesterday"]).is_err());
        assert!(diadem_args(&["--validation-folds", "x"]).is_err());
    }

    #[test]
    fn the_embedded_mode_refuses_a_data_root() {
        let local = config::load(&Overrides::default(), &HashMap::new()).unwrap();
        assert!(refuse_data_root(&local).is_ok());
        let overrides = Overrides {
            data_root: Some("s3://bucket/secuml".into()),
            ..Default::default()
        };
        let remote = config::load(&overrides, &HashMap::new()).unwrap();
        let err = refuse_data_root(&remote).unwrap_err().to_string();
        assert!(
            err.contains("s3://bucket/secuml") && err.contains("--data-root"),
            "{err}"
        );
    }

    #[test]
    fn unknown_modes_and_bad_numbers_are_refused() {
        assert!(Cli::try_parse_from([
            "secuml",
            "diadem",
            "p",
            "d",
            "LogisticRegression",
            "--validation-mode",
            "Nope"
        ])
        .is_err());
        assert!(Cli::try_parse_from([
            "secuml",
            "diadem",
            "p",
            "d",
            "LogisticRegression",
            "--test-size",
            "x"
        ])
        .is_err());
        assert!(workers(0).is_err());
    }
}
