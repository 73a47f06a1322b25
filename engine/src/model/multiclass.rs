//! Multiclass models: a class of [`super::fit`] trained on the instances' families instead of
//! their binary labels (SecuML's `--multiclass`).
//!
//! Strategies, by model class:
//! - GaussianNaiveBayes: native, a mean and a variance per family and feature
//!   ([`crate::bayes::fit_classes`]), as scikit-learn's `GaussianNB`;
//! - LabelPropagation: native, label distributions over the families
//!   ([`crate::propagation::fit_classes`]), as scikit-learn's `LabelPropagation`;
//! - DecisionTree and RandomForest: native, K-class CART trees (Gini or entropy over the
//!   families, leaves holding the families' fractions; [`crate::tree::fit_classes`],
//!   [`crate::forest::fit_classes`]), as scikit-learn's `DecisionTreeClassifier` and
//!   `RandomForestClassifier`;
//! - GradientBoosting with three families or more: native, K regression trees per stage on the
//!   multinomial deviance ([`crate::boosting::fit_classes`]), as scikit-learn's
//!   `GradientBoostingClassifier`; with two, the binary model below (scikit-learn's too);
//! - every other class: one-vs-rest, one binary model per family (that family as the positive
//!   class, every other as the negative one, the same seed for each), the class probabilities
//!   being the positive probabilities normalised to sum to 1; with two families, a single
//!   binary model of the second against the first. This is exactly scikit-learn's
//!   `LogisticRegression(multi_class="ovr")` (liblinear fits one binary problem per class)
//!   and `OneVsRestClassifier`; it differs from scikit-learn's native SVC (one-vs-one). Models
//!   stored before the native trees, forests and boosting were one-vs-rest ones, and still
//!   read and predict as such.
//!
//! The predicted class of a row is its most probable one, ties going to the first class
//! (numpy's `argmax`, and `OneVsRestClassifier.predict`'s order: trees often give several
//! classes, or none, a probability of 1, or 0).

use ndarray::ArrayView2;
use secuml_proto::Hyper;
use serde::{Deserialize, Serialize};

use super::{Detector, FittedModel, ModelError, Output};

/// A fitted multiclass model: its class labels (sorted) and how it separates them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MulticlassModel {
    /// The class labels (families), sorted; class `k` is `classes[k]`.
    pub classes: Vec<String>,
    /// The fitted strategy.
    pub fit: MulticlassFit,
}

/// How a [`MulticlassModel`] separates its classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy")]
pub enum MulticlassFit {
    /// One binary model per class (a single one, of class 1 against class 0, for two classes).
    OneVsRest {
        /// The binary models, in class order.
        models: Vec<FittedModel>,
    },
    /// Native Gaussian naive Bayes.
    GaussianNaiveBayes(crate::bayes::GaussianNbClasses),
    /// Native label propagation.
    LabelPropagation(crate::propagation::LabelPropagation),
    /// A native K-class decision tree.
    DecisionTree(crate::tree::DecisionTreeClasses),
    /// A native forest of K-class decision trees.
    RandomForest(crate::forest::RandomForestClasses),
    /// Native multiclass gradient boosting (three classes or more).
    GradientBoosting(crate::boosting::GradientBoostingClasses),
}

