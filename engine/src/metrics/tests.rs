//! Unit tests of the metrics against hand-computed values and scikit-learn's.

use approx::assert_abs_diff_eq;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

// Hand example: labels [T, F, T, F, T], scores [0.9, 0.8, 0.4, 0.4, 0.1].
// AUC: 3 × 2 = 6 (positive, negative) pairs. 0.9 beats both negatives (2); 0.4 loses to 0.8
// and ties 0.4 (0.5); 0.1 loses both (0). AUC = 2.5 / 6.
// At threshold 0.5 (and 0.4, strictly greater): flagged 0.9 (T), 0.8 (F): TP 1, FP 1, TN 1,
// FN 2; DR 1/3, FAR 1/2, precision 1/2, F = 2·(1/2)(1/3)/(5/6) = 0.4, FPR 1/2, accuracy 2/5.
// ROC over thresholds ∞, 0.9, 0.8, 0.4, 0.1: (0,0) (0,1/3) (1/2,1/3) (1,2/3) (1,1).
// FAR-DR: (0,0) (0,1/3) (1/2,1/3) (1/2,2/3) (2/5,1).
const LABELS: [bool; 5] = [true, false, true, false, true];
const SCORES: [f64; 5] = [0.9, 0.8, 0.4, 0.4, 0.1];

#[test]
fn auc_of_the_hand_example() {
    assert_abs_diff_eq!(
        roc_auc(&LABELS, &SCORES).unwrap(),
        2.5 / 6.0,
        epsilon = 1e-15
    );
}

#[test]
fn auc_orientation_and_degenerate_cases() {
    assert_eq!(roc_auc(&[false, true], &[0.2, 0.7]), Some(1.0));
    assert_eq!(roc_auc(&[false, true], &[0.7, 0.2]), Some(0.0));
    assert_eq!(roc_auc(&[false, true], &[0.5, 0.5]), Some(0.5));
    assert_eq!(roc_auc(&[true, true], &[0.2, 0.7]), None);
    assert_eq!(roc_auc(&[], &[]), None);
    assert_eq!(roc_auc(&[false, true], &[0.2, f64::NAN]), None);
    assert_eq!(roc_auc(&[false, true], &[0.2]), None);
}

#[test]
fn confusion_and_indicators_of_the_hand_example() {
    for threshold in [0.5, 0.4] {
        let c = Confusion::at_threshold(&LABELS, &SCORES, threshold);
        assert_eq!(
            c,
            Confusion {
                tp: 1,
                fp: 1,
                tn: 1,
                fn_: 2
            }
        );
        let i = c.indicators();
        assert_abs_diff_eq!(i.detection_rate, 1.0 / 3.0, epsilon = 1e-15);
        assert_abs_diff_eq!(i.false_alarm_rate, 0.5, epsilon = 1e-15);
        assert_abs_diff_eq!(i.precision, 0.5, epsilon = 1e-15);
        assert_abs_diff_eq!(i.f_score, 0.4, epsilon = 1e-15);
        assert_abs_diff_eq!(i.false_positive_rate, 0.5, epsilon = 1e-15);
        assert_abs_diff_eq!(i.accuracy, 0.4, epsilon = 1e-15);
    }
    assert_eq!(
        Confusion::at_threshold(&LABELS, &SCORES, 0.39),
        Confusion {
            tp: 2,
            fp: 2,
            tn: 0,
            fn_: 1
        }
    );
}

#[test]
fn empty_denominators_give_zero() {
    let nothing_flagged = Confusion {
        tp: 0,
        fp: 0,
        tn: 3,
        fn_: 0,
    }
    .indicators();
    assert_eq!(
        nothing_flagged,
        Indicators {
            accuracy: 1.0,
            ..Indicators::default()
        }
    );
    assert_eq!(Confusion::default().indicators(), Indicators::default());
}

#[test]
fn one_pass_thresholds_match_direct_counts() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let labels: Vec<bool> = (0..500).map(|_| rng.gen_bool(0.4)).collect();
    // Scores on a 1/100 grid, so many sit exactly on a threshold.
    let mut scores: Vec<f64> = (0..500)
        .map(|_| rng.gen_range(0..=100) as f64 / 100.0)
        .collect();
    scores[7] = f64::NAN;
    let points = indicators_at_percent_thresholds(&labels, &scores);
    assert_eq!(points.len(), 101);
    for (t, point) in points.iter().enumerate() {
        assert_eq!(point.threshold, t as f64 / 100.0);
        assert_eq!(
            point.confusion,
            Confusion::at_threshold(&labels, &scores, point.threshold)
        );
        assert_eq!(point.indicators, point.confusion.indicators());
    }
}

