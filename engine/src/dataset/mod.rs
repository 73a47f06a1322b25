//! Datasets: SecuML-layout CSV ingest, the manifest, Parquet shards, frames and one-hot encoding.
//!
//! An input dataset folder (`<input_dir>/<project>/<dataset>/`, see [`ingest`]) becomes an
//! ingested dataset folder holding `manifest.json`, `shards/part-NNNNN.parquet` and
//! `annotations/<name>.parquet`. [`read_manifest`], [`read_frame`], [`read_shard`] and
//! [`read_annotations`] read it back, checking every file against the manifest's sha256,
//! [`locate_instance`] finds the shard and row of one instance from the footers, and
//! [`Encoder`] turns a [`Frame`] into the dense matrix the models train on.

mod csv_input;
mod encode;
mod error;
mod features;
mod frame;
mod idents;
mod ingest;
mod lookup;
mod manifest;
mod shard;
#[cfg(test)]
mod tests;

pub use csv_input::parse_timestamp;
pub use encode::Encoder;
pub use error::{DatasetError, IngestError};
pub use frame::{
    read_annotations, read_annotations_at, read_encoded_at, read_frame, read_frame_at, read_shard,
    read_shard_at, Annotation, Frame, FrameColumn,
};
pub use ingest::{ingest, IngestOptions};
pub use lookup::{locate_instance, InstanceLocation};
pub use manifest::{
    parse_manifest, read_manifest, AnnotationMeta, FeatureKind, FeatureMeta, Manifest, ShardMeta,
    SourceMeta, FORMAT_VERSION, MANIFEST_FILE,
};
pub use shard::TARGET_SHARD_BYTES;
