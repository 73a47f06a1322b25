//! Multiclass indicators on families, scikit-learn's definitions: `accuracy_score`,
//! `f1_score(average="micro")` and `f1_score(average="macro")` over the labels of the truth
//! and of the predictions (sorted), and `confusion_matrix` over the same labels.

use std::collections::BTreeSet;

use secuml_proto::MulticlassIndicators;

/// The indicators of the predicted families `predicted` against the true ones `truth` (same
/// length); `None` without rows.
pub fn multiclass_indicators(truth: &[&str], predicted: &[&str]) -> Option<MulticlassIndicators> {
    let n = truth.len().min(predicted.len());
    if n == 0 {
        return None;
    }
    let labels: Vec<String> = truth[..n]
        .iter()
        .chain(&predicted[..n])
        .copied()
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .map(String::from)
        .collect();
    let index = |f: &str| labels.binary_search_by(|l| l.as_str().cmp(f)).unwrap_or(0);
    let k = labels.len();
    let mut confusion = vec![vec![0u64; k]; k];
    for (t, p) in truth[..n].iter().zip(&predicted[..n]) {
        confusion[index(t)][index(p)] += 1;
    }
    let correct: u64 = (0..k).map(|i| confusion[i][i]).sum();
    let accuracy = correct as f64 / n as f64;
    // Per label: 2 TP / (2 TP + FP + FN), never 0 / 0 since every label occurs somewhere.
    let f1: Vec<f64> = (0..k)
        .map(|i| {
            let tp = confusion[i][i] as f64;
            let row: u64 = confusion[i].iter().sum();
            let column: u64 = confusion.iter().map(|r| r[i]).sum();
            let denominator = row as f64 + column as f64;
            if denominator > 0.0 {
                2.0 * tp / denominator
            } else {
                0.0
            }
        })
        .collect();
    // Micro: every false positive is another label's false negative, so 2 TP / (2 TP + 2 errors).
    let f1_micro = accuracy;
    let f1_macro = f1.iter().sum::<f64>() / k as f64;
    Some(MulticlassIndicators {
        n: n as u64,
        accuracy,
        f1_micro,
        f1_macro,
        labels,
        confusion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicators_match_sklearn() {
        // accuracy_score / f1_score(average=micro|macro) / confusion_matrix of
        // y_true = [a, b, c, a, b, d], y_pred = [a, c, c, a, a, b]: 0.5, 0.5, 0.3667.
        let truth = ["a", "b", "c", "a", "b", "d"];
        let predicted = ["a", "c", "c", "a", "a", "b"];
        let m = multiclass_indicators(&truth, &predicted).unwrap();
        assert_eq!(m.labels, ["a", "b", "c", "d"]);
        assert!((m.accuracy - 0.5).abs() < 1e-12);
        assert!((m.f1_micro - 0.5).abs() < 1e-12);
        // F1 per label: a 0.8, b 0, c 2/3, d 0.
        assert!((m.f1_macro - (0.8 + 2.0 / 3.0) / 4.0).abs() < 1e-12);
        assert_eq!(
            m.confusion,
            vec![
                vec![2, 0, 0, 0],
                vec![1, 0, 1, 0],
                vec![0, 0, 1, 0],
                vec![0, 1, 0, 0]
            ]
        );
        assert!(multiclass_indicators(&[], &[]).is_none());
    }
}