#[test]
fn curves_of_the_hand_example() {
    let roc = roc_curve(&LABELS, &SCORES).unwrap();
    assert_eq!(roc.thresholds, vec![f64::INFINITY, 0.9, 0.8, 0.4, 0.1]);
    let third = 1.0 / 3.0;
    for (got, want) in roc.x.iter().zip([0.0, 0.0, 0.5, 1.0, 1.0]) {
        assert_abs_diff_eq!(*got, want, epsilon = 1e-15);
    }
    for (got, want) in roc.y.iter().zip([0.0, third, third, 2.0 * third, 1.0]) {
        assert_abs_diff_eq!(*got, want, epsilon = 1e-15);
    }
    let far_dr = far_dr_curve(&LABELS, &SCORES).unwrap();
    for (got, want) in far_dr.x.iter().zip([0.0, 0.0, 0.5, 0.5, 0.4]) {
        assert_abs_diff_eq!(*got, want, epsilon = 1e-15);
    }
    assert_eq!(far_dr.y, roc.y);
    assert_eq!(roc_curve(&[true, true], &[0.1, 0.2]), None);
}

/// Seeded random vector with ties, from tests/bench/make_split_metrics_fixture.py.
#[rustfmt::skip]
fn sklearn_vector() -> (Vec<bool>, Vec<f64>) {
    let (t, f) = (true, false);
    let labels = vec![f, f, f, f, f, f, f, f, f, t, f, f, f, f, t, t, t, f, f, f, f, f, f, f, t, f, t, f, f, f, t, f, f, f, t, f, f, f, f, f, t, f, f, t, f, f, t, t, t, t, f, f, f, t, t, t, f, t, f, t];
    let scores = vec![0.2, 0.1, 0.7, 0.1, 0.2, 0.4, 0.8, 0.1, 0.8, 0.1, 1.0, 0.5, 1.0, 0.6, 0.7, 0.0, 0.3, 0.1, 0.3, 0.1, 0.3, 0.4, 0.1, 0.7, 0.6, 0.3, 0.5, 0.1, 0.6, 0.9, 0.3, 0.7, 0.1, 0.7, 0.3, 0.2, 0.6, 0.0, 0.8, 0.0, 0.7, 0.3, 0.7, 1.0, 0.2, 0.6, 0.6, 0.6, 0.2, 1.0, 0.4, 0.8, 0.7, 0.3, 0.8, 0.4, 0.9, 0.6, 0.9, 0.7];
    (labels, scores)
}

#[test]
#[rustfmt::skip]
fn auc_and_roc_match_sklearn_with_ties() {
    let (labels, scores) = sklearn_vector();
    assert_abs_diff_eq!(roc_auc(&labels, &scores).unwrap(), 0.5404364569961488, epsilon = 1e-12);
    let fpr = [0.0, 0.04878048780487805, 0.12195121951219512, 0.21951219512195122, 0.36585365853658536, 0.4634146341463415, 0.4878048780487805, 0.5609756097560976, 0.6585365853658537, 0.7560975609756098, 0.9512195121951219, 1.0];
    let tpr = [0.0, 0.10526315789473684, 0.10526315789473684, 0.15789473684210525, 0.3157894736842105, 0.5263157894736842, 0.5789473684210527, 0.631578947368421, 0.8421052631578947, 0.8947368421052632, 0.9473684210526315, 1.0];
    let roc = roc_curve(&labels, &scores).unwrap();
    assert_eq!(roc.x.len(), fpr.len());
    for i in 0..fpr.len() {
        assert_abs_diff_eq!(roc.x[i], fpr[i], epsilon = 1e-12);
        assert_abs_diff_eq!(roc.y[i], tpr[i], epsilon = 1e-12);
    }
    // The area under the curve's trapezoids equals the rank formula.
    let area: f64 = (1..fpr.len()).map(|i| (roc.x[i] - roc.x[i - 1]) * (roc.y[i] + roc.y[i - 1]) / 2.0).sum();
    assert_abs_diff_eq!(area, 0.5404364569961488, epsilon = 1e-12);
}

