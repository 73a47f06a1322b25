//! The training matrix as the trees see it: every value rounded to `f32` (as scikit-learn's
//! gradient boosting casts its input), then replaced by its rank among the column's distinct
//! values, column by column.

use crate::rows::Rows;

/// Rank-coded columns: `codes[f * n + i]` is the rank of row `i`'s value among the sorted
/// distinct values of column `f`, `values[f][code]` that value.
pub(crate) struct RankedColumns {
    pub n: usize,
    pub codes: Vec<u32>,
    pub values: Vec<Vec<f32>>,
}

impl RankedColumns {
    /// Codes every column of the rows `x` (finite values).
    pub fn new(x: &Rows) -> Self {
        let (n, d) = (x.len(), x.ncols());
        let mut codes = vec![0u32; n * d];
        let mut values = Vec::with_capacity(d);
        let mut pairs: Vec<(f32, u32)> = Vec::with_capacity(n);
        for f in 0..d {
            pairs.clear();
            pairs.extend((0..n).map(|i| (x.value(i, f) as f32, i as u32)));
            pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let out = &mut codes[f * n..(f + 1) * n];
            let mut distinct: Vec<f32> = Vec::new();
            for &(v, i) in &pairs {
                // -0.0 and 0.0 compare equal, as in scikit-learn's sort.
                if distinct.last() != Some(&v) {
                    distinct.push(v);
                }
                out[i as usize] = (distinct.len() - 1) as u32;
            }
            distinct.shrink_to_fit();
            values.push(distinct);
        }
        RankedColumns { n, codes, values }
    }

    /// Column `f`'s codes.
    pub fn column(&self, f: usize) -> &[u32] {
        &self.codes[f * self.n..(f + 1) * self.n]
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn codes_are_ranks_of_f32_values() {
        // 1.0 and 1.0 + 1e-12 are one f32 value; -0.0 and 0.0 are one value.
        let x = array![[3.0, 0.0], [1.0, -0.0], [1.0 + 1e-12, 5.0], [-2.0, 0.0]];
        let c = RankedColumns::new(&Rows::all(x.view()));
        assert_eq!(c.column(0), &[2, 1, 1, 0]);
        assert_eq!(c.values[0], vec![-2.0, 1.0, 3.0]);
        assert_eq!(c.column(1), &[0, 0, 1, 0]);
        assert_eq!(c.values[1].len(), 2);
    }
}
