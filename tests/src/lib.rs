//! Shared helpers of the cross-crate scenarios: where the repository, its data and the binary are.

pub mod browser;
pub mod services;

use std::path::{Path, PathBuf};

use secuml_coordinator::config::Paths;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The bundled datasets in SecuML's layout (`data/<project>/<dataset>/`).
pub fn input_dir() -> PathBuf {
    repo_root().join("data")
}

/// Paths over the bundled inputs and a fresh data folder inside `tmp`.
pub fn paths_in(tmp: &Path) -> Paths {
    Paths {
        input_dir: input_dir(),
        data_dir: tmp.join("data"),
    }
}

/// The `secuml` binary of the current build profile.
///
/// Test binaries live in `target/<profile>/deps/`; the `secuml` binary beside that folder
/// is built by `cargo test --workspace` (and by `scripts/test-all`, which builds it first).
pub fn secuml_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let bin = profile_dir.join(format!("secuml{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build -p secuml-coordinator` (scripts/test-all does)",
        bin.display()
    );
    bin
}

/// The scikit-learn reference output for SecuML's logistic regression grid on NSL-KDD
/// (`diadem_logreg.py --variant secuml`, see `tests/fixtures/README.md`).
pub fn sklearn_logreg_reference() -> serde_json::Value {
    let path = repo_root().join("tests/fixtures/sklearn_diadem_logreg_secuml.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("reference JSON parses")
}
