//! The live leaderboard of a DIADEM job's hyperparameter search, from the fold scores stored so far.
//!
//! Each (candidate, fold) task stores its [`FitScoreResult`] under the job's task results as soon as
//! it is done, long before the search ends; the leaderboard groups them by candidate and ranks the
//! candidates by the mean of the folds scored so far. Once every fold of every candidate is scored,
//! the means, deviations and the best candidate are those the coordinator selects (the same population
//! standard deviation; ties go to the first candidate in grid order).

use std::collections::BTreeMap;

use secuml_proto::fold_stats::mean_std;
use secuml_proto::{keys, FitScoreResult, Hyper, JobSpec, Objective, Supervision};
use serde::Serialize;

use crate::data::{decode, Reader};
use crate::error::DashboardError;

/// One candidate of the search, with the folds scored so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaderboardEntry {
    /// The candidate's position in the grid (scikit-learn's `ParameterGrid` order).
    pub index: usize,
    /// The candidate.
    pub hyper: Hyper,
    /// Folds scored so far.
    pub folds_done: u32,
    /// Mean of the scores so far; `None` before the first.
    pub mean: Option<f64>,
    /// Population standard deviation of the scores so far.
    pub std: Option<f64>,
    /// The score of each fold, `None` while not scored.
    pub per_fold: Vec<Option<f64>>,
}

/// The leaderboard of one search: one per outer fold in the cross-validation validation modes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchBoard {
    /// The outer fold (cross-validation validation modes), else `None`.
    pub outer_fold: Option<u32>,
    /// Every candidate, ranked: those with scores by decreasing mean (ties in grid order), then
    /// the others in grid order.
    pub candidates: Vec<LeaderboardEntry>,
    /// Grid index of the leading candidate, among those with every fold scored; `None` until one is.
    pub leader: Option<usize>,
    /// Fold scores stored so far.
    pub scores_done: u32,
}

/// The leaderboard of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leaderboard {
    /// The job.
    pub job_id: String,
    /// The experiment, once the job started.
    pub experiment_id: Option<u64>,
    /// The objective the scores are values of.
    pub objective: Objective,
    /// Folds of the search.
    pub num_folds: u32,
    /// Fold scores the whole search needs (candidates x folds x outer folds).
    pub scores_planned: u32,
    /// One board per search.
    pub searches: Vec<SearchBoard>,
}

/// The outer fold and the task id's rest: `fold<k>-fit-<c>-<f>` or `fit-<c>-<f>`.
fn search_task(task_id: &str) -> Option<Option<u32>> {
    if task_id.starts_with("fit-") {
        return Some(None);
    }
    let rest = task_id.strip_prefix("fold")?;
    let (k, rest) = rest.split_once('-')?;
    rest.starts_with("fit-").then_some(())?;
    k.parse().ok().map(Some)
}

/// Ranks `hypers` by the fold scores of `results`.
pub fn board(
    outer_fold: Option<u32>,
    hypers: &[Hyper],
    num_folds: u32,
    results: &[&FitScoreResult],
) -> SearchBoard {
    let mut candidates: Vec<LeaderboardEntry> = hypers
        .iter()
        .enumerate()
        .map(|(index, hyper)| {
            let mut per_fold = vec![None; num_folds as usize];
            for r in results.iter().filter(|r| &r.hyper == hyper) {
                if let Some(slot) = per_fold.get_mut(r.fold as usize) {
                    *slot = Some(r.score).filter(|s| s.is_finite());
                }
            }
            let scores: Vec<f64> = per_fold.iter().flatten().copied().collect();
            let stats = mean_std(scores.iter().copied());
            LeaderboardEntry {
                index,
                hyper: *hyper,
                folds_done: scores.len() as u32,
                mean: stats.map(|s| s.0),
                std: stats.map(|s| s.1),
                per_fold,
            }
        })
        .collect();
    let scores_done = candidates.iter().map(|c| c.folds_done).sum();
    // The first candidate in grid order among the complete ones with the highest mean, as the
    // coordinator selects it.
    let leader = candidates
        .iter()
        .filter(|c| c.folds_done == num_folds)
        .fold(None::<&LeaderboardEntry>, |best, c| match best {
            Some(b) if b.mean >= c.mean => Some(b),
            _ => Some(c),
        })
        .map(|c| c.index);
    candidates.sort_by(|a, b| match (a.mean, b.mean) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.index.cmp(&b.index)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.index.cmp(&b.index),
    });
    SearchBoard {
        outer_fold,
        candidates,
        leader,
        scores_done,
    }
}

