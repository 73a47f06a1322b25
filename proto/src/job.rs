//! Job specs: what a user submits, validated once before any task exists.

use serde::{Deserialize, Serialize};

/// A job submitted to the coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum JobSpec {
    /// A DIADEM experiment: train, tune, validate a detection model.
    Diadem(DiademSpec),
}

impl JobSpec {
    /// Checks every parameter; a bad one is refused with its name.
    pub fn validate(&self) -> Result<(), SpecError> {
        match self {
            JobSpec::Diadem(spec) => spec.validate(),
        }
    }
}

/// A parameter that failed validation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid parameter `{param}`: {reason}")]
pub struct SpecError {
    /// Name of the parameter, as the command line spells it.
    pub param: String,
    /// What was expected.
    pub reason: String,
}

impl SpecError {
    fn new(param: &str, reason: impl Into<String>) -> Self {
        Self {
            param: param.to_string(),
            reason: reason.into(),
        }
    }
}

/// Where the training labels come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", content = "file", rename_all = "snake_case")]
pub enum AnnotationsSource {
    /// The `label` column of `idents.csv`.
    GroundTruth,
    /// An annotations file of the dataset (`annotations/<file>`).
    File(String),
}

/// How the model is validated (SecuML's `--validation-mode`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode")]
pub enum ValidationSpec {
    /// A stratified, seeded random split of the training dataset.
    RandomSplit {
        /// Fraction of the instances held out for validation, in (0, 1).
        test_size: f64,
    },
    /// Train on the whole dataset, validate on other datasets of the project.
    ValidationDatasets {
        /// Dataset names, at least one, no duplicates.
        datasets: Vec<String>,
    },
}

/// Hyperparameter search objective (SecuML's `--objective-func`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Objective {
    /// Area under the ROC curve.
    RocAuc,
}

/// Regularisation of a logistic regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    /// Lasso: sum of absolute weights.
    L1,
    /// Ridge: half the squared norm.
    L2,
}

impl std::fmt::Display for Penalty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Penalty::L1 => "l1",
            Penalty::L2 => "l2",
        })
    }
}

/// The model class and its hyperparameter grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class")]
pub enum ModelSpec {
    /// Logistic regression on standardised features, no intercept.
    LogisticRegression {
        /// Grid of inverse regularisation strengths.
        c: Vec<f64>,
        /// Grid of penalties.
        penalty: Vec<Penalty>,
    },
}

impl ModelSpec {
    /// SecuML's default logistic regression grid: C in {0.01, 0.1, 1, 10} x {l1, l2}.
    pub fn default_logistic_regression() -> Self {
        ModelSpec::LogisticRegression {
            c: vec![0.01, 0.1, 1.0, 10.0],
            penalty: vec![Penalty::L1, Penalty::L2],
        }
    }

    /// Name of the model class, as SecuML spells it.
    pub fn class_name(&self) -> &'static str {
        match self {
            ModelSpec::LogisticRegression { .. } => "LogisticRegression",
        }
    }
}

/// A DIADEM job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiademSpec {
    /// Project name (folder under the input directory).
    pub project: String,
    /// Training dataset name.
    pub dataset: String,
    /// Experiment name; generated from the parameters when absent.
    #[serde(default)]
    pub exp_name: Option<String>,
    /// The model class and its grid.
    pub model: ModelSpec,
    /// Where the training labels come from.
    pub annotations: AnnotationsSource,
    /// How the model is validated.
    pub validation: ValidationSpec,
    /// Folds of the hyperparameter search.
    pub num_folds: u32,
    /// Objective of the hyperparameter search.
    pub objective: Objective,
    /// Seed of every random choice (splits, shuffled folds).
    pub seed: u64,
    /// Shuffle the stratified folds with `seed` (SecuML does not shuffle).
    #[serde(default)]
    pub shuffle_folds: bool,
    /// Probability above which an instance is an alert.
    pub detection_threshold: f64,
    /// Skip the detection on the training set.
    #[serde(default)]
    pub no_training_detection: bool,
}

/// Checks that `value` can name a project, dataset or file: letters, digits, `-`, `_`, `.`, and not `.` or `..`.
pub fn check_name(param: &str, value: &str) -> Result<(), SpecError> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(SpecError::new(
            param,
            format!("`{value}` is not a name of letters, digits, `-`, `_`, `.`"),
        ))
    }
}

