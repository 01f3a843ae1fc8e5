//! The n-of-1 analysis models (docs: `METHODS.md` §1-3, `docs/trial.md`).
//!
//! Primary: a normal model with one mean per arm and stationary AR(1) errors on the day grid.
//! With a flat prior on the means, p(σ²) ∝ 1/σ² and ρ ~ U(−1, 1) (the limit of the `nof1ins`
//! vague priors), the means and σ integrate out analytically given ρ, so the posterior of a
//! contrast is a mixture of Student-t distributions over ρ, computed by quadrature on
//! ρ = tanh(u): deterministic, and milliseconds for a 126-night trial. Missing nights are simply
//! absent: the likelihood factorises exactly over the gaps (ρ^gap).
//!
//! The linear algebra is p × p with p ≤ 4 (arms plus an optional trend), solved by Cholesky
//! here rather than pulling in a matrix crate for it.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Quadrature nodes on u, with ρ = tanh(u): u in [−U_MAX, U_MAX] covers |ρ| ≤ 0.99998.
const NODES: usize = 400;
const U_MAX: f64 = 6.0;

/// One analysed night: its day number, the arm index and the outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    pub day: i64,
    pub arm: usize,
    pub y: f64,
}

/// The posterior of a contrast: a mixture of location-scale Student-t over ρ.
#[derive(Debug, Clone)]
pub struct ContrastPosterior {
    /// (weight, location, scale) per quadrature node with non-negligible weight.
    components: Vec<(f64, f64, f64)>,
    nu: f64,
    pub rho_mean: f64,
}

/// Why a model cannot be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("too few nights to fit the model: {nights} nights for {parameters} parameters")]
    TooFewNights { nights: usize, parameters: usize },
    #[error(
        "the design matrix is singular (an arm without nights, or a trend collinear with the arms)"
    )]
    Singular,
}

/// Cholesky factor of a symmetric positive-definite p × p matrix (row-major), or None.
fn cholesky(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            if i == j {
                if s <= 1e-12 * a[i * p + i].abs().max(1e-300) {
                    return None;
                }
                l[i * p + i] = s.sqrt();
            } else {
                l[i * p + j] = s / l[j * p + j];
            }
        }
    }
    Some(l)
}

/// Solves (L L') x = b.
fn chol_solve(l: &[f64], p: usize, b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; p];
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * p + k] * z[k];
        }
        z[i] = s / l[i * p + i];
    }
    let mut x = vec![0.0; p];
    for i in (0..p).rev() {
        let mut s = z[i];
        for k in (i + 1)..p {
            s -= l[k * p + i] * x[k];
        }
        x[i] = s / l[i * p + i];
    }
    x
}

/// The fit given ρ: log p(ρ | y) up to a constant, and the contrast's t location and scale.
struct FitAtRho {
    log_post: f64,
    location: f64,
    scale: f64,
}

/// Design rows: one indicator per arm, plus a centred, scaled day column if `trend`; the
/// outcome (centred on `y_centre`) is appended as the last element.
fn design_row(o: &Obs, arms: usize, trend: Option<(f64, f64)>, y_centre: f64, row: &mut Vec<f64>) {
    row.clear();
    for a in 0..arms {
        row.push(if o.arm == a { 1.0 } else { 0.0 });
    }
    if let Some((centre, scale)) = trend {
        row.push((o.day as f64 - centre) / scale);
    }
    row.push(o.y - y_centre);
}

/// Sums of products of consecutive rows z = (x, y) for all pairs of nights `gap` days apart.
/// Whitening a pair is (z_t − ρ^gap z_{t−1}) / sqrt(v(gap)), so its contribution to the
/// cross-products is (tt − ρ^gap (tp + tp') + ρ^(2 gap) pp) / v(gap): the sums are taken once
/// and every quadrature node costs only O(distinct gaps × p²), not O(nights).
#[derive(Debug, Clone)]
struct GapSums {
    gap: i64,
    pairs: f64,
    /// Σ z_t z_t', Σ z_t z_{t−1}', Σ z_{t−1} z_{t−1}' (q × q, row-major; q = p + 1).
    tt: Vec<f64>,
    tp: Vec<f64>,
    pp: Vec<f64>,
}

