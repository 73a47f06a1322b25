//! The training set as the split search reads it: every column rank-coded once per fit,
//! column-major, with the class packed into each code.

use crate::model::ModelError;
use crate::rows::Rows;

/// Values closer than this count as equal: no threshold is placed between them
/// (scikit-learn's `FEATURE_THRESHOLD`).
pub(crate) const FEATURE_THRESHOLD: f64 = 1e-7;

/// Rank codes of every column of `x`, shared by all the trees of a fit.
#[derive(Debug)]
pub(crate) struct TrainingSet {
    /// Rows.
    pub n: usize,
    /// Columns.
    pub d: usize,
    /// Column-major `(rank << shift) | class`, `rank` the index of the row's value among its
    /// column's distinct values in increasing order.
    pub keys: Vec<u32>,
    /// Bits of the class in a key: 1 for two classes, enough for K - 1 for K.
    pub shift: u32,
    /// Each column's distinct values, increasing (`values[j][rank]`).
    pub values: Vec<Vec<f64>>,
    /// Class of each row: 1 for malicious with two classes, 0..K for K.
    pub y: Vec<u32>,
}

impl TrainingSet {
    /// Codes the rows `x` (n × d, finite values) with labels `y` (`true` for malicious).
    pub fn new(x: &Rows, y: &[bool]) -> Result<Self, ModelError> {
        let y: Vec<u32> = y.iter().map(|&v| v as u32).collect();
        Self::code(x, y, 1)
    }

    /// Codes `x` (n × d, finite values) with the class of each row, `y`, among `k` (at least
    /// 2, shifted as [`super::labels::Classes`] says).
    pub fn with_classes(x: &Rows, y: &[usize], k: usize) -> Result<Self, ModelError> {
        if !(2..=1 << 16).contains(&k) {
            return Err(ModelError::Data(format!(
                "expected 2 to 65536 classes, got {k}"
            )));
        }
        if let Some((i, c)) = y.iter().enumerate().find(|(_, &c)| c >= k) {
            return Err(ModelError::Data(format!(
                "row {i} has class {c}, expected below {k}"
            )));
        }
        let y: Vec<u32> = y.iter().map(|&c| c as u32).collect();
        Self::code(x, y, super::labels::Classes::new(k).shift)
    }

    fn code(x: &Rows, y: Vec<u32>, shift: u32) -> Result<Self, ModelError> {
        let (n, d) = (x.len(), x.ncols());
        if n == 0 || d == 0 {
            return Err(ModelError::Data(format!(
                "the training set is empty ({n} rows, {d} columns)"
            )));
        }
        if y.len() != n {
            return Err(ModelError::Data(format!("{n} rows but {} labels", y.len())));
        }
        // Every key, and `(rank + 1) << shift`, fits in 31 bits.
        if n >= (1 << (31 - shift)) {
            return Err(ModelError::Data(format!(
                "too many rows ({n}): expected fewer than {} with {shift} bit(s) of class",
                1u64 << (31 - shift)
            )));
        }
        if y.iter().all(|&c| c == y[0]) {
            return Err(ModelError::Data(
                "the training set has a single class".into(),
            ));
        }
        let mut keys = vec![0u32; n * d];
        let mut values = Vec::with_capacity(d);
        let mut coder = Coder::new(n);
        let wide = code_two_valued(x, &mut keys)?;
        // One wide column's values at a time, read again from `x`: not all of them at once.
        let mut column = Vec::new();
        for (j, wide) in wide.into_iter().enumerate() {
            let out = &mut keys[j * n..(j + 1) * n];
            values.push(match wide {
                Column::Wide => {
                    column.clear();
                    // Adding 0.0 turns -0.0 into 0.0 and keeps every other value.
                    column.extend((0..n).map(|i| x.value(i, j) + 0.0));
                    coder.code(&column, out)
                }
                Column::TwoValued {
                    first,
                    second: None,
                } => vec![first],
                Column::TwoValued {
                    first,
                    second: Some(second),
                } => {
                    if second < first {
                        // The codes say "not the first value": turn them into ranks.
                        out.iter_mut().for_each(|k| *k ^= 1);
                        vec![second, first]
                    } else {
                        vec![first, second]
                    }
                }
            });
        }
        for j in 0..d {
            for (k, &label) in keys[j * n..(j + 1) * n].iter_mut().zip(&y) {
                *k = (*k << shift) | label;
            }
        }
        Ok(TrainingSet {
            n,
            d,
            keys,
            shift,
            values,
            y,
        })
    }

    /// The packed keys of column `j`, one per row.
    #[inline]
    pub fn column(&self, j: usize) -> &[u32] {
        &self.keys[j * self.n..(j + 1) * self.n]
    }
}

