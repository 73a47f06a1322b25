//! Unit tests of the K-class tree: scikit-learn's exact trees on a small 3-class problem, a
//! hand-checked tree, the 2-class case against the binary tree, bad input.

use ndarray::{array, Array2};
use secuml_proto::hyper::{Criterion, DecisionTreeHyper, MaxFeatures, Splitter, TreeLimits};
use serde_json::Value;

use super::tests::{check_shape, config_hyper, fixture};
use super::*;

fn hyper(criterion: Criterion, splitter: Splitter, limits: TreeLimits) -> DecisionTreeHyper {
    DecisionTreeHyper {
        criterion,
        splitter,
        limits,
    }
}

#[test]
fn three_classes_on_one_column_by_hand() {
    // Classes 0, 0, 1, 1, 1, 2 along the column: the root's best split is at 2.5 (Gini of the
    // children 0 and 1 - (9 + 1) / 16 = 3/8, weighted 4/6 × 3/8 = 1/4; at 5.5 it is
    // 5/6 × (1 - (4 + 9) / 25) = 2/5), then the right child [1, 1, 1, 2] splits at 5.5.
    let x = array![[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]];
    let y = [0, 0, 1, 1, 1, 2];
    let gini = hyper(
        Criterion::Gini,
        Splitter::Best,
        TreeLimits::unlimited(MaxFeatures::All),
    );
    let model = fit_classes(&gini, x.view(), &y, 3, 0).unwrap();
    assert_eq!(model.tree.tree.feature, vec![0, LEAF, 0, LEAF, LEAF]);
    assert_eq!(model.tree.tree.right, vec![2, 0, 4, 0, 0]);
    assert_eq!(model.tree.tree.value, vec![2.5, 0.0, 5.5, 1.0, 2.0]);
    assert_eq!(
        model.tree.proba,
        vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(model.importances, vec![1.0]);
    let p = model.predict_proba(array![[0.0], [4.0], [9.0]].view());
    assert_eq!(
        p,
        vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0]
        ]
    );
    // A depth of 1 leaves the right child mixed: its fractions.
    let shallow = hyper(
        Criterion::Entropy,
        Splitter::Best,
        TreeLimits {
            max_depth: Some(1),
            ..TreeLimits::unlimited(MaxFeatures::All)
        },
    );
    let model = fit_classes(&shallow, x.view(), &y, 3, 0).unwrap();
    assert_eq!(model.tree.tree.feature, vec![0, LEAF, LEAF]);
    assert_eq!(model.tree.proba[3..], [0.0, 0.75, 0.25]);
}

#[test]
fn matches_scikit_learn_k_class_trees_node_by_node() {
    let data = fixture("sklearn_multiclass_trees_small.json");
    let rows: Vec<Vec<f64>> = serde_json::from_value(data["x"].clone()).unwrap();
    let x = Array2::from_shape_fn((rows.len(), 3), |(i, j)| rows[i][j]);
    let y: Vec<usize> = serde_json::from_value(data["y"].clone()).unwrap();
    let k = data["classes"].as_u64().unwrap() as usize;
    let cases: Vec<&Value> = data["trees"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["seed_invariant"] == true)
        .collect();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let config = &case["config"];
        let model = fit_classes(&config_hyper(config), x.view(), &y, k, 0).unwrap();
        let tree = &model.tree.tree;
        let expected = &case["tree"];
        let ours = check_shape(tree, expected, config);
        let thresholds: Vec<f64> = serde_json::from_value(expected["threshold"].clone()).unwrap();
        let proba: Vec<Vec<f64>> = serde_json::from_value(expected["proba"].clone()).unwrap();
        let mut leaves = 0;
        for i in 0..ours.len() {
            if ours[i] == -1 {
                assert_eq!(tree.value[i], leaves as f64, "{config} node {i}");
                let at = leaves * k;
                for (a, b) in model.tree.proba[at..at + k].iter().zip(&proba[i]) {
                    assert!((a - b).abs() < 1e-12, "{config} node {i}: {a} vs {b}");
                }
                leaves += 1;
            } else {
                // scikit-learn's thresholds are midpoints of f32 values.
                assert!(
                    (tree.value[i] - thresholds[i]).abs() < 1e-6,
                    "{config} node {i}"
                );
            }
        }
        assert_eq!(model.tree.proba.len(), leaves * k);
        let importances: Vec<f64> = serde_json::from_value(case["importances"].clone()).unwrap();
        for (a, b) in model.importances.iter().zip(&importances) {
            assert!((a - b).abs() < 1e-9, "{config}: {a} vs {b}");
        }
    }
}