#[test]
fn histogram_bins_by_label() {
    let probas = [0.0, 0.1, 0.3, 0.95, 1.0, 0.7, 0.6, f64::NAN];
    let labels = [
        Some(false),
        Some(true),
        None,
        Some(true),
        Some(true),
        Some(false),
        None,
        Some(true),
    ];
    let h = histogram(&probas, &labels, 10);
    assert_eq!(h.edges.len(), 11);
    assert_eq!(h.edges[3], 0.3);
    assert_eq!(h.benign, vec![1, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert_eq!(h.malicious, vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert_eq!(h.unlabelled, vec![0, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
    // Every exact edge k/10 lands in bin k.
    for k in 0..10 {
        let h = histogram(&[k as f64 / 10.0], &[None], 10);
        assert_eq!(h.unlabelled[k], 1, "edge {k}");
        assert_eq!(
            histogram_bin(k as f64 / 10.0, &h.edges),
            Some(k),
            "edge {k}"
        );
    }
    assert_eq!(histogram_bin(1.0, &h.edges), Some(9));
    assert_eq!(histogram_bin(-0.5, &h.edges), Some(0));
    assert_eq!(histogram_bin(f64::NAN, &h.edges), None);
    assert_eq!(histogram_bin(0.5, &[0.0]), None, "no bin");
}

#[test]
fn accuracy_ndcg_and_dr_at_far_of_the_hand_example() {
    // Flagged at 0.5: 0.9 (T), 0.8 (F): TP 1, TN 1 of 5.
    assert_abs_diff_eq!(
        accuracy(&LABELS, &SCORES, 0.5).unwrap(),
        0.4,
        epsilon = 1e-15
    );
    assert_eq!(accuracy(&[], &[], 0.5), None);
    // Ranking: 0.9 (T) at rank 1, 0.8 (F) at 2, the tie 0.4 (T, F) at 3 and 4 shares the
    // average gain 1/2, 0.1 (T) at 5. Discounts 1 / log2(rank + 1).
    let d = |rank: f64| 1.0 / (rank + 1.0).log2();
    let dcg = d(1.0) + 0.5 * (d(3.0) + d(4.0)) + d(5.0);
    let ideal = d(1.0) + d(2.0) + d(3.0);
    assert_abs_diff_eq!(
        ndcg(&LABELS, &SCORES).unwrap(),
        dcg / ideal,
        epsilon = 1e-15
    );
    assert_abs_diff_eq!(dcg / ideal, 0.869_193, epsilon = 1e-6);
    assert_eq!(ndcg(&[false, false], &[0.1, 0.2]), None);
    assert_eq!(ndcg(&[true, false], &[0.1, 0.2]).unwrap(), d(2.0));
    // FAR-DR points (0,0) (0,1/3) (1/2,1/3) (1/2,2/3) (2/5,1): the false discovery rate is not
    // monotonic, so at 0.4 flagging everything qualifies while the thresholds above do not.
    let third = 1.0 / 3.0;
    for (far, expected) in [
        (0.0, third),
        (0.05, third),
        (0.39, third),
        (0.4, 1.0),
        (0.45, 1.0),
    ] {
        assert_abs_diff_eq!(
            detection_rate_at_far(&LABELS, &SCORES, far).unwrap(),
            expected,
            epsilon = 1e-15
        );
    }
    // Nothing below the far: the threshold flagging nothing gives 0.
    assert_eq!(
        detection_rate_at_far(&[false, true], &[0.9, 0.1], 0.1),
        Some(0.0)
    );
    assert_eq!(detection_rate_at_far(&[true, true], &[0.9, 0.1], 0.1), None);
}

#[test]
fn accuracy_and_ndcg_match_sklearn_with_ties() {
    // scikit-learn 1.x: ndcg_score([labels], [scores]), accuracy_score(labels, scores > 0.5);
    // and ndcg_score([[1, 0, 1, 0, 1]], [[0.9, 0.8, 0.4, 0.4, 0.1]]) for the hand example.
    let (labels, scores) = sklearn_vector();
    assert_abs_diff_eq!(
        ndcg(&labels, &scores).unwrap(),
        0.7064552452984567,
        epsilon = 1e-12
    );
    assert_abs_diff_eq!(
        accuracy(&labels, &scores, 0.5).unwrap(),
        0.5333333333333333,
        epsilon = 1e-12
    );
    assert_abs_diff_eq!(
        ndcg(&LABELS, &SCORES).unwrap(),
        0.8691938733160721,
        epsilon = 1e-12
    );
}