impl Reader {
    /// The live leaderboard of the DIADEM job `job_id`; a job of another kind, or of a class with
    /// no search (semi- and unsupervised classes, an already trained model), is a bad request.
    pub async fn leaderboard(&self, job_id: &str) -> Result<Leaderboard, DashboardError> {
        let record = self.job_record(job_id).await?;
        let JobSpec::Diadem(spec) = &record.spec else {
            return Err(DashboardError::BadRequest(format!(
                "job {job_id} is not a DIADEM job: it has no hyperparameter search"
            )));
        };
        let hypers = spec.model.candidates().unwrap_or_default();
        if !hypers
            .first()
            .is_some_and(|h| h.supervision() == Supervision::Supervised)
        {
            return Err(DashboardError::BadRequest(format!(
                "job {job_id} trains {}, which has no hyperparameter search",
                spec.model.class_name()
            )));
        }
        let key = keys::task_results(job_id);
        let stored = self.store().hgetall(&key).await?;
        let mut by_outer: BTreeMap<Option<u32>, Vec<FitScoreResult>> = BTreeMap::new();
        for (task_id, bytes) in &stored {
            let Some(outer) = search_task(task_id) else {
                continue;
            };
            let result: FitScoreResult = decode(&format!("{key} {task_id}"), bytes)?;
            by_outer.entry(outer).or_default().push(result);
        }
        let outers: Vec<Option<u32>> = match spec.validation.outer_folds() {
            Some(n) => (0..n).map(Some).collect(),
            None => vec![None],
        };
        let searches = outers
            .iter()
            .map(|outer| {
                let results: Vec<&FitScoreResult> =
                    by_outer.get(outer).into_iter().flatten().collect();
                board(*outer, &hypers, spec.num_folds, &results)
            })
            .collect();
        Ok(Leaderboard {
            job_id: job_id.to_string(),
            experiment_id: record.experiment_id,
            objective: spec.objective,
            num_folds: spec.num_folds,
            scores_planned: (hypers.len() * outers.len()) as u32 * spec.num_folds,
            searches,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secuml_proto::Penalty;

    fn lr(c: f64) -> Hyper {
        Hyper::LogisticRegression {
            c,
            penalty: Penalty::L2,
            optim_algo: Default::default(),
        }
    }

    fn score(hyper: Hyper, fold: u32, score: f64) -> FitScoreResult {
        FitScoreResult {
            hyper,
            fold,
            score,
            n_train: 3,
            n_test: 1,
            fit_seconds: 0.0,
            iterations: 1,
        }
    }

    #[test]
    fn search_tasks_are_recognised_with_their_outer_fold() {
        assert_eq!(search_task("fit-3-1"), Some(None));
        assert_eq!(search_task("fold2-fit-0-0"), Some(Some(2)));
        assert_eq!(search_task("refit"), None);
        assert_eq!(search_task("fold1-refit"), None);
        assert_eq!(search_task("detect-test"), None);
        assert_eq!(search_task("foldx-fit-0-0"), None);
    }

    #[test]
    fn partial_scores_rank_candidates_and_only_complete_ones_lead() {
        let (a, b, c) = (lr(0.1), lr(1.0), lr(10.0));
        let results = [
            score(a, 0, 0.8),
            score(a, 1, 0.6),
            score(b, 0, 0.9),
            score(c, 1, 0.7),
            score(c, 0, 0.7),
        ];
        let refs: Vec<&FitScoreResult> = results.iter().collect();
        let board = board(None, &[a, b, c], 2, &refs);
        let order: Vec<usize> = board.candidates.iter().map(|e| e.index).collect();
        assert_eq!(
            order,
            [1, 0, 2],
            "b leads on one fold; a and c tie, a first"
        );
        assert_eq!(board.candidates[0].folds_done, 1);
        assert_eq!(board.candidates[0].per_fold, [Some(0.9), None]);
        assert_eq!(
            board.leader,
            Some(0),
            "b is not complete; a and c tie, a first"
        );
        assert_eq!(board.scores_done, 5);
        let a_entry = &board.candidates[1];
        assert!((a_entry.mean.unwrap() - 0.7).abs() < 1e-12);
        assert!((a_entry.std.unwrap() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn a_board_without_scores_keeps_grid_order() {
        let board = board(Some(1), &[lr(0.1), lr(1.0)], 4, &[]);
        assert_eq!(board.leader, None);
        assert_eq!(board.scores_done, 0);
        assert!(board.candidates.iter().all(|c| c.mean.is_none()));
        assert_eq!(board.candidates[1].index, 1);
    }
}
