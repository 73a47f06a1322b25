//! Every store key and queue name, in one place, so writers and readers agree.
//!
//! Layout (all keys start with `secuml:`):
//! - `secuml:experiments` hash: experiment id -> [`crate::ExperimentRecord`] JSON
//! - `secuml:counter:experiment`: last experiment id
//! - `secuml:exp:<id>:model`: the trained model
//! - `secuml:exp:<id>:train`: [`crate::TrainSummary`]
//! - `secuml:exp:<id>:detection` hash: detection name -> [`crate::DetectionResult`]
//! - `secuml:job:<id>:tasks` hash: task id -> task state JSON
//! - `secuml:job:<id>:results` hash: task id -> task result JSON
//! - `secuml:job:<id>:events` stream of [`crate::Event`]

/// Queue of task messages.
pub const TASK_QUEUE: &str = "secuml.tasks";
/// Queue of task outcomes, consumed by the coordinator.
pub const OUTCOME_QUEUE: &str = "secuml.outcomes";
/// Queue of submitted jobs.
pub const JOB_QUEUE: &str = "secuml.jobs";

/// Hash of every experiment record, keyed by experiment id.
pub fn experiments() -> String {
    "secuml:experiments".to_string()
}

/// Counter of experiment ids.
pub fn experiment_counter() -> String {
    "secuml:counter:experiment".to_string()
}

/// The trained model of an experiment.
pub fn model(experiment_id: u64) -> String {
    format!("secuml:exp:{experiment_id}:model")
}

/// The training summary of an experiment (search results, coefficients, times).
pub fn train_summary(experiment_id: u64) -> String {
    format!("secuml:exp:{experiment_id}:train")
}

/// Hash of an experiment's detections, keyed by detection name.
pub fn detections(experiment_id: u64) -> String {
    format!("secuml:exp:{experiment_id}:detection")
}

/// Hash of a job's task states, keyed by task id.
pub fn job_tasks(job_id: &str) -> String {
    format!("secuml:job:{job_id}:tasks")
}

/// Hash of a job's task results, keyed by task id; a redelivered task overwrites its value.
pub fn task_results(job_id: &str) -> String {
    format!("secuml:job:{job_id}:results")
}

/// Field of one task in [`task_results`] and [`job_tasks`].
pub fn task_result(task_id: &str) -> String {
    task_id.to_string()
}

/// Event stream of a job.
pub fn job_events(job_id: &str) -> String {
    format!("secuml:job:{job_id}:events")
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_namespaced() {
        assert_eq!(super::model(7), "secuml:exp:7:model");
        assert_eq!(super::job_events("j"), "secuml:job:j:events");
    }
}