/// Fits `hyper` on `x` and the class index of each row (`None` for an unlabelled row, which
/// only the semi-supervised classes accept) among `classes` (sorted, every one present among
/// the labelled rows, at least two).
pub fn fit(
    hyper: &Hyper,
    x: ArrayView2<f64>,
    y: &[Option<usize>],
    classes: Vec<String>,
    seed: u64,
) -> Result<MulticlassModel, ModelError> {
    let k = classes.len();
    if k < 2 {
        return Err(ModelError::Data(format!(
            "a multiclass model needs at least 2 families among the training rows, got {k}"
        )));
    }
    if y.len() != x.nrows() {
        return Err(ModelError::Data(format!(
            "{} labels for {} rows",
            y.len(),
            x.nrows()
        )));
    }
    if matches!(
        hyper,
        Hyper::Sssvdd(_)
            | Hyper::WeightedIsolationForest(_)
            | Hyper::IsolationForest(_)
            | Hyper::Lof(_)
            | Hyper::OneClassSvm(_)
            | Hyper::EllipticEnvelope(_)
    ) {
        return Err(ModelError::param(
            "multiclass",
            format!(
                "{} is not multiclass: only the supervised classes and LabelPropagation are",
                hyper.class_name()
            ),
        ));
    }
    let fit = match hyper {
        Hyper::GaussianNaiveBayes(h) => {
            MulticlassFit::GaussianNaiveBayes(crate::bayes::fit_classes(h, x, &labelled(y)?, k)?)
        }
        Hyper::DecisionTree(h) => {
            MulticlassFit::DecisionTree(crate::tree::fit_classes(h, x, &labelled(y)?, k, seed)?)
        }
        Hyper::RandomForest(h) => {
            MulticlassFit::RandomForest(crate::forest::fit_classes(h, x, &labelled(y)?, k, seed)?)
        }
        Hyper::LabelPropagation(h) => {
            MulticlassFit::LabelPropagation(crate::propagation::fit_classes(h, x, y, k)?)
        }
        Hyper::GradientBoosting(h) if k > 2 => {
            if let Some(i) = y.iter().position(Option::is_none) {
                return Err(ModelError::Data(format!(
                    "row {i} has no family: gradient boosting trains on labelled rows only"
                )));
            }
            let labelled: Vec<usize> = y.iter().flatten().copied().collect();
            MulticlassFit::GradientBoosting(crate::boosting::fit_classes(h, x, &labelled, k, seed)?)
        }
        _ => {
            let positives: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
            let models = positives
                .into_iter()
                .map(|positive| {
                    let binary: Vec<Option<bool>> =
                        y.iter().map(|c| c.map(|c| c == positive)).collect();
                    super::fit(hyper, x, &binary, seed).map_err(|e| match e {
                        ModelError::Data(m) => ModelError::Data(format!(
                            "one-vs-rest model of family `{}`: {m}",
                            classes[positive]
                        )),
                        other => other,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            MulticlassFit::OneVsRest { models }
        }
    };
    Ok(MulticlassModel { classes, fit })
}

/// The family of every row; an error names the first unlabelled one.
fn labelled(y: &[Option<usize>]) -> Result<Vec<usize>, ModelError> {
    y.iter()
        .enumerate()
        .map(|(i, c)| {
            c.ok_or_else(|| {
                ModelError::Data(format!(
                    "row {i} has no family: a supervised class trains on labelled rows only"
                ))
            })
        })
        .collect()
}

impl MulticlassModel {
    /// The probability of each class for every row (`n` rows of `classes.len()` values, each
    /// row summing to 1).
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Vec<Vec<f64>> {
        match &self.fit {
            MulticlassFit::GaussianNaiveBayes(m) => m.predict_proba(x),
            MulticlassFit::LabelPropagation(m) => m.predict_proba(x),
            MulticlassFit::DecisionTree(m) => m.predict_proba(x),
            MulticlassFit::RandomForest(m) => m.predict_proba(x),
            MulticlassFit::GradientBoosting(m) => m.predict_proba(x),
            MulticlassFit::OneVsRest { models } if models.len() == 1 => models[0]
                .scores(x)
                .into_iter()
                .map(|p| vec![1.0 - p, p])
                .collect(),
            MulticlassFit::OneVsRest { models } => {
                let k = models.len();
                let per_class: Vec<Vec<f64>> = models.iter().map(|m| m.scores(x)).collect();
                (0..x.nrows())
                    .map(|i| {
                        let row: Vec<f64> = per_class.iter().map(|p| p[i]).collect();
                        let sum: f64 = row.iter().sum();
                        if sum > 0.0 {
                            row.into_iter().map(|p| p / sum).collect()
                        } else {
                            vec![1.0 / k as f64; k]
                        }
                    })
                    .collect()
            }
        }
    }

    /// The coefficients of each family's one-vs-rest linear model (that family against every
    /// other; with two families, only the second's, against the first), in class order; `None`
    /// unless the model is one-vs-rest over a linear class.
    pub fn family_coefficients(&self) -> Option<Vec<(String, Vec<f64>)>> {
        let MulticlassFit::OneVsRest { models } = &self.fit else {
            return None;
        };
        let first = self.classes.len() - models.len();
        models
            .iter()
            .zip(&self.classes[first..])
            .map(|(m, family)| Some((family.clone(), m.coefficients()?)))
            .collect()
    }

    /// The predicted class index of every row.
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<usize> {
        self.predict_proba(x).iter().map(|p| self.best(p)).collect()
    }

    /// The predicted class of a row of class probabilities: the first most probable.
    pub fn best(&self, proba: &[f64]) -> usize {
        let mut best = 0;
        for (i, v) in proba.iter().enumerate() {
            if *v > proba[best] {
                best = i;
            }
        }
        best
    }
}

impl Detector for MulticlassModel {
    /// The probability of the predicted class.
    fn scores(&self, x: ArrayView2<f64>) -> Vec<f64> {
        self.predict_proba(x)
            .into_iter()
            .map(|p| p[self.best(&p)])
            .collect()
    }

    fn output(&self) -> Output {
        Output::Probability
    }

    /// The native trees', forests' and boosting's importances (mean decrease in impurity over
    /// the families); none for the other strategies.
    fn importances(&self) -> Option<Vec<f64>> {
        match &self.fit {
            MulticlassFit::DecisionTree(m) => Some(m.importances.clone()),
            MulticlassFit::RandomForest(m) => Some(m.importances.clone()),
            MulticlassFit::GradientBoosting(m) => Some(m.importances.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod nsl_kdd_tests;
#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use secuml_proto::hyper::{
        Criterion, DecisionTreeHyper, GaussianNbHyper, MaxFeatures, RandomForestHyper, Splitter,
        TreeLimits,
    };
    use secuml_proto::Penalty;

    /// Three blobs on a line, one per class.
    fn blobs() -> (Array2<f64>, Vec<Option<usize>>) {
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for (c, centre) in [-3.0, 0.0, 3.0].into_iter().enumerate() {
            for i in 0..20 {
                let e = (i as f64 - 9.5) / 20.0;
                rows.extend([centre + e, 1.0 - 0.5 * e + c as f64 * 0.1]);
                y.push(Some(c));
            }
        }
        (Array2::from_shape_vec((60, 2), rows).unwrap(), y)
    }

    fn classes() -> Vec<String> {
        ["a", "b", "c"].map(String::from).to_vec()
    }

    #[test]
    fn gaussian_nb_is_native_and_separates_the_blobs() {
        let (x, y) = blobs();
        let hyper = Hyper::GaussianNaiveBayes(GaussianNbHyper::default());
        let m = fit(&hyper, x.view(), &y, classes(), 0).unwrap();
        assert!(matches!(m.fit, MulticlassFit::GaussianNaiveBayes(_)));
        let predicted = m.predict(x.view());
        let truth: Vec<usize> = y.iter().map(|c| c.unwrap()).collect();
        assert_eq!(predicted, truth);
        for p in m.predict_proba(x.view()) {
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn one_vs_rest_normalises_the_binary_probabilities() {
        let (x, y) = blobs();
        let hyper = Hyper::LogisticRegression {
            c: 1.0,
            penalty: Penalty::L2,
            optim_algo: Default::default(),
        };
        let m = fit(&hyper, x.view(), &y, classes(), 0).unwrap();
        let MulticlassFit::OneVsRest { models } = &m.fit else {
            panic!("logistic regression is one-vs-rest");
        };
        assert_eq!(models.len(), 3);
        let raw: Vec<Vec<f64>> = models.iter().map(|b| b.scores(x.view())).collect();
        for (i, p) in m.predict_proba(x.view()).iter().enumerate() {
            let sum: f64 = raw.iter().map(|r| r[i]).sum();
            for (k, pk) in p.iter().enumerate() {
                assert!((pk - raw[k][i] / sum).abs() < 1e-12);
            }
        }
        let per_family = m.family_coefficients().expect("linear one-vs-rest");
        assert_eq!(per_family.len(), 3);
        for ((family, coefficients), (model, class)) in
            per_family.iter().zip(models.iter().zip(classes()))
        {
            assert_eq!(*family, class);
            assert_eq!(Some(coefficients.clone()), model.coefficients());
        }
        // The end classes are linearly separable from the rest; the middle one is not (no
        // intercept), so only check the ends.
        let predicted = m.predict(x.view());
        assert!(predicted[..20].iter().all(|&c| c == 0));
        assert!(predicted[40..].iter().all(|&c| c == 2));
    }

    #[test]
    fn two_families_fit_one_binary_model() {
        let (x, y) = blobs();
        let y: Vec<Option<usize>> = y.iter().map(|c| c.map(|c| usize::from(c == 2))).collect();
        let hyper = Hyper::LogisticRegression {
            c: 1.0,
            penalty: Penalty::L2,
            optim_algo: Default::default(),
        };
        let m = fit(&hyper, x.view(), &y, vec!["a".into(), "b".into()], 0).unwrap();
        let MulticlassFit::OneVsRest { models } = &m.fit else {
            panic!("one-vs-rest");
        };
        assert_eq!(models.len(), 1);
        let p = m.predict_proba(x.view());
        let binary = models[0].scores(x.view());
        assert!((p[50][1] - binary[50]).abs() < 1e-12);
        let per_family = m.family_coefficients().unwrap();
        assert_eq!(per_family.len(), 1);
        assert_eq!(
            per_family[0].0, "b",
            "the second family's, against the first"
        );
        assert!(fit(&hyper, x.view(), &y, vec!["a".into()], 0).is_err());
    }

    #[test]
    fn trees_and_forests_are_native() {
        let (x, y) = blobs();
        let truth: Vec<usize> = y.iter().map(|c| c.unwrap()).collect();
        let tree = Hyper::DecisionTree(DecisionTreeHyper {
            criterion: Criterion::Gini,
            splitter: Splitter::Best,
            limits: TreeLimits::unlimited(MaxFeatures::All),
        });
        let forest = Hyper::RandomForest(RandomForestHyper {
            n_estimators: 5,
            ..RandomForestHyper::default()
        });
        for hyper in [tree, forest] {
            let m = fit(&hyper, x.view(), &y, classes(), 3).unwrap();
            let native = match &m.fit {
                MulticlassFit::DecisionTree(t) => t.predict_proba(x.view()),
                MulticlassFit::RandomForest(f) => f.predict_proba(x.view()),
                other => panic!("{} fitted as {other:?}", hyper.class_name()),
            };
            assert_eq!(m.predict_proba(x.view()), native);
            assert_eq!(m.predict(x.view()), truth);
            let back: FittedModel = serde_json::from_value(
                serde_json::to_value(FittedModel::Multiclass(m.clone())).unwrap(),
            )
            .unwrap();
            assert_eq!(back.multiclass(), Some(&m));
            let importances = back
                .importances()
                .expect("a native tree model's importances");
            assert_eq!(importances.len(), 2);
            assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert_eq!(back.family_coefficients(), None);
        }
        let unlabelled: Vec<Option<usize>> = y
            .iter()
            .enumerate()
            .map(|(i, c)| c.filter(|_| i != 7))
            .collect();
        let err = fit(&tree, x.view(), &unlabelled, classes(), 0).unwrap_err();
        assert!(matches!(err, ModelError::Data(m) if m.contains("row 7")));
    }

    /// Trees and forests were fitted one-vs-rest before they were native: such stored models
    /// still read back, and predict as they did.
    #[test]
    fn stored_one_vs_rest_trees_still_read() {
        let (x, y) = blobs();
        let hyper = Hyper::DecisionTree(DecisionTreeHyper {
            criterion: Criterion::Entropy,
            splitter: Splitter::Best,
            limits: TreeLimits::unlimited(MaxFeatures::All),
        });
        let models = (0..3)
            .map(|k| {
                let binary: Vec<Option<bool>> = y.iter().map(|c| c.map(|c| c == k)).collect();
                super::super::fit(&hyper, x.view(), &binary, 0).unwrap()
            })
            .collect();
        let stored = FittedModel::Multiclass(MulticlassModel {
            classes: classes(),
            fit: MulticlassFit::OneVsRest { models },
        });
        let json = serde_json::to_value(&stored).unwrap();
        let text = json.to_string();
        assert!(text.contains(r#""strategy":"OneVsRest""#), "{text}");
        let back: FittedModel = serde_json::from_str(&text).unwrap();
        assert_eq!(back, stored);
        let truth: Vec<usize> = y.iter().map(|c| c.unwrap()).collect();
        assert_eq!(back.multiclass().unwrap().predict(x.view()), truth);
    }

    #[test]
    fn a_stored_model_round_trips() {
        let (x, y) = blobs();
        let hyper = Hyper::GaussianNaiveBayes(GaussianNbHyper::default());
        let m = FittedModel::Multiclass(fit(&hyper, x.view(), &y, classes(), 0).unwrap());
        let back: FittedModel = serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.multiclass().unwrap().classes, classes());
        assert_eq!(back.family_coefficients(), None, "not a linear model");
    }
}