/// Everything the likelihood needs from the data, for any ρ.
#[derive(Debug, Clone)]
struct Sufficient {
    /// Columns of X (arms, then the trend).
    p: usize,
    nights: usize,
    /// z of the first night.
    first: Vec<f64>,
    gaps: Vec<GapSums>,
}

impl Sufficient {
    /// `obs` sorted by day, distinct days. The outcome is centred on its mean: the arm
    /// indicators span the constant, so this changes no contrast and no residual, and it
    /// keeps the expanded sums well conditioned.
    fn new(obs: &[Obs], arms: usize, trend: Option<(f64, f64)>) -> Self {
        let p = arms + usize::from(trend.is_some());
        let q = p + 1;
        let y_centre = obs.iter().map(|o| o.y).sum::<f64>() / obs.len().max(1) as f64;
        let mut gaps: Vec<GapSums> = Vec::new();
        let mut index: std::collections::BTreeMap<i64, usize> = Default::default();
        let mut first = Vec::with_capacity(q);
        let mut prev_row: Vec<f64> = Vec::with_capacity(q);
        let mut row: Vec<f64> = Vec::with_capacity(q);
        let mut prev_day: Option<i64> = None;
        for o in obs {
            design_row(o, arms, trend, y_centre, &mut row);
            match prev_day {
                None => first.clone_from(&row),
                Some(d) => {
                    let gap = o.day.saturating_sub(d);
                    let i = *index.entry(gap).or_insert_with(|| {
                        gaps.push(GapSums {
                            gap,
                            pairs: 0.0,
                            tt: vec![0.0; q * q],
                            tp: vec![0.0; q * q],
                            pp: vec![0.0; q * q],
                        });
                        gaps.len() - 1
                    });
                    let g = &mut gaps[i];
                    g.pairs += 1.0;
                    for a in 0..q {
                        for b in 0..q {
                            g.tt[a * q + b] += row[a] * row[b];
                            g.tp[a * q + b] += row[a] * prev_row[b];
                            g.pp[a * q + b] += prev_row[a] * prev_row[b];
                        }
                    }
                }
            }
            std::mem::swap(&mut prev_row, &mut row);
            prev_day = Some(o.day);
        }
        Self {
            p,
            nights: obs.len(),
            first,
            gaps,
        }
    }
}

fn fit_at(s: &Sufficient, contrast: &[f64], rho: f64) -> Option<FitAtRho> {
    let p = s.p;
    let q = p + 1;
    let n = s.nights;
    let one_minus = 1.0 - rho * rho;
    // Whitened cross-products of z = (x, y): [X'X X'y; y'X y'y].
    let mut m = vec![0.0; q * q];
    for a in 0..q {
        for b in 0..q {
            m[a * q + b] = one_minus * s.first[a] * s.first[b];
        }
    }
    let mut log_det_sigma = -one_minus.ln(); // log|Σ_ρ/σ²|
    for g in &s.gaps {
        // A gap beyond i32 (impossible for validated days) behaves as independence anyway.
        let rg = rho.powi(i32::try_from(g.gap).unwrap_or(i32::MAX));
        let v = (1.0 - rg * rg) / one_minus;
        log_det_sigma += g.pairs * v.ln();
        for a in 0..q {
            for b in 0..q {
                let cross = g.tp[a * q + b] + g.tp[b * q + a];
                m[a * q + b] += (g.tt[a * q + b] - rg * cross + rg * rg * g.pp[a * q + b]) / v;
            }
        }
    }
    let mut xtx = vec![0.0; p * p];
    let mut xty = vec![0.0; p];
    for a in 0..p {
        for b in 0..p {
            xtx[a * p + b] = m[a * q + b];
        }
        xty[a] = m[a * q + p];
    }
    let yty = m[p * q + p];
    let l = cholesky(&xtx, p)?;
    let beta = chol_solve(&l, p, &xty);
    let rss = (yty - beta.iter().zip(&xty).map(|(b, v)| b * v).sum::<f64>()).max(1e-300);
    let nu = (n - p) as f64;
    let log_det_xtx: f64 = (0..p).map(|i| 2.0 * l[i * p + i].ln()).sum();
    let cinv = chol_solve(&l, p, contrast);
    let c_var = contrast.iter().zip(&cinv).map(|(a, b)| a * b).sum::<f64>();
    Some(FitAtRho {
        log_post: -0.5 * log_det_sigma - 0.5 * log_det_xtx - 0.5 * nu * rss.ln(),
        location: contrast.iter().zip(&beta).map(|(a, b)| a * b).sum(),
        scale: (rss / nu * c_var).sqrt(),
    })
}

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errors {
    /// Stationary AR(1) on the day grid, ρ integrated out.
    Ar1,
    /// Independent errors (ρ = 0).
    Independent,
}