impl DiademSpec {
    /// A spec with SecuML's defaults for everything but the data, the model and the validation:
    /// ground-truth labels, 4 folds, ROC AUC, seed 0, unshuffled folds, threshold 0.5.
    pub fn with_defaults(
        project: &str,
        dataset: &str,
        model: ModelSpec,
        validation: ValidationSpec,
    ) -> Self {
        DiademSpec {
            project: project.to_string(),
            dataset: dataset.to_string(),
            exp_name: None,
            model,
            annotations: AnnotationsSource::GroundTruth,
            validation,
            num_folds: 4,
            objective: Objective::RocAuc,
            seed: 0,
            shuffle_folds: false,
            detection_threshold: 0.5,
            no_training_detection: false,
        }
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<(), SpecError> {
        check_name("project", &self.project)?;
        check_name("dataset", &self.dataset)?;
        if let AnnotationsSource::File(file) = &self.annotations {
            check_name("annotations", file)?;
        }
        match &self.model {
            ModelSpec::LogisticRegression { c, penalty } => {
                if c.is_empty() {
                    return Err(SpecError::new(
                        "regularization",
                        "expected at least one value",
                    ));
                }
                if let Some(bad) = c.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                    return Err(SpecError::new(
                        "regularization",
                        format!("{bad} is not a positive finite number"),
                    ));
                }
                if penalty.is_empty() {
                    return Err(SpecError::new("penalty", "expected at least one of l1, l2"));
                }
            }
        }
        match &self.validation {
            ValidationSpec::RandomSplit { test_size } => {
                if !(*test_size > 0.0 && *test_size < 1.0) {
                    return Err(SpecError::new(
                        "test-size",
                        format!("{test_size} is not in (0, 1)"),
                    ));
                }
            }
            ValidationSpec::ValidationDatasets { datasets } => {
                if datasets.is_empty() {
                    return Err(SpecError::new(
                        "validation-datasets",
                        "expected at least one dataset",
                    ));
                }
                for (i, d) in datasets.iter().enumerate() {
                    check_name("validation-datasets", d)?;
                    if datasets[..i].contains(d) {
                        return Err(SpecError::new(
                            "validation-datasets",
                            format!("`{d}` is given twice"),
                        ));
                    }
                }
            }
        }
        if self.num_folds < 2 {
            return Err(SpecError::new(
                "num-folds",
                format!("{} is below 2", self.num_folds),
            ));
        }
        if !(0.0..=1.0).contains(&self.detection_threshold) {
            return Err(SpecError::new(
                "detection-threshold",
                format!("{} is not in [0, 1]", self.detection_threshold),
            ));
        }
        if let Some(name) = &self.exp_name {
            if name.trim().is_empty() || name.len() > 200 {
                return Err(SpecError::new("exp-name", "expected 1 to 200 characters"));
            }
        }
        Ok(())
    }

    /// The experiment name: the given one, or one built from the parameters.
    pub fn name(&self) -> String {
        if let Some(name) = &self.exp_name {
            return name.clone();
        }
        let validation = match &self.validation {
            ValidationSpec::RandomSplit { test_size } => format!("RandomSplit{test_size}"),
            ValidationSpec::ValidationDatasets { datasets } => {
                format!("Validation-{}", datasets.join("+"))
            }
        };
        let annotations = match &self.annotations {
            AnnotationsSource::GroundTruth => "GROUND_TRUTH".to_string(),
            AnnotationsSource::File(f) => f.clone(),
        };
        format!(
            "{}__{}__{}",
            self.model.class_name(),
            annotations,
            validation
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DiademSpec {
        DiademSpec::with_defaults(
            "NSL-KDD",
            "train20",
            ModelSpec::default_logistic_regression(),
            ValidationSpec::RandomSplit { test_size: 0.1 },
        )
    }

    #[test]
    fn default_spec_is_valid_and_round_trips() {
        let job = JobSpec::Diadem(spec());
        job.validate().unwrap();
        let text = serde_json::to_string(&job).unwrap();
        let back: JobSpec = serde_json::from_str(&text).unwrap();
        assert_eq!(job, back);
    }

    #[test]
    fn bad_parameters_are_named() {
        let mut s = spec();
        s.validation = ValidationSpec::RandomSplit { test_size: 1.5 };
        assert_eq!(s.validate().unwrap_err().param, "test-size");
        let mut s = spec();
        s.num_folds = 1;
        assert_eq!(s.validate().unwrap_err().param, "num-folds");
        let mut s = spec();
        s.project = "../etc".into();
        assert_eq!(s.validate().unwrap_err().param, "project");
        let mut s = spec();
        s.validation = ValidationSpec::ValidationDatasets {
            datasets: vec!["a".into(), "a".into()],
        };
        assert_eq!(s.validate().unwrap_err().param, "validation-datasets");
        let mut s = spec();
        s.model = ModelSpec::LogisticRegression {
            c: vec![0.0],
            penalty: vec![Penalty::L1],
        };
        assert_eq!(s.validate().unwrap_err().param, "regularization");
    }

    #[test]
    fn generated_name_names_the_parameters() {
        assert_eq!(
            spec().name(),
            "LogisticRegression__GROUND_TRUTH__RandomSplit0.1"
        );
    }
}