/// A column of `x` after [`code_two_valued`].
enum Column {
    /// At most two distinct values, coded 0 for `first` (row 0's) and 1 for `second`.
    TwoValued { first: f64, second: Option<f64> },
    /// More: to rank, its values read again.
    Wide,
}

/// One pass over `x`, by tiles of rows (each gathered, standardised, then read in memory
/// order first, the finiteness check, which brings it into cache): writes the codes of the
/// two-valued columns into `keys` (column-major) and marks the other columns wide; an error
/// if a value is not finite.
fn code_two_valued(x: &Rows, keys: &mut [u32]) -> Result<Vec<Column>, ModelError> {
    const TILE: usize = 32;
    let (n, d) = (x.len(), x.ncols());
    let mut tile = vec![0.0; TILE * d];
    x.row_into(0, &mut tile[..d]);
    // Adding 0.0 turns -0.0 into 0.0 and keeps every other value.
    let mut columns: Vec<Column> = tile[..d]
        .iter()
        .map(|&v| Column::TwoValued {
            first: v + 0.0,
            second: None,
        })
        .collect();
    for i0 in (0..n).step_by(TILE) {
        let rows = TILE.min(n - i0);
        for (r, out) in tile.chunks_exact_mut(d).take(rows).enumerate() {
            x.row_into(i0 + r, out);
        }
        let tile = &tile[..rows * d];
        if !tile.iter().fold(true, |ok, v| ok & v.is_finite()) {
            return Err(ModelError::Data(
                "the training set has non-finite values".into(),
            ));
        }
        for (j, state) in columns.iter_mut().enumerate() {
            let out = &mut keys[j * n..(j + 1) * n];
            let mut r = 0;
            while r < rows {
                match state {
                    Column::Wide => break,
                    Column::TwoValued { first, second } => {
                        let (a, b) = (*first, second.unwrap_or(*first));
                        // The common case: values already seen.
                        while r < rows {
                            let v = tile[r * d + j] + 0.0;
                            if v == a {
                                out[i0 + r] = 0;
                            } else if v == b {
                                out[i0 + r] = 1;
                            } else {
                                break;
                            }
                            r += 1;
                        }
                        if r == rows {
                            break;
                        }
                        let v = tile[r * d + j] + 0.0;
                        if second.is_none() {
                            *second = Some(v);
                            out[i0 + r] = 1;
                            r += 1;
                        } else {
                            // A third value: the column is ranked afterwards.
                            *state = Column::Wide;
                        }
                    }
                }
            }
        }
    }
    Ok(columns)
}

/// Rank coding of one column of three values or more: distinct values found by open
/// addressing on their bits, then sorted, so that a column costs O(n + K log K) for K
/// distinct values.
struct Coder {
    /// Slot: value bits and provisional id, `u32::MAX` when empty.
    table: Vec<(u64, u32)>,
    mask: usize,
    /// Slots filled by the current column.
    used: Vec<usize>,
    provisional: Vec<u32>,
    distinct: Vec<(f64, u32)>,
    rank_of: Vec<u32>,
}

impl Coder {
    fn new(n: usize) -> Self {
        let size = (2 * n).next_power_of_two().max(16);
        Coder {
            table: vec![(0, u32::MAX); size],
            mask: size - 1,
            used: Vec::new(),
            provisional: vec![0; n],
            distinct: Vec::new(),
            rank_of: Vec::new(),
        }
    }

    /// Writes the rank of each value of `column` into `out`; returns the distinct values.
    fn code(&mut self, column: &[f64], out: &mut [u32]) -> Vec<f64> {
        self.distinct.clear();
        for (p, &v) in self.provisional.iter_mut().zip(column) {
            let bits = v.to_bits();
            let mut slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & self.mask;
            loop {
                let (key, id) = self.table[slot];
                if id == u32::MAX {
                    let id = self.distinct.len() as u32;
                    self.table[slot] = (bits, id);
                    self.used.push(slot);
                    self.distinct.push((v, id));
                    *p = id;
                    break;
                }
                if key == bits {
                    *p = id;
                    break;
                }
                slot = (slot + 1) & self.mask;
            }
        }
        // Empty the table for the next column (only the slots used).
        for slot in self.used.drain(..) {
            self.table[slot].1 = u32::MAX;
        }
        self.distinct.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        self.rank_of.clear();
        self.rank_of.resize(self.distinct.len(), 0);
        for (rank, &(_, id)) in self.distinct.iter().enumerate() {
            self.rank_of[id as usize] = rank as u32;
        }
        for (o, &p) in out.iter_mut().zip(&self.provisional) {
            *o = self.rank_of[p as usize];
        }
        self.distinct.iter().map(|&(v, _)| v).collect()
    }
}