/// Fits the model and returns the posterior of `contrast' β`. `obs` must be sorted by day with
/// distinct days. With `trend`, a linear day term is added (a sensitivity model).
pub fn contrast_posterior(
    obs: &[Obs],
    arms: usize,
    contrast_arms: (usize, usize),
    errors: Errors,
    trend: bool,
) -> Result<ContrastPosterior, ModelError> {
    let p = arms + usize::from(trend);
    if obs.len() <= p + 1 {
        return Err(ModelError::TooFewNights {
            nights: obs.len(),
            parameters: p,
        });
    }
    let mut contrast = vec![0.0; p];
    contrast[contrast_arms.0] = 1.0;
    contrast[contrast_arms.1] = -1.0;
    let trend = trend.then(|| {
        let (first, last) = (obs[0].day as f64, obs[obs.len() - 1].day as f64);
        ((first + last) / 2.0, ((last - first) / 2.0).max(1.0))
    });
    let nu = (obs.len() - p) as f64;
    let suff = Sufficient::new(obs, arms, trend);
    let mut nodes: Vec<(f64, f64, FitAtRho)> = Vec::new(); // (log weight, rho, fit)
    match errors {
        Errors::Independent => {
            let fit = fit_at(&suff, &contrast, 0.0).ok_or(ModelError::Singular)?;
            nodes.push((0.0, 0.0, fit));
        }
        Errors::Ar1 => {
            let h = 2.0 * U_MAX / NODES as f64;
            for k in 0..NODES {
                let u = -U_MAX + (k as f64 + 0.5) * h;
                let rho = u.tanh();
                // Prior on rho uniform: p(u) ∝ dρ/du = 1 − tanh²(u).
                let jac = (1.0 - rho * rho).ln();
                if let Some(fit) = fit_at(&suff, &contrast, rho) {
                    nodes.push((fit.log_post + jac, rho, fit));
                }
            }
            if nodes.is_empty() {
                return Err(ModelError::Singular);
            }
        }
    }
    let max = nodes.iter().map(|n| n.0).fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = nodes.iter().map(|n| (n.0 - max).exp()).sum();
    let mut components = Vec::with_capacity(nodes.len());
    let mut rho_mean = 0.0;
    for (lw, rho, fit) in nodes {
        let w = (lw - max).exp() / total;
        rho_mean += w * rho;
        // Nodes below 1e-10 of the mass change no reported figure (all are given to 3-4
        // digits) and would only cost CDF evaluations.
        if w > 1e-10 {
            components.push((w, fit.location, fit.scale));
        }
    }
    let kept: f64 = components.iter().map(|c| c.0).sum();
    for c in &mut components {
        c.0 /= kept;
    }
    Ok(ContrastPosterior {
        components,
        nu,
        rho_mean,
    })
}

impl ContrastPosterior {
    fn t(&self) -> StudentsT {
        // nu > 0 is guaranteed by the nights check in `contrast_posterior`.
        StudentsT::new(0.0, 1.0, self.nu).unwrap_or_else(|_| unreachable_t())
    }

