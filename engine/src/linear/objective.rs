//! The smooth part of the objective, C Σ log(1 + exp(−yᵢ wᵀxᵢ)), evaluated stably.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// Returns log(1 + exp(−m)) without overflow or loss of precision.
pub(crate) fn log_loss(margin: f64) -> f64 {
    if margin > 0.0 {
        (-margin).exp().ln_1p()
    } else {
        -margin + margin.exp().ln_1p()
    }
}

/// Returns 1 / (1 + exp(−t)) without overflow.
pub(crate) fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// The data term of the objective on a fixed training set.
pub(crate) struct LogLoss<'a> {
    /// Features, n × d.
    pub x: ArrayView2<'a, f64>,
    /// Labels as ±1.
    pub y: Array1<f64>,
    /// Weight of the summed loss.
    pub c: f64,
}

/// The data term and its derivatives at one point.
pub(crate) struct Evaluation {
    /// C Σ log(1 + exp(−yᵢ zᵢ)).
    pub value: f64,
    /// Its gradient in w: C Xᵀ (y ∘ (σ(y z) − 1)).
    pub gradient: Array1<f64>,
    /// Curvature weights C σ(yᵢzᵢ)(1 − σ(yᵢzᵢ)) of the Hessian C Xᵀ D X.
    pub curvature: Array1<f64>,
}

impl<'a> LogLoss<'a> {
    /// Builds the term from boolean labels (true = +1).
    pub fn new(x: ArrayView2<'a, f64>, labels: &[bool], c: f64) -> Self {
        let y = labels.iter().map(|&l| if l { 1.0 } else { -1.0 }).collect();
        LogLoss { x, y, c }
    }

    /// Returns z = X w.
    pub fn scores(&self, w: ArrayView1<f64>) -> Array1<f64> {
        self.x.dot(&w)
    }

    /// Returns the value at the scores `z + step · dz`, without allocating.
    pub fn value_along(&self, z: &Array1<f64>, dz: &Array1<f64>, step: f64) -> f64 {
        let sum: f64 = z.iter().zip(dz).zip(&self.y).map(|((&z, &dz), &y)| log_loss(y * (z + step * dz))).sum();
        self.c * sum
    }

    /// Evaluates value, gradient and curvature weights at scores `z`.
    pub fn evaluate(&self, z: &Array1<f64>) -> Evaluation {
        let n = z.len();
        let mut residual = Array1::zeros(n);
        let mut curvature = Array1::zeros(n);
        let mut value = 0.0;
        for i in 0..n {
            let margin = self.y[i] * z[i];
            value += log_loss(margin);
            let p = sigmoid(margin);
            let q = sigmoid(-margin);
            residual[i] = self.c * self.y[i] * (p - 1.0);
            curvature[i] = self.c * p * q;
        }
        let gradient = self.x.t().dot(&residual);
        Evaluation { value: self.c * value, gradient, curvature }
    }

    /// Returns the d × d Hessian Xᵀ diag(curvature) X plus `ridge` on the diagonal.
    ///
    /// Rows whose weight is below `1e-10 ×` the largest are left out: they change the Hessian
    /// by less than that relative amount, and the Hessian only shapes the step (the gradient,
    /// which decides optimality, stays exact).
    pub fn hessian(&self, curvature: &Array1<f64>, ridge: f64) -> Array2<f64> {
        let max = curvature.iter().cloned().fold(0.0, f64::max);
        let keep: Vec<usize> = (0..curvature.len()).filter(|&i| curvature[i] > 1e-10 * max).collect();
        let d = self.x.ncols();
        let mut scaled = Array2::zeros((keep.len(), d));
        for (k, &i) in keep.iter().enumerate() {
            let s = curvature[i].sqrt();
            scaled.row_mut(k).zip_mut_with(&self.x.row(i), |a, &b| *a = s * b);
        }
        let mut h = scaled.t().dot(&scaled);
        h.diag_mut().mapv_inplace(|v| v + ridge);
        h
    }

    /// Returns the Hessian-vector product Xᵀ diag(curvature) X v (no ridge).
    pub fn hessian_times(&self, curvature: &Array1<f64>, v: ArrayView1<f64>) -> Array1<f64> {
        let xv = self.x.dot(&v) * curvature;
        self.x.t().dot(&xv)
    }

    /// Returns the diagonal of Xᵀ diag(curvature) X.
    pub fn hessian_diagonal(&self, curvature: &Array1<f64>) -> Array1<f64> {
        self.x.mapv(|v| v * v).t().dot(curvature)
    }
}
