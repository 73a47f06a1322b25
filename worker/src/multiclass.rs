//! What a multiclass task (`--multiclass`) adds to a binary one: its targets are the rows'
//! families, its folds are stratified by family, its search score is the accuracy on families.

use secuml_engine::model::multiclass::{self, MulticlassModel};
use secuml_engine::model::{self as engine_model, FittedModel, ModelError};
use secuml_proto::Hyper;

/// What a model learns from: binary labels, or families (`None` for an unlabelled row).
pub enum Target<'a> {
    /// Binary labels.
    Labels(&'a [Option<bool>]),
    /// Families.
    Families(&'a [Option<String>]),
}

/// The sorted distinct families and the index of each row's among them.
pub fn class_indices(families: &[Option<String>]) -> (Vec<String>, Vec<Option<usize>>) {
    let mut classes: Vec<String> = families.iter().flatten().cloned().collect();
    classes.sort();
    classes.dedup();
    let index = families
        .iter()
        .map(|f| f.as_ref().and_then(|f| classes.binary_search(f).ok()))
        .collect();
    (classes, index)
}

/// Fits `hyper` on the standardised rows `x` and `target`.
pub fn fit(
    hyper: &Hyper,
    x: ndarray::ArrayView2<f64>,
    target: Target,
    seed: u64,
) -> Result<FittedModel, ModelError> {
    match target {
        Target::Labels(y) => engine_model::fit(hyper, x, y, seed),
        Target::Families(families) => {
            let (classes, y) = class_indices(families);
            multiclass::fit(hyper, x, &y, classes, seed).map(FittedModel::Multiclass)
        }
    }
}

/// The predicted family of every row of the standardised `x`.
pub fn predict(model: &MulticlassModel, x: ndarray::ArrayView2<f64>) -> Vec<String> {
    model
        .predict(x)
        .into_iter()
        .map(|k| model.classes[k].clone())
        .collect()
}

/// The share of rows whose predicted family is the true one; `None` without rows.
pub fn accuracy(truth: &[String], predicted: &[String]) -> Option<f64> {
    (!truth.is_empty()).then(|| {
        truth.iter().zip(predicted).filter(|(t, p)| t == p).count() as f64 / truth.len() as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_sorted_and_rows_without_a_family_have_none() {
        let families = [
            Some("b".to_string()),
            None,
            Some("a".into()),
            Some("b".into()),
        ];
        let (classes, index) = class_indices(&families);
        assert_eq!(classes, ["a", "b"]);
        assert_eq!(index, [Some(1), None, Some(0), Some(1)]);
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(accuracy(&s(&["a", "b"]), &s(&["a", "a"])), Some(0.5));
        assert_eq!(accuracy(&[], &[]), None);
    }
}
