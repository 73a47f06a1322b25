//! The `secuml` binary: parses the command line, sets up logging, runs the command.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;
use secuml_coordinator::cli::exit;
use secuml_coordinator::connect::{BadRequest, JobFailed};
use tracing_subscriber::EnvFilter;

/// jemalloc rather than glibc's malloc: a worker frees matrices of tens of MB from task to task
/// (a fold's copies, a tree's rank codes, a detection's blocks), and glibc keeps most of them
/// (its mmap threshold grows to the size of the first large block freed, after which such blocks
/// come from per-thread arenas that are seldom trimmed), so that the peak RSS of a DIADEM run
/// was 2 to 5 times the matrices alive at once (DecisionTree on NSL-KDD, 2 jobs: 483 MB).
/// jemalloc is built to return freed pages at once and without per-thread caches
/// (`.cargo/config.toml`): 112 MB.
/// `mallopt` would need `unsafe`, which the workspace forbids; mimalloc measured worse here
/// (1.1 GB, 279 MB with its purge delay at 0).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match secuml_coordinator::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let names: Vec<String> = args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let e = secuml_coordinator::cli::explain(e, &names);
            let _ = e.print();
            if let Some(value) = secuml_coordinator::cli::parse_failure_json(&e, &names) {
                // One JSON object on stdout, as every failure of a `--json` command gives.
                use std::io::Write as _;
                let _ = writeln!(std::io::stdout(), "{value}");
            }
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                // An unknown option or a value that does not parse: a bad request, whatever
                // the command (2 is a failed job).
                _ => ExitCode::from(exit::BAD_REQUEST),
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(secuml_coordinator::cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<BadRequest>().is_some() {
                ExitCode::from(exit::BAD_REQUEST)
            } else if e.downcast_ref::<JobFailed>().is_some() {
                ExitCode::from(exit::JOB_FAILED)
            } else {
                ExitCode::from(exit::OTHER)
            }
        }
    }
}