    pub fn mean(&self) -> f64 {
        self.components.iter().map(|(w, m, _)| w * m).sum()
    }

    pub fn cdf(&self, x: f64) -> f64 {
        let t = self.t();
        self.components
            .iter()
            .map(|(w, m, s)| w * t.cdf((x - m) / s))
            .sum()
    }

    /// The q-quantile, by bisection on the mixture CDF. It lies between the smallest and the
    /// largest of the components' own q-quantiles, which bracket the search.
    pub fn quantile(&self, q: f64) -> f64 {
        let t = self.t();
        let z = t.inverse_cdf(q);
        let (mut lo, mut hi) = self
            .components
            .iter()
            .map(|(_, m, s)| m + z * s)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(x), b.max(x))
            });
        lo -= 1e-9;
        hi += 1e-9;
        while hi - lo > 1e-7 * (1.0 + lo.abs().max(hi.abs())) {
            let mid = 0.5 * (lo + hi);
            if self.cdf(mid) < q {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }
}

/// Student-t with 1 degree of freedom, the fallback that `StudentsT::new` cannot refuse.
fn unreachable_t() -> StudentsT {
    match StudentsT::new(0.0, 1.0, 1.0) {
        Ok(t) => t,
        Err(_) => unreachable!("Student-t(0, 1, 1) is valid"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(days: &[i64], arms: &[usize], ys: &[f64]) -> Vec<Obs> {
        days.iter()
            .zip(arms)
            .zip(ys)
            .map(|((&day, &arm), &y)| Obs { day, arm, y })
            .collect()
    }

    #[test]
    fn independent_model_is_the_pooled_two_sample_t() {
        // A: 5, 6, 7, 6 (mean 6); B: 3, 4, 2, 3 (mean 3). Pooled SS = (1+0+1+0) + (0+1+1+0) = 4,
        // nu = 6, s² = 4/6, se = sqrt(s² (1/4 + 1/4)) = 0.57735. t(0.975, 6) = 2.446912.
        // 95 % interval for A − B: 3 ± 1.41273 = [1.58727, 4.41273].
        let o = obs(
            &[1, 2, 3, 4, 5, 6, 7, 8],
            &[0, 1, 0, 1, 0, 1, 0, 1],
            &[5.0, 3.0, 6.0, 4.0, 7.0, 2.0, 6.0, 3.0],
        );
        let post = contrast_posterior(&o, 2, (0, 1), Errors::Independent, false).unwrap();
        assert!((post.mean() - 3.0).abs() < 1e-9);
        assert!(
            (post.quantile(0.025) - 1.58727).abs() < 1e-4,
            "{}",
            post.quantile(0.025)
        );
        assert!((post.quantile(0.975) - 4.41273).abs() < 1e-4);
        // P(A − B < 0) = T6(−3 / 0.57735) = T6(−5.196) = 0.00101.
        assert!((post.cdf(0.0) - 0.001017).abs() < 2e-5, "{}", post.cdf(0.0));
    }

    #[test]
    fn huge_gaps_mean_independence_not_a_panic_or_a_wrap() {
        // Three nights of each arm, then the same after a gap. A gap of 2^32 + 1 days must not
        // be read as 1 day (an i32 wrap), and gaps beyond i32 must not panic: at such gaps ρ^gap
        // is 0 for every |ρ| < 1, exactly as at a gap of a million days.
        let with_gap = |gap: i64| {
            obs(
                &[0, 1, 2, 3, 4, 5, 5 + gap, 6 + gap, 7 + gap, 8 + gap],
                &[0, 0, 0, 1, 1, 1, 0, 0, 1, 1],
                &[5.0, 6.0, 5.5, 3.0, 2.5, 4.0, 6.5, 5.0, 3.5, 3.0],
            )
        };
        let post =
            |gap: i64| contrast_posterior(&with_gap(gap), 2, (0, 1), Errors::Ar1, false).unwrap();
        let million = post(1_000_000);
        for gap in [1i64 << 31, (1i64 << 32) + 1, i64::MAX - 20] {
            let p = post(gap);
            assert!((p.mean() - million.mean()).abs() < 1e-9, "gap {gap}");
            assert!(
                (p.quantile(0.975) - million.quantile(0.975)).abs() < 1e-6,
                "gap {gap}"
            );
        }
        // The trend model scales days to the span; it must not panic either.
        assert!(contrast_posterior(&with_gap(i64::MAX - 20), 2, (0, 1), Errors::Ar1, true).is_ok());
        // A gap of 1 is a different model: the two halves are correlated.
        assert!((post(1).quantile(0.975) - million.quantile(0.975)).abs() > 1e-4);
    }

    /// log p(ρ | y) by brute force from the full n × n covariance (independent of the
    /// whitening): −½ log|R| − ½ log|X'R⁻¹X| − (ν/2) log(y'R⁻¹y − b'X'R⁻¹y).
    fn brute_log_post(o: &[Obs], arms: usize, rho: f64) -> f64 {
        let n = o.len();
        let mut r = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                r[i * n + j] = rho.powi((o[i].day - o[j].day).abs() as i32) / (1.0 - rho * rho);
            }
        }
        // Gauss-Jordan inverse and log-determinant.
        let mut a = r.clone();
        let mut inv = vec![0.0; n * n];
        for i in 0..n {
            inv[i * n + i] = 1.0;
        }
        let mut logdet = 0.0;
        for c in 0..n {
            let piv = a[c * n + c];
            logdet += piv.ln();
            for k in 0..n {
                a[c * n + k] /= piv;
                inv[c * n + k] /= piv;
            }
            for rr in 0..n {
                if rr != c {
                    let f = a[rr * n + c];
                    for k in 0..n {
                        a[rr * n + k] -= f * a[c * n + k];
                        inv[rr * n + k] -= f * inv[c * n + k];
                    }
                }
            }
        }
        let x = |i: usize, a: usize| if o[i].arm == a { 1.0 } else { 0.0 };
        let mut xtx = vec![0.0; arms * arms];
        let mut xty = vec![0.0; arms];
        let mut yty = 0.0;
        for i in 0..n {
            for j in 0..n {
                let w = inv[i * n + j];
                yty += o[i].y * w * o[j].y;
                for a1 in 0..arms {
                    xty[a1] += x(i, a1) * w * o[j].y;
                    for a2 in 0..arms {
                        xtx[a1 * arms + a2] += x(i, a1) * w * x(j, a2);
                    }
                }
            }
        }
        let l = cholesky(&xtx, arms).unwrap();
        let b = chol_solve(&l, arms, &xty);
        let rss = yty - b.iter().zip(&xty).map(|(p, q)| p * q).sum::<f64>();
        let logdet_xtx: f64 = (0..arms).map(|i| 2.0 * l[i * arms + i].ln()).sum();
        -0.5 * logdet - 0.5 * logdet_xtx - 0.5 * (n - arms) as f64 * rss.ln()
    }

    #[test]
    fn whitening_with_gaps_equals_the_full_covariance_likelihood() {
        // Days with gaps (a missing night 4, run-in 7-8 absent).
        let o = obs(
            &[1, 2, 3, 5, 6, 9, 10, 11, 12, 14],
            &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
            &[5.0, 6.0, 5.5, 7.0, 6.5, 3.0, 2.5, 4.0, 3.5, 3.0],
        );
        let suff = Sufficient::new(&o, 2, None);
        for rho in [-0.5, 0.0, 0.3, 0.8] {
            let fast = fit_at(&suff, &[1.0, -1.0], rho).unwrap().log_post;
            let slow = brute_log_post(&o, 2, rho);
            // Equal up to the ρ-independent constant: compare differences against ρ = 0.
            let fast0 = fit_at(&suff, &[1.0, -1.0], 0.0).unwrap().log_post;
            let slow0 = brute_log_post(&o, 2, 0.0);
            assert!(
                ((fast - fast0) - (slow - slow0)).abs() < 1e-9,
                "rho {rho}: {fast} {slow}"
            );
        }
    }
}