/// With two classes, the K-class tree is the binary one: same draws, same splits, leaves
/// holding the malicious fraction as the second class's.
#[test]
fn two_classes_grow_the_binary_tree() {
    let x = Array2::from_shape_fn((300, 5), |(i, j)| {
        let v = ((i * (j + 5) * 7919 + j * 31) % 97) as f64;
        if j == 4 {
            (v as usize % 3) as f64
        } else {
            v
        }
    });
    let y: Vec<bool> = (0..300)
        .map(|i| (x[[i, 0]] + 0.5 * x[[i, 1]] + 20.0 * x[[i, 4]]) % 90.0 < 40.0)
        .collect();
    let classes: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let limits = [
        TreeLimits::unlimited(MaxFeatures::All),
        TreeLimits::unlimited(MaxFeatures::Sqrt),
        TreeLimits {
            max_leaf_nodes: Some(9),
            min_samples_leaf: 3,
            ..TreeLimits::unlimited(MaxFeatures::Log2)
        },
    ];
    for criterion in [Criterion::Gini, Criterion::Entropy] {
        for splitter in [Splitter::Best, Splitter::Random] {
            for limits in limits {
                let h = hyper(criterion, splitter, limits);
                for seed in 0..3 {
                    let binary = fit(&h, x.view(), &y, seed).unwrap();
                    let multi = fit_classes(&h, x.view(), &classes, 2, seed).unwrap();
                    let what = format!("{criterion:?} {splitter:?} {limits:?} seed {seed}");
                    assert_eq!(multi.tree.tree.feature, binary.tree.feature, "{what}");
                    assert_eq!(multi.tree.tree.right, binary.tree.right, "{what}");
                    for (i, &f) in binary.tree.feature.iter().enumerate() {
                        let b = binary.tree.value[i];
                        if f == LEAF {
                            let at = multi.tree.tree.value[i] as usize * 2;
                            assert!((multi.tree.proba[at + 1] - b).abs() < 1e-15, "{what}");
                            assert!((multi.tree.proba[at] - (1.0 - b)).abs() < 1e-15, "{what}");
                        } else {
                            assert_eq!(multi.tree.tree.value[i], b, "{what}");
                        }
                    }
                    for (a, b) in multi.importances.iter().zip(&binary.importances) {
                        assert!((a - b).abs() < 1e-12, "{what}");
                    }
                }
            }
        }
    }
}

#[test]
fn k_class_trees_refuse_bad_classes() {
    let x = array![[1.0], [2.0], [3.0]];
    let h = hyper(
        Criterion::Gini,
        Splitter::Best,
        TreeLimits::unlimited(MaxFeatures::All),
    );
    let data_error = |y: &[usize], k: usize| {
        matches!(fit_classes(&h, x.view(), y, k, 0), Err(ModelError::Data(_)))
    };
    assert!(data_error(&[0, 1, 3], 3), "a class out of range");
    assert!(data_error(&[1, 1, 1], 3), "a single class");
    assert!(data_error(&[0, 0, 0], 1), "fewer than 2 classes");
    assert!(data_error(&[0, 1], 2), "fewer labels than rows");
    assert!(fit_classes(&h, x.view(), &[0, 2, 2], 3, 0).is_ok());
}

#[test]
fn k_class_tree_round_trips_and_is_deterministic() {
    // Column 0 tells every row apart.
    let x = Array2::from_shape_fn((120, 4), |(i, j)| {
        if j == 0 {
            i as f64
        } else {
            ((i * (j + 2) * 104_729) % 53) as f64
        }
    });
    let y: Vec<usize> = (0..120).map(|i| (i * 7 + i / 13) % 5).collect();
    let h = hyper(
        Criterion::Entropy,
        Splitter::Random,
        TreeLimits::unlimited(MaxFeatures::Sqrt),
    );
    let a = fit_classes(&h, x.view(), &y, 5, 3).unwrap();
    assert_eq!(a, fit_classes(&h, x.view(), &y, 5, 3).unwrap());
    assert_ne!(a, fit_classes(&h, x.view(), &y, 5, 4).unwrap());
    assert!(a.tree.tree.is_consistent(4));
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(
        serde_json::from_str::<DecisionTreeClasses>(&json).unwrap(),
        a
    );
    for p in a.predict_proba(x.view()) {
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    // Grown until pure, on distinct rows: the training rows are predicted exactly.
    let predicted: Vec<usize> = a
        .predict_proba(x.view())
        .iter()
        .map(|p| p.iter().position(|&v| v == 1.0).expect("a pure leaf"))
        .collect();
    assert_eq!(predicted, y);
}
