//! The outer split of a DIADEM job: which labelled rows train and which are held out.

use secuml_engine::split;
use secuml_proto::{ErrorCode, OuterSplit, TaskFailure};

fn bad_request(message: String) -> TaskFailure {
    TaskFailure::permanent(ErrorCode::BadRequest, message)
}

/// The side of every labelled row: `Some(false)` trains, `Some(true)` is held out, `None` is in
/// neither (a temporal fold's later buckets).
///
/// `labels` and `timestamps` are those of the labelled rows, in dataset order; `timestamps` is
/// needed by the temporal splits only.
pub fn sides(
    outer: &OuterSplit,
    labels: &[bool],
    timestamps: Option<&[Option<i64>]>,
) -> Result<Vec<Option<bool>>, TaskFailure> {
    let split_error = |e: split::SplitError| bad_request(format!("cannot split: {e}"));
    let times = || -> Result<Vec<i64>, TaskFailure> {
        let timestamps = timestamps.ok_or_else(|| {
            bad_request("the temporal validation modes need the `timestamp` column of idents.csv, which this dataset has not".into())
        })?;
        let times: Vec<i64> = timestamps.iter().flatten().copied().collect();
        if times.len() != timestamps.len() {
            return Err(bad_request(format!(
                "{} labelled instance(s) have no timestamp: the temporal validation modes need one for each",
                timestamps.len() - times.len()
            )));
        }
        Ok(times)
    };
    let all = |mask: Vec<bool>| mask.into_iter().map(Some).collect();
    Ok(match outer {
        OuterSplit::Whole => vec![Some(false); labels.len()],
        OuterSplit::RandomSplit { test_size, seed } => {
            all(split::stratified_split(labels, *test_size, *seed).map_err(split_error)?)
        }
        OuterSplit::Cv {
            num_folds,
            seed,
            fold,
        } => split::stratified_kfold(labels, *num_folds as usize, Some(*seed))
            .map_err(split_error)?
            .into_iter()
            .map(|f| Some(f == *fold as usize))
            .collect(),
        OuterSplit::TemporalSplit { test_size } => {
            all(split::temporal_split(&times()?, *test_size).map_err(split_error)?)
        }
        OuterSplit::CutoffTime { cutoff_time } => times()?
            .into_iter()
            .map(|t| Some(t >= *cutoff_time))
            .collect(),
        OuterSplit::TemporalCv { num_folds, fold } => {
            let buckets =
                split::time_buckets(&times()?, *num_folds as usize + 1).map_err(split_error)?;
            let fold = *fold as usize;
            buckets
                .into_iter()
                .map(|b| match b {
                    b if b <= fold => Some(false),
                    b if b == fold + 1 => Some(true),
                    _ => None,
                })
                .collect()
        }
        OuterSplit::SlidingWindow {
            num_buckets,
            num_train_buckets,
            num_test_buckets,
            fold,
        } => {
            let buckets =
                split::time_buckets(&times()?, *num_buckets as usize).map_err(split_error)?;
            let train_start = *fold as usize;
            let test_start = train_start + *num_train_buckets as usize;
            let test_end = test_start + *num_test_buckets as usize;
            buckets
                .into_iter()
                .map(|b| match b {
                    b if (train_start..test_start).contains(&b) => Some(false),
                    b if (test_start..test_end).contains(&b) => Some(true),
                    _ => None,
                })
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(values: &[i64]) -> Vec<Option<i64>> {
        values.iter().copied().map(Some).collect()
    }

    #[test]
    fn temporal_cv_trains_on_the_past_and_tests_on_the_next_bucket() {
        // 3 folds: 4 buckets of 25 s over [0, 100].
        let t = times(&[0, 10, 30, 40, 60, 70, 90, 100]);
        let labels = vec![false; t.len()];
        let fold = |fold| {
            sides(
                &OuterSplit::TemporalCv { num_folds: 3, fold },
                &labels,
                Some(&t),
            )
            .unwrap()
        };
        let (tr, te) = (Some(false), Some(true));
        assert_eq!(fold(0), vec![tr, tr, te, te, None, None, None, None]);
        assert_eq!(fold(1), vec![tr, tr, tr, tr, te, te, None, None]);
        assert_eq!(fold(2), vec![tr, tr, tr, tr, tr, tr, te, te]);
    }

    #[test]
    fn sliding_window_slides_one_bucket_per_fold() {
        // 5 buckets of 20 s over [0, 100]; windows of 2 train + 1 test buckets: 3 folds.
        let t = times(&[0, 25, 45, 65, 85, 100]);
        let labels = vec![true; t.len()];
        let fold = |fold| {
            sides(
                &OuterSplit::SlidingWindow {
                    num_buckets: 5,
                    num_train_buckets: 2,
                    num_test_buckets: 1,
                    fold,
                },
                &labels,
                Some(&t),
            )
            .unwrap()
        };
        let (tr, te) = (Some(false), Some(true));
        assert_eq!(fold(0), vec![tr, tr, te, None, None, None]);
        assert_eq!(fold(1), vec![None, tr, tr, te, None, None]);
        assert_eq!(fold(2), vec![None, None, tr, tr, te, te]);
    }

    #[test]
    fn cutoff_and_cv_and_missing_timestamps() {
        let t = times(&[5, 10, 15, 20]);
        let labels = [true, false, true, false];
        let cutoff = sides(
            &OuterSplit::CutoffTime { cutoff_time: 15 },
            &labels,
            Some(&t),
        )
        .unwrap();
        assert_eq!(
            cutoff,
            vec![Some(false), Some(false), Some(true), Some(true)]
        );
        let err = sides(&OuterSplit::CutoffTime { cutoff_time: 15 }, &labels, None).unwrap_err();
        assert!(err.message.contains("timestamp"), "{}", err.message);
        let mut gap = t.clone();
        gap[1] = None;
        let err = sides(
            &OuterSplit::TemporalSplit { test_size: 0.5 },
            &labels,
            Some(&gap),
        )
        .unwrap_err();
        assert!(
            err.message.contains("1 labelled instance(s)"),
            "{}",
            err.message
        );
        // Each Cv fold is held out once, and the folds cover every row.
        let mut held = [0; 4];
        for fold in 0..2 {
            let s = sides(
                &OuterSplit::Cv {
                    num_folds: 2,
                    seed: 1,
                    fold,
                },
                &labels,
                None,
            )
            .unwrap();
            for (i, side) in s.iter().enumerate() {
                held[i] += usize::from(*side == Some(true));
            }
        }
        assert_eq!(held, [1, 1, 1, 1]);
    }
}
