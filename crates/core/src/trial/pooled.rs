//! Pooled analysis of many n-of-1 series: linear mixed models fitted by REML on per-participant
//! sufficient statistics (METHODS.md §4).
//!
//! Each participant i has nights y_i = X_i β + Z_i b_i + ε_i, X_i = [1, treatment], with
//! b_i ~ N(0, σ² ΛΛ'), ε_i ~ N(0, σ² I). Two models:
//!
//! * **random intercept**: Z_i = [1], Λ = [θ₁];
//! * **random intercept and treatment slope, correlated**: Z_i = X_i, Λ = [[θ₁, 0], [θ₂, θ₃]]
//!   (lower-triangular, θ₁, θ₃ ≥ 0: lme4's parametrisation).
//!
//! Both are computed by one code path: Z_i = X_i and Λ = [[θ₁, 0], [θ₂, θ₃]] with θ₂ = θ₃ = 0
//! held fixed for the random intercept (a zero row and column of Λ removes the slope exactly).
//!
//! Because X_i spans the two arm indicators, the data enter only through, per participant and
//! arm, the number of nights, their mean and their sum of squared deviations from the mean
//! ([`ArmStats`], accumulated one night at a time with Welford's update): X_i'X_i, X_i'y_i and
//! y_i'y_i follow from them. An evaluation of the REML criterion is O(participants) with 2 × 2
//! algebra (Woodbury: M_i = Λ'X_i'X_iΛ + I), whatever the number of nights.
//!
//! The criterion is minimised over θ by a projected Newton method with an analytic gradient
//! (below, [`fit`]); the returned fit states the gradient tolerance it reached.

use super::data::DataError;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------
// Numerical-method settings (not clinical rules: they decide how precisely the REML optimum is
// found, not what is concluded).

/// Convergence: the largest component of the projected gradient of the REML deviance
/// (−2 log-likelihood) with respect to θ. The deviance is dimensionless and θ is the ratio of a
/// between-person SD to the residual SD, so an absolute tolerance is meaningful; at 1e-6 the
/// deviance is within ~1e-12 of its minimum near a regular optimum (Newton converges
/// quadratically), far below the 1e-4 relative agreement asked of the estimates.
pub const GRADIENT_TOLERANCE: f64 = 1e-6;

/// Newton iterations before giving up (a regular fit takes 5–15).
const MAX_ITERATIONS: usize = 200;

/// A diagonal element of Λ at or below this is a boundary (singular) fit. The same tolerance as
/// lme4's `isSingular(tol = 1e-4)`, so the two flag the same fits.
pub const SINGULAR_TOLERANCE: f64 = 1e-4;

/// The two-sided level of every interval.
pub const CI_LEVEL: f64 = 0.95;

/// The most participants one analysis accepts (memory is O(participants): about 200 bytes
/// each, so 2,000,000 is ~400 MB at most).
pub const MAX_PARTICIPANTS: usize = 2_000_000;

/// The most conditions a file may name.
pub const MAX_CONDITIONS: usize = 50;

/// The fewest participants a pooled fit accepts: a between-person variance cannot be estimated
/// from one person (lme4 refuses a grouping factor with fewer than two levels).
pub const MIN_PARTICIPANTS: usize = 2;

/// The longest participant id or condition label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

// ---------------------------------------------------------------------------------------------
// Sufficient statistics

/// The nights of one arm of one participant: count, mean, and sum of squared deviations from
/// the mean (Welford's update; merging two with Chan et al.'s formula).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ArmStats {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl ArmStats {
    /// Adds one night.
    pub fn push(&mut self, y: f64) {
        self.n += 1;
        let delta = y - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (y - self.mean);
    }

    /// From moments computed elsewhere (e.g. `count`, `avg`, `var_samp × (count − 1)` of a
    /// database `GROUP BY`).
    pub fn from_moments(n: u64, mean: f64, m2: f64) -> Self {
        Self { n, mean, m2 }
    }

    /// The statistics of both sets of nights together.
    pub fn merge(self, other: Self) -> Self {
        if self.n == 0 {
            return other;
        }
        if other.n == 0 {
            return self;
        }
        let n = self.n + other.n;
        let (na, nb, nn) = (self.n as f64, other.n as f64, n as f64);
        let delta = other.mean - self.mean;
        Self {
            n,
            mean: self.mean + delta * nb / nn,
            m2: self.m2 + other.m2 + delta * delta * na * nb / nn,
        }
    }
}

/// One participant's sufficient statistics: control and treatment nights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonStats {
    pub id: String,
    pub control: ArmStats,
    pub treatment: ArmStats,
}

impl PersonStats {
    pub fn nights(&self) -> u64 {
        self.control.n + self.treatment.n
    }
}

/// The participants of a file, ready to fit, and what was left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesData {
    pub control: String,
    pub treatment: String,
    pub people: Vec<PersonStats>,
    /// Rows with an empty outcome (missing nights).
    pub missing_nights: u64,
    /// Rows of a condition that is neither the control nor the treatment.
    pub other_condition_nights: u64,
}

/// What is kept of one participant while a file is read.
#[derive(Debug, Clone)]
struct PersonAcc {
    id: String,
    last_day: i64,
    last_line: u64,
    /// (condition index, its nights), a handful at most.
    arms: Vec<(usize, ArmStats)>,
}

/// Reads a series file row by row (`participant,day,condition,outcome`) into per-participant
/// statistics: memory grows with participants and conditions, never with rows.
#[derive(Debug, Clone, Default)]
pub struct SeriesAccumulator {
    conditions: Vec<String>,
    people: Vec<PersonAcc>,
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    missing: u64,
    /// The participant of the previous row.
    last: usize,
}

fn line_err(line: u64, message: impl Into<String>) -> DataError {
    DataError::Line {
        line,
        message: message.into(),
    }
}

fn check_label(field: &str, text: &str, line: u64) -> Result<(), DataError> {
    if text.is_empty() {
        return Err(line_err(line, format!("{field} is empty")));
    }
    crate::text::check_text(text, MAX_LABEL_CHARS, false)
        .map_err(|e| line_err(line, format!("{field} {e}")))
}

impl SeriesAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one row (fields as text, trimmed by the caller; `line` is the file's line). Days are
    /// whole numbers in [`super::data::CSV_DAYS`], strictly increasing within each participant
    /// (the file may be grouped by participant or by day); an empty outcome is a missing night.
    pub fn push(
        &mut self,
        line: u64,
        participant: &str,
        day: &str,
        condition: &str,
        outcome: &str,
    ) -> Result<(), DataError> {
        // Labels are checked when first seen: a later row that equals one is equally valid.
        let day = super::data::parse_day(day, line)?;
        let outcome = match outcome {
            "" => None,
            s => Some(
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        line_err(
                            line,
                            format!(
                                "outcome '{}' is not a number (leave it empty for a missing night)",
                                crate::text::escape_controls(s)
                            ),
                        )
                    })?,
            ),
        };
        let cond = match self.conditions.iter().position(|c| c == condition) {
            Some(c) => c,
            None => {
                check_label("condition", condition, line)?;
                if self.conditions.len() == MAX_CONDITIONS {
                    return Err(line_err(
                        line,
                        format!("condition '{condition}' is one too many: allowed at most {MAX_CONDITIONS} conditions"),
                    ));
                }
                self.conditions.push(condition.to_string());
                self.conditions.len() - 1
            }
        };
        // Rows usually come grouped by participant: compare with the last one before hashing.
        let known = match self.people.get(self.last) {
            Some(acc) if acc.id == participant => Some(self.last),
            _ => self.index.get(participant).copied(),
        };
        let person = match known {
            Some(p) => {
                let acc = &mut self.people[p];
                if day <= acc.last_day {
                    return Err(line_err(
                        line,
                        format!(
                            "participant '{participant}': day {day} is not after day {} (line {}): days must increase within each participant, without repeats",
                            acc.last_day, acc.last_line
                        ),
                    ));
                }
                acc.last_day = day;
                acc.last_line = line;
                p
            }
            None => {
                check_label("participant", participant, line)?;
                if self.people.len() == MAX_PARTICIPANTS {
                    return Err(line_err(
                        line,
                        format!("participant '{participant}' is one too many: allowed at most {MAX_PARTICIPANTS} participants"),
                    ));
                }
                self.index
                    .insert(participant.to_string(), self.people.len());
                self.people.push(PersonAcc {
                    id: participant.to_string(),
                    last_day: day,
                    last_line: line,
                    arms: Vec::new(),
                });
                self.people.len() - 1
            }
        };
        self.last = person;
        let Some(y) = outcome else {
            self.missing += 1;
            return Ok(());
        };
        let arms = &mut self.people[person].arms;
        match arms.iter_mut().find(|(c, _)| *c == cond) {
            Some((_, s)) => s.push(y),
            None => {
                let mut s = ArmStats::default();
                s.push(y);
                arms.push((cond, s));
            }
        }
        Ok(())
    }

    /// The conditions seen so far, in order of first appearance.
    pub fn conditions(&self) -> &[String] {
        &self.conditions
    }

    /// The participants' statistics for `control` against `treatment` (default: the one other
    /// condition). Participants keep their order of first appearance.
    pub fn finish(self, control: &str, treatment: Option<&str>) -> Result<SeriesData, DataError> {
        if self.people.is_empty() {
            return Err(DataError::Whole("the file has no nights".into()));
        }
        let found = || self.conditions.join(", ");
        let Some(ci) = self.conditions.iter().position(|c| c == control) else {
            return Err(DataError::Whole(format!(
                "--control '{control}' is not a condition in the file: found {}",
                found()
            )));
        };
        let ti = match treatment {
            Some(t) => self.conditions.iter().position(|c| c == t).ok_or_else(|| {
                DataError::Whole(format!(
                    "--treatment '{t}' is not a condition in the file: found {}",
                    found()
                ))
            })?,
            None => {
                let others: Vec<usize> = (0..self.conditions.len()).filter(|&c| c != ci).collect();
                match others.as_slice() {
                    [t] => *t,
                    [] => {
                        return Err(DataError::Whole(format!(
                            "only one condition ('{control}'): a comparison needs two"
                        )))
                    }
                    _ => {
                        return Err(DataError::Whole(format!(
                        "more than two conditions ({}): name the one to compare with --treatment",
                        found()
                    )))
                    }
                }
            }
        };
        if ti == ci {
            return Err(DataError::Whole(format!(
                "--treatment and --control are the same condition ('{control}'): compare two different conditions"
            )));
        }
        let mut other = 0;
        let people = self
            .people
            .into_iter()
            .map(|p| {
                let mut s = PersonStats {
                    id: p.id,
                    control: ArmStats::default(),
                    treatment: ArmStats::default(),
                };
                for (c, a) in p.arms {
                    if c == ci {
                        s.control = a;
                    } else if c == ti {
                        s.treatment = a;
                    } else {
                        other += a.n;
                    }
                }
                s
            })
            .filter(|s| s.nights() > 0)
            .collect();
        Ok(SeriesData {
            control: self.conditions[ci].clone(),
            treatment: self.conditions[ti].clone(),
            people,
            missing_nights: self.missing,
            other_condition_nights: other,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// 2 × 2 algebra (hand-written: the whole method is a sum of 2 × 2 blocks, for which a general
// linear-algebra crate would add allocation and indirection without saving any code).

type M2 = [[f64; 2]; 2];
type V2 = [f64; 2];

fn mul(a: &M2, b: &M2) -> M2 {
    [
        [
            a[0][0] * b[0][0] + a[0][1] * b[1][0],
            a[0][0] * b[0][1] + a[0][1] * b[1][1],
        ],
        [
            a[1][0] * b[0][0] + a[1][1] * b[1][0],
            a[1][0] * b[0][1] + a[1][1] * b[1][1],
        ],
    ]
}

fn tr(a: &M2) -> M2 {
    [[a[0][0], a[1][0]], [a[0][1], a[1][1]]]
}

fn add(a: &M2, b: &M2) -> M2 {
    [
        [a[0][0] + b[0][0], a[0][1] + b[0][1]],
        [a[1][0] + b[1][0], a[1][1] + b[1][1]],
    ]
}

fn sub(a: &M2, b: &M2) -> M2 {
    [
        [a[0][0] - b[0][0], a[0][1] - b[0][1]],
        [a[1][0] - b[1][0], a[1][1] - b[1][1]],
    ]
}

fn mv(a: &M2, v: &V2) -> V2 {
    [
        a[0][0] * v[0] + a[0][1] * v[1],
        a[1][0] * v[0] + a[1][1] * v[1],
    ]
}

fn dot(a: &V2, b: &V2) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

fn det(a: &M2) -> f64 {
    a[0][0] * a[1][1] - a[0][1] * a[1][0]
}

fn inv(a: &M2) -> Option<M2> {
    let d = det(a);
    (d.is_finite() && d != 0.0).then(|| [[a[1][1] / d, -a[0][1] / d], [-a[1][0] / d, a[0][0] / d]])
}

/// tr(AB).
fn trace_mul(a: &M2, b: &M2) -> f64 {
    a[0][0] * b[0][0] + a[0][1] * b[1][0] + a[1][0] * b[0][1] + a[1][1] * b[1][1]
}

/// v' A v.
fn quad(a: &M2, v: &V2) -> f64 {
    dot(v, &mv(a, v))
}

fn lambda(t: &[f64; 3]) -> M2 {
    [[t[0], 0.0], [t[1], t[2]]]
}

/// ∂Λ/∂θ_k.
fn lambda_k(k: usize) -> M2 {
    let mut e = [[0.0; 2]; 2];
    match k {
        0 => e[0][0] = 1.0,
        1 => e[1][0] = 1.0,
        _ => e[1][1] = 1.0,
    }
    e
}

// ---------------------------------------------------------------------------------------------
// The REML criterion

/// One participant in the form the criterion uses: D = X'X, c = X'y, yy = y'y (outcomes shifted
/// by the grand mean, which the intercept absorbs, to keep the sums small).
#[derive(Debug, Clone, Copy)]
struct Suff {
    d: M2,
    c: V2,
    yy: f64,
}

impl Suff {
    fn of(p: &PersonStats, shift: f64) -> Self {
        let (n0, n1) = (p.control.n as f64, p.treatment.n as f64);
        let (m0, m1) = (p.control.mean - shift, p.treatment.mean - shift);
        let (m0, m1) = (
            if p.control.n > 0 { m0 } else { 0.0 },
            if p.treatment.n > 0 { m1 } else { 0.0 },
        );
        Self {
            d: [[n0 + n1, n1], [n1, n1]],
            c: [n0 * m0 + n1 * m1, n1 * m1],
            yy: p.control.m2 + p.treatment.m2 + n0 * m0 * m0 + n1 * m1 * m1,
        }
    }
}

/// The criterion and what it is made of, at one θ.
#[derive(Debug, Clone, Copy)]
struct Eval {
    /// −2 × REML log-likelihood.
    deviance: f64,
    /// Σ (X'X − X'Z L Z'X), L = Λ M⁻¹ Λ'.
    a_inv: M2,
    beta: V2,
    r2: f64,
}

/// Fixed-effect columns (p) of X = [1, treatment].
const P: f64 = 2.0;

fn per_person(s: &Suff, lam: &M2) -> (M2, M2, f64) {
    let m = add(&mul(&mul(&tr(lam), &s.d), lam), &[[1.0, 0.0], [0.0, 1.0]]);
    // M is symmetric positive definite (Λ'DΛ is positive semi-definite), so it is invertible.
    let m_inv = inv(&m).unwrap_or([[1.0, 0.0], [0.0, 1.0]]);
    let l = mul(&mul(lam, &m_inv), &tr(lam));
    (m_inv, l, det(&m).ln())
}

fn evaluate(people: &[Suff], nobs: f64, theta: &[f64; 3]) -> Option<Eval> {
    let lam = lambda(theta);
    let mut a = [[0.0; 2]; 2];
    let mut b = [0.0; 2];
    let mut q = 0.0;
    let mut logdet = 0.0;
    for s in people {
        let (_, l, ld) = per_person(s, &lam);
        let dl = mul(&s.d, &l);
        a = add(&a, &sub(&s.d, &mul(&dl, &s.d)));
        let dlc = mv(&dl, &s.c);
        b = [b[0] + s.c[0] - dlc[0], b[1] + s.c[1] - dlc[1]];
        q += s.yy - quad(&l, &s.c);
        logdet += ld;
    }
    let a_inv = inv(&a)?;
    let beta = mv(&a_inv, &b);
    let r2 = q - dot(&beta, &b);
    let dfree = nobs - P;
    if !(r2 > 0.0 && det(&a) > 0.0) {
        return None;
    }
    let deviance =
        logdet + det(&a).ln() + dfree * (1.0 + (2.0 * std::f64::consts::PI * r2 / dfree).ln());
    deviance.is_finite().then_some(Eval {
        deviance,
        a_inv,
        beta,
        r2,
    })
}

/// The analytic gradient of the deviance with respect to θ (components not in `free` are 0):
///
/// ∂d/∂θ_k = Σ_i [ tr(M_i⁻¹ ∂M_i) − tr(∂L_i · D_i A⁻¹ D_i) − (N − p)/r² · u_i' ∂L_i u_i ],
///
/// with ∂M_i = Λ_k' D_i Λ + Λ' D_i Λ_k, ∂L_i = Λ_k M_i⁻¹ Λ' + Λ M_i⁻¹ Λ_k' − Λ M_i⁻¹ ∂M_i M_i⁻¹ Λ',
/// u_i = X_i'(y_i − X_i β̂) and Λ_k = ∂Λ/∂θ_k. (From ∂log|M| = tr(M⁻¹∂M), ∂A = −Σ D ∂L D,
/// ∂log|A| = tr(A⁻¹∂A), and ∂r² = −Σ u'∂L u because ∂r²/∂β̂ = 0 at β̂ = A⁻¹b.)
fn gradient(people: &[Suff], nobs: f64, theta: &[f64; 3], ev: &Eval, free: &[bool; 3]) -> [f64; 3] {
    let lam = lambda(theta);
    let scale = (nobs - P) / ev.r2;
    let mut g = [0.0; 3];
    let lks: [M2; 3] = [lambda_k(0), lambda_k(1), lambda_k(2)];
    for s in people {
        let (m_inv, _, _) = per_person(s, &lam);
        let u = {
            let db = mv(&s.d, &ev.beta);
            [s.c[0] - db[0], s.c[1] - db[1]]
        };
        let gmat = mul(&mul(&s.d, &ev.a_inv), &s.d);
        let dlam = mul(&s.d, &lam);
        for k in 0..3 {
            if !free[k] {
                continue;
            }
            let lk = &lks[k];
            let lkt_dl = mul(&tr(lk), &dlam);
            let dm = add(&lkt_dl, &tr(&lkt_dl));
            let a1 = mul(&mul(lk, &m_inv), &tr(&lam));
            let mdm = mul(&mul(&m_inv, &dm), &m_inv);
            let dl = sub(&add(&a1, &tr(&a1)), &mul(&mul(&lam, &mdm), &tr(&lam)));
            g[k] += trace_mul(&m_inv, &dm) - trace_mul(&dl, &gmat) - scale * quad(&dl, &u);
        }
    }
    g
}

/// How the optimiser ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Convergence {
    pub converged: bool,
    pub iterations: usize,
    /// The largest component of the gradient of −2 log-likelihood with respect to θ at the
    /// optimum.
    pub gradient_norm: f64,
    /// The tolerance it had to reach ([`GRADIENT_TOLERANCE`]).
    pub gradient_tolerance: f64,
}

fn masked(g: &[f64; 3], free: &[bool; 3]) -> [f64; 3] {
    let mut out = [0.0; 3];
    for k in 0..3 {
        if free[k] {
            out[k] = g[k];
        }
    }
    out
}

fn norm_inf(v: &[f64; 3]) -> f64 {
    v.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
}

/// Solves the small symmetric system H x = r (dimension ≤ 3) by Gaussian elimination with
/// partial pivoting; `None` if singular.
fn solve(mut h: Vec<Vec<f64>>, mut r: Vec<f64>) -> Option<Vec<f64>> {
    let n = r.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&a, &b| h[a][col].abs().total_cmp(&h[b][col].abs()))?;
        if h[piv][col].abs() < 1e-300 {
            return None;
        }
        h.swap(col, piv);
        r.swap(col, piv);
        for row in col + 1..n {
            let f = h[row][col] / h[col][col];
            let pivot_row = h[col].clone();
            for (x, p) in h[row].iter_mut().zip(&pivot_row).skip(col) {
                *x -= f * p;
            }
            r[row] -= f * r[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|c| h[row][c] * x[c]).sum();
        x[row] = (r[row] - s) / h[row][row];
    }
    Some(x)
}

/// Minimises the REML deviance over the free components of θ.
///
/// The criterion depends on Λ only through ΛΛ' (log|Λ'DΛ + I| = log|DΛΛ' + I| and
/// Λ(Λ'DΛ + I)⁻¹Λ' = ΛΛ'(DΛΛ' + I)⁻¹), and ΛΛ' is unchanged when a column of Λ changes sign. So
/// the bounds θ₁, θ₃ ≥ 0 of lme4's parametrisation can be dropped: the minimum over all of ℝ³
/// is the minimum over the bounded region after flipping signs (done at the end), and a
/// boundary θ₃ = 0 is an ordinary stationary point (the criterion is even in θ₃) that Newton's
/// method reaches quadratically when it is the minimum. (A projected method that lands on
/// θ₃ = 0 stalls there even when it is a saddle, since the gradient vanishes by the same
/// symmetry.)
///
/// Newton's method: the Hessian by central differences of the analytic gradient (three
/// parameters at most: six extra O(participants) sums), damped Levenberg–Marquardt style until
/// the step is a descent direction, and an Armijo backtracking line search. The stopping rule
/// uses only the analytic gradient, so the finite-difference Hessian affects the speed, never
/// the optimum reached. Hand-written rather than a crate (argmin): the problem has at most three
/// unknowns, and the symmetry argument above is specific to it.
fn optimise(
    people: &[Suff],
    nobs: f64,
    start: [f64; 3],
    free: [bool; 3],
) -> Option<([f64; 3], Eval, Convergence)> {
    let mut theta = start;
    let mut ev = evaluate(people, nobs, &theta)?;
    let mut g = masked(&gradient(people, nobs, &theta, &ev, &free), &free);
    let mut iterations = 0;
    let moving: Vec<usize> = (0..3).filter(|&k| free[k]).collect();
    let n = moving.len();
    let finish = |theta: [f64; 3], ev: Eval, g: &[f64; 3], iterations: usize| {
        let gradient_norm = norm_inf(g);
        // The canonical signs: θ₁ ≥ 0 (with θ₂, the first column), θ₃ ≥ 0.
        let mut t = theta;
        if t[0] < 0.0 {
            t[0] = -t[0];
            t[1] = -t[1];
        }
        t[2] = t[2].abs();
        (
            t,
            ev,
            Convergence {
                converged: gradient_norm <= GRADIENT_TOLERANCE,
                iterations,
                gradient_norm,
                gradient_tolerance: GRADIENT_TOLERANCE,
            },
        )
    };
    loop {
        if norm_inf(&g) <= GRADIENT_TOLERANCE || iterations >= MAX_ITERATIONS {
            return Some(finish(theta, ev, &g, iterations));
        }
        iterations += 1;
        let mut h = vec![vec![0.0; n]; n];
        for (j, &k) in moving.iter().enumerate() {
            let step = 1e-5 * theta[k].abs().max(0.1);
            let grad_at = |t: [f64; 3]| {
                evaluate(people, nobs, &t).map(|e| gradient(people, nobs, &t, &e, &free))
            };
            let (mut up, mut down) = (theta, theta);
            up[k] += step;
            down[k] -= step;
            if let (Some(gu), Some(gd)) = (grad_at(up), grad_at(down)) {
                for (i, &ki) in moving.iter().enumerate() {
                    h[i][j] = (gu[ki] - gd[ki]) / (2.0 * step);
                }
            }
        }
        #[allow(clippy::needless_range_loop)] // symmetrising: both triangles at once
        for i in 0..n {
            for j in 0..i {
                let m = 0.5 * (h[i][j] + h[j][i]);
                h[i][j] = m;
                h[j][i] = m;
            }
        }
        let rhs: Vec<f64> = moving.iter().map(|&k| -g[k]).collect();
        let scale = (0..n).map(|i| h[i][i].abs()).fold(1e-8, f64::max);
        let mut damping = 0.0;
        let mut dir = [0.0; 3];
        for _ in 0..60 {
            let mut hd = h.clone();
            for (i, row) in hd.iter_mut().enumerate() {
                row[i] += damping;
            }
            // A descent direction from a positive-definite (damped) Hessian: Cholesky would
            // tell definiteness directly; with n ≤ 3 checking the solution's descent suffices
            // together with positive pivots (all diagonal entries after damping).
            let pd = (0..n).all(|i| hd[i][i] > 0.0) && leading_minors_positive(&hd);
            if pd {
                if let Some(x) = solve(hd, rhs.clone()) {
                    if x.iter().all(|v| v.is_finite()) {
                        for (i, &k) in moving.iter().enumerate() {
                            dir[k] = x[i];
                        }
                        break;
                    }
                }
            }
            damping = if damping == 0.0 {
                1e-6 * scale
            } else {
                damping * 10.0
            };
        }
        if dir == [0.0; 3] {
            dir = [-g[0], -g[1], -g[2]];
        }
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let t = [
                theta[0] + alpha * dir[0],
                theta[1] + alpha * dir[1],
                theta[2] + alpha * dir[2],
            ];
            if t == theta {
                break;
            }
            if let Some(e) = evaluate(people, nobs, &t) {
                let slope: f64 = (0..3).map(|k| g[k] * dir[k]).sum();
                if e.deviance < ev.deviance + 1e-4 * alpha * slope {
                    accepted = Some((t, e));
                    break;
                }
                // Next to the optimum the decrease a step makes can be below the rounding of
                // the deviance (about 1e-16 of it): there, accept the step when it reduces the
                // analytic gradient instead.
                let rounding = 64.0 * f64::EPSILON * ev.deviance.abs().max(1.0);
                if (e.deviance - ev.deviance).abs() <= rounding {
                    let gt = masked(&gradient(people, nobs, &t, &e, &free), &free);
                    if norm_inf(&gt) < norm_inf(&g) {
                        accepted = Some((t, e));
                        break;
                    }
                }
            }
            alpha *= 0.5;
        }
        let Some((t, e)) = accepted else {
            // No decrease at floating-point precision: the optimum as far as it can be found.
            return Some(finish(theta, ev, &g, iterations));
        };
        theta = t;
        ev = e;
        g = masked(&gradient(people, nobs, &theta, &ev, &free), &free);
    }
}

/// Sylvester's criterion for a symmetric matrix of dimension ≤ 3.
fn leading_minors_positive(h: &[Vec<f64>]) -> bool {
    let n = h.len();
    if n >= 1 && h[0][0] <= 0.0 {
        return false;
    }
    if n >= 2 && h[0][0] * h[1][1] - h[0][1] * h[1][0] <= 0.0 {
        return false;
    }
    if n == 3 {
        let d = h[0][0] * (h[1][1] * h[2][2] - h[1][2] * h[2][1])
            - h[0][1] * (h[1][0] * h[2][2] - h[1][2] * h[2][0])
            + h[0][2] * (h[1][0] * h[2][1] - h[1][1] * h[2][0]);
        if d <= 0.0 {
            return false;
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Results

/// What the analysis is asked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PooledSpec {
    pub higher_is_better: bool,
    /// Minimal clinically important difference (> 0), in the outcome's units.
    pub mcid: f64,
}

/// The random-intercept model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InterceptFit {
    /// Population effect: treatment minus control.
    pub effect: f64,
    pub se: f64,
    pub ci95: [f64; 2],
    /// P(the population effect is at least the MCID in the better direction).
    pub p_mcid: f64,
    pub tau2_intercept: f64,
    pub sigma2: f64,
    /// REML log-likelihood (the scale of lme4's `logLik` and statsmodels' `llf`).
    pub loglik: f64,
    pub theta: [f64; 1],
    pub singular: bool,
    pub convergence: Convergence,
}

/// The random intercept and treatment slope model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlopeFit {
    pub effect: f64,
    pub se: f64,
    pub ci95: [f64; 2],
    pub p_mcid: f64,
    pub tau2_intercept: f64,
    pub tau2_slope: f64,
    pub cov_intercept_slope: f64,
    /// The correlation, when both variances are positive.
    pub corr_intercept_slope: Option<f64>,
    pub sigma2: f64,
    pub loglik: f64,
    /// Λ's θ₁, θ₂, θ₃ (lme4's `getME(fit, "theta")`).
    pub theta: [f64; 3],
    /// A variance or the correlation at the boundary of its range.
    pub singular: bool,
    /// What the boundary means, in plain words (absent when not singular).
    pub singular_meaning: Option<String>,
    /// P(a new person's true effect is at least the MCID in the better direction): the share of
    /// people the model expects to benefit that much, N(effect, tau2_slope).
    pub share_mcid: f64,
    pub convergence: Convergence,
}

/// An estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    pub effect: f64,
    pub se: f64,
    pub ci95: [f64; 2],
}

/// One participant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonResult {
    pub id: String,
    pub nights: u64,
    pub nights_control: u64,
    pub nights_treatment: u64,
    /// Shrunken effect from the random-slope model: population effect + the person's slope
    /// BLUP.
    pub effect: f64,
    /// Its prediction standard error (Henderson's mixed-model equations at θ̂: includes the
    /// uncertainty of the population effect).
    pub se: f64,
    pub ci95: [f64; 2],
    /// lme4's conditional variance of the slope BLUP (`ranef(fit, condVar = TRUE)`), which
    /// leaves out the uncertainty of the population effect.
    pub cond_var_slope: f64,
    /// P(the person's true effect is at least the MCID in the better direction), from
    /// N(effect, se²).
    pub p_mcid: f64,
    /// The person's own trial alone (difference of arm means, pooled within-arm SD, t interval
    /// with nights − 2 df); absent without nights in both arms and a spread to estimate.
    pub own: Option<Estimate>,
}

/// The whole pooled analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PooledAnalysis {
    pub control: String,
    pub treatment: String,
    pub higher_is_better: bool,
    pub mcid: f64,
    pub n_participants: usize,
    pub n_nights: u64,
    pub missing_nights: u64,
    pub other_condition_nights: u64,
    pub models: PooledModels,
    pub participants: Vec<PersonResult>,
    /// How intervals and probabilities are computed, in words.
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PooledModels {
    pub random_intercept: InterceptFit,
    pub random_slope: SlopeFit,
}

/// Why the data cannot be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PooledError {
    #[error("cannot be analysed: {0}")]
    Data(String),
    #[error("the REML fit failed: {0}")]
    Fit(String),
}

/// The text of [`PooledAnalysis::method`].
pub const METHOD: &str = "Linear mixed models fitted by REML on per-participant sufficient statistics. Population intervals are Wald intervals with the normal quantile (as lme4's confint(method = \"Wald\") and statsmodels' MixedLM summary); they ignore the uncertainty of the variance components, so with few participants (under about 20) they are too narrow. A person's interval is the prediction interval of their effect at the REML variance components (Henderson's mixed-model equations, including the uncertainty of the population effect). P(effect >= MCID) is read from the same normal approximations (a flat prior on the population effect, the variance components fixed at their estimates). Nights are treated as independent given the person and arm (no autocorrelation).";

fn z_quantile() -> f64 {
    Normal::standard().inverse_cdf(0.5 + CI_LEVEL / 2.0)
}

/// P(true effect is at least `mcid` in the better direction) for N(mean, sd²).
fn p_beyond(mean: f64, sd: f64, spec: &PooledSpec) -> f64 {
    if sd.is_nan() || sd <= 0.0 {
        let hit = if spec.higher_is_better {
            mean >= spec.mcid
        } else {
            mean <= -spec.mcid
        };
        return if hit { 1.0 } else { 0.0 };
    }
    let n = Normal::standard();
    if spec.higher_is_better {
        1.0 - n.cdf((spec.mcid - mean) / sd)
    } else {
        n.cdf((-spec.mcid - mean) / sd)
    }
}

fn interval(mean: f64, se: f64, q: f64) -> [f64; 2] {
    [mean - q * se, mean + q * se]
}

/// A participant's own trial: difference of arm means with the pooled within-arm variance.
fn own_estimate(p: &PersonStats) -> Option<Estimate> {
    let (n0, n1) = (p.control.n, p.treatment.n);
    let n = n0 + n1;
    if n0 == 0 || n1 == 0 || n < 3 {
        return None;
    }
    let df = (n - 2) as f64;
    let s2 = (p.control.m2 + p.treatment.m2) / df;
    if s2.is_nan() || s2 <= 0.0 {
        return None;
    }
    let se = (s2 * (1.0 / n0 as f64 + 1.0 / n1 as f64)).sqrt();
    let t = StudentsT::new(0.0, 1.0, df)
        .ok()?
        .inverse_cdf(0.5 + CI_LEVEL / 2.0);
    let effect = p.treatment.mean - p.control.mean;
    Some(Estimate {
        effect,
        se,
        ci95: interval(effect, se, t),
    })
}

/// Fits both models to the participants' statistics (from a file through
/// [`SeriesAccumulator`], or from a database's `GROUP BY participant`).
pub fn fit(data: &SeriesData, spec: &PooledSpec) -> Result<PooledAnalysis, PooledError> {
    let people = &data.people;
    if !(spec.mcid.is_finite() && spec.mcid > 0.0) {
        return Err(PooledError::Data("the MCID must be more than 0".into()));
    }
    let m = people.len();
    let nobs: u64 = people.iter().map(PersonStats::nights).sum();
    let n_control: u64 = people.iter().map(|p| p.control.n).sum();
    let n_treat: u64 = people.iter().map(|p| p.treatment.n).sum();
    if m < MIN_PARTICIPANTS {
        return Err(PooledError::Data(format!(
            "{m} participant with nights: a pooled analysis needs at least {MIN_PARTICIPANTS}"
        )));
    }
    if n_control == 0 || n_treat == 0 {
        return Err(PooledError::Data(format!(
            "no nights of '{}': both conditions need nights",
            if n_control == 0 {
                &data.control
            } else {
                &data.treatment
            }
        )));
    }
    // lme4 refuses a random-slope model with as many random effects as nights
    // (check.nobs.vs.nRE); so do we.
    if nobs <= 2 * m as u64 {
        return Err(PooledError::Data(format!(
            "{nobs} nights for {m} participants: the random-slope model needs more nights than twice the participants"
        )));
    }
    let shift = people
        .iter()
        .map(|p| p.control.n as f64 * p.control.mean + p.treatment.n as f64 * p.treatment.mean)
        .sum::<f64>()
        / nobs as f64;
    let suff: Vec<Suff> = people.iter().map(|p| Suff::of(p, shift)).collect();
    let n = nobs as f64;
    let q = z_quantile();

    let (t_ri, ev_ri, conv_ri) = optimise(&suff, n, [1.0, 0.0, 0.0], [true, false, false])
        .ok_or_else(|| {
            PooledError::Fit(
                "the random-intercept criterion is not finite (no residual variation?)".into(),
            )
        })?;
    let (t_rs, ev_rs, conv_rs) = optimise(&suff, n, [1.0, 0.0, 1.0], [true, true, true])
        .ok_or_else(|| {
            PooledError::Fit(
                "the random-slope criterion is not finite (no residual variation?)".into(),
            )
        })?;

    let sigma2_ri = ev_ri.r2 / (n - P);
    let se_ri = (sigma2_ri * ev_ri.a_inv[1][1]).sqrt();
    let random_intercept = InterceptFit {
        effect: ev_ri.beta[1],
        se: se_ri,
        ci95: interval(ev_ri.beta[1], se_ri, q),
        p_mcid: p_beyond(ev_ri.beta[1], se_ri, spec),
        tau2_intercept: sigma2_ri * t_ri[0] * t_ri[0],
        sigma2: sigma2_ri,
        loglik: -ev_ri.deviance / 2.0,
        theta: [t_ri[0]],
        singular: t_ri[0] <= SINGULAR_TOLERANCE,
        convergence: conv_ri,
    };

    let sigma2 = ev_rs.r2 / (n - P);
    let lam = lambda(&t_rs);
    let cov = mul(&lam, &tr(&lam));
    let (tau2_i, tau2_s, cov_is) = (sigma2 * cov[0][0], sigma2 * cov[1][1], sigma2 * cov[0][1]);
    let corr = (tau2_i > 0.0 && tau2_s > 0.0).then(|| cov_is / (tau2_i * tau2_s).sqrt());
    let se = (sigma2 * ev_rs.a_inv[1][1]).sqrt();
    let effect = ev_rs.beta[1];
    let intercept_zero = t_rs[0] <= SINGULAR_TOLERANCE;
    let slope_zero = t_rs[1].abs() <= SINGULAR_TOLERANCE && t_rs[2] <= SINGULAR_TOLERANCE;
    let corr_one = !slope_zero && !intercept_zero && t_rs[2] <= SINGULAR_TOLERANCE;
    let mut meaning = Vec::new();
    if intercept_zero {
        meaning.push("people's usual levels (under the control) do not differ detectably beyond night-to-night variation: the between-person intercept variance is estimated as 0");
    }
    if slope_zero {
        meaning.push("the data show no detectable difference between people in how much the treatment changes the outcome: the spread of effects is estimated as 0, so every person's shrunken effect equals the population effect (this is not proof that people respond alike; there may be too few nights or people to see it)");
    } else if corr_one {
        meaning.push("the model puts every person's effect on a straight line with their usual level (correlation ±1): there is too little information to estimate the spread of effects separately, so treat the spread and the shrunken effects with caution");
    } else if t_rs[2] <= SINGULAR_TOLERANCE {
        meaning.push("the treatment-effect variance sits at the boundary of its range: treat the spread and the shrunken effects with caution");
    }
    let singular = intercept_zero || t_rs[2] <= SINGULAR_TOLERANCE;
    let random_slope = SlopeFit {
        effect,
        se,
        ci95: interval(effect, se, q),
        p_mcid: p_beyond(effect, se, spec),
        tau2_intercept: tau2_i,
        tau2_slope: tau2_s,
        cov_intercept_slope: cov_is,
        corr_intercept_slope: corr,
        sigma2,
        loglik: -ev_rs.deviance / 2.0,
        theta: t_rs,
        singular,
        singular_meaning: singular.then(|| {
            let mut s = meaning.join("; ");
            if let Some(c) = s.get_mut(0..1) {
                c.make_ascii_uppercase();
            }
            s + "."
        }),
        share_mcid: p_beyond(effect, tau2_s.sqrt(), spec),
        convergence: conv_rs,
    };

    // Per person: BLUP b̂_i = L_i u_i, and the prediction error variance of effect + slope BLUP
    // from the inverse of Henderson's coefficient matrix (per person, in units of σ²):
    //   C_ββ = A⁻¹, C_bβ = −L D A⁻¹ (= −P), C_bb = L + L D A⁻¹ D L;
    //   Var(φ̂ − φ)/σ² = (A⁻¹)₁₁ − 2 P₁₁ + (C_bb)₁₁ for φ = β₁ + b₁.
    let participants = people
        .iter()
        .zip(&suff)
        .map(|(p, s)| {
            let (_, l, _) = per_person(s, &lam);
            let u = {
                let db = mv(&s.d, &ev_rs.beta);
                [s.c[0] - db[0], s.c[1] - db[1]]
            };
            let blup = mv(&l, &u);
            let pm = mul(&mul(&l, &s.d), &ev_rs.a_inv);
            let cbb = add(&l, &mul(&pm, &mul(&s.d, &l)));
            let pev = (sigma2 * (ev_rs.a_inv[1][1] - 2.0 * pm[1][1] + cbb[1][1])).max(0.0);
            let eff = effect + blup[1];
            let se = pev.sqrt();
            PersonResult {
                id: p.id.clone(),
                nights: p.nights(),
                nights_control: p.control.n,
                nights_treatment: p.treatment.n,
                effect: eff,
                se,
                ci95: interval(eff, se, q),
                cond_var_slope: sigma2 * l[1][1],
                p_mcid: p_beyond(eff, se, spec),
                own: own_estimate(p),
            }
        })
        .collect();

    Ok(PooledAnalysis {
        control: data.control.clone(),
        treatment: data.treatment.clone(),
        higher_is_better: spec.higher_is_better,
        mcid: spec.mcid,
        n_participants: m,
        n_nights: nobs,
        missing_nights: data.missing_nights,
        other_condition_nights: data.other_condition_nights,
        models: PooledModels {
            random_intercept,
            random_slope,
        },
        participants,
        method: METHOD.to_string(),
    })
}

/// Fits statistics gathered elsewhere (e.g. one row per person from a database): the entry
/// point for a clinic's pooled analysis.
pub fn fit_people(
    people: impl IntoIterator<Item = PersonStats>,
    control: &str,
    treatment: &str,
    spec: &PooledSpec,
) -> Result<PooledAnalysis, PooledError> {
    let data = SeriesData {
        control: control.to_string(),
        treatment: treatment.to_string(),
        people: people.into_iter().filter(|p| p.nights() > 0).collect(),
        missing_nights: 0,
        other_condition_nights: 0,
    };
    fit(&data, spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, control: &[f64], treatment: &[f64]) -> PersonStats {
        let mut p = PersonStats {
            id: id.into(),
            control: ArmStats::default(),
            treatment: ArmStats::default(),
        };
        control.iter().for_each(|&y| p.control.push(y));
        treatment.iter().for_each(|&y| p.treatment.push(y));
        p
    }

    fn data(people: Vec<PersonStats>) -> SeriesData {
        SeriesData {
            control: "placebo".into(),
            treatment: "mg".into(),
            people,
            missing_nights: 0,
            other_condition_nights: 0,
        }
    }

    const SPEC: PooledSpec = PooledSpec {
        higher_is_better: false,
        mcid: 1.0,
    };

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-12)
    }

    #[test]
    fn welford_and_merge_match_two_pass_moments() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squared deviations 32.
        let ys = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut all = ArmStats::default();
        ys.iter().for_each(|&y| all.push(y));
        assert_eq!(all.n, 8);
        assert!(close(all.mean, 5.0, 1e-15) && close(all.m2, 32.0, 1e-14));
        let (mut a, mut b) = (ArmStats::default(), ArmStats::default());
        ys[..3].iter().for_each(|&y| a.push(y));
        ys[3..].iter().for_each(|&y| b.push(y));
        let m = a.merge(b);
        assert!(close(m.mean, 5.0, 1e-15) && close(m.m2, 32.0, 1e-14));
    }

    /// A balanced design (every person 2 control and 2 treatment nights), random intercept: the
    /// treatment contrast lies wholly within persons, so REML equals the ANOVA estimates
    /// (when positive):
    ///
    /// P1 control 3,5 treatment 2,2: means 4, 2, within-arm SS 2, d = −2, person mean 3
    /// P2 control 6,6 treatment 4,6: means 6, 5, SS 2, d = −1, person mean 5.5
    /// P3 control 8,10 treatment 7,9: means 9, 8, SS 4, d = −1, person mean 8.5
    ///
    /// β̂ = mean d = −4/3. Within-person residual SS = ΣSS + Σ (n0·n1/n)(d_i − β̂)²
    /// = 8 + 1·(4/9 + 1/9 + 1/9) = 26/3 on m(n−1) − 1 = 8 df: σ̂² = 13/12.
    /// Between persons: grand mean 17/3, Σ(ȳ_i − 17/3)² = 64/9 + 1/36 + 289/36 = 91/6,
    /// MSB = n·(91/6)/(m−1) = 91/3 = σ² + nτ², so τ̂² = (91/3 − 13/12)/4 = 351/48.
    /// SE(β̂)² = σ̂²·4/(mn) (Var d_i = σ²(1/2 + 1/2)·... = 4σ²/n, averaged over m): 13/36.
    #[test]
    fn random_intercept_balanced_matches_anova() {
        let d = data(vec![
            person("P1", &[3.0, 5.0], &[2.0, 2.0]),
            person("P2", &[6.0, 6.0], &[4.0, 6.0]),
            person("P3", &[8.0, 10.0], &[7.0, 9.0]),
        ]);
        let a = fit(&d, &SPEC).unwrap();
        let ri = &a.models.random_intercept;
        assert!(ri.convergence.converged, "{:?}", ri.convergence);
        assert!(close(ri.effect, -4.0 / 3.0, 1e-9), "{}", ri.effect);
        assert!(close(ri.sigma2, 13.0 / 12.0, 1e-7), "{}", ri.sigma2);
        assert!(
            close(ri.tau2_intercept, 351.0 / 48.0, 1e-7),
            "{}",
            ri.tau2_intercept
        );
        assert!(close(ri.se, 13f64.sqrt() / 6.0, 1e-7), "{}", ri.se);
        assert!(!ri.singular);
        let z = 1.959963984540054;
        assert!(close(ri.ci95[0], -4.0 / 3.0 - z * 13f64.sqrt() / 6.0, 1e-7));
        assert_eq!(a.n_nights, 12);
        assert_eq!(a.n_participants, 3);
    }

    /// Balanced design, random intercept and slope: each person reduces to a = (ȳ₀ + ȳ₁)/2,
    /// d = ȳ₁ − ȳ₀ and the within-arm SS. With n/2 nights per arm, Var a = Var(b₀ + b₁/2) + σ²/n,
    /// Cov(a, d) = Cov(b₀ + b₁/2, b₁), Var d = τ₁² + 4σ²/n, and the map from (Σ_b, σ²) to
    /// (Cov(a, d), σ²) is one-to-one, so REML gives σ̂² = ΣSS/(m(n − 2)) and Cov(a, d) = the
    /// sample covariance S (divisor m − 1): τ̂₁² = S_dd − 4σ̂²/n, ĉov = S_ad − τ̂₁²/2,
    /// τ̂₀² = S_aa − σ̂²/n − ĉov − τ̂₁²/4, β̂₁ = mean d, SE² = S_dd/m (when Σ̂_b is positive
    /// definite). Computed below from the data by that route, independently of the fit.
    #[test]
    fn random_slope_balanced_matches_moments() {
        let raw: [([f64; 2], [f64; 2]); 5] = [
            ([3.0, 3.5], [0.0, 1.0]),
            ([6.0, 6.5], [4.0, 5.0]),
            ([8.0, 9.0], [9.0, 9.5]),
            ([4.0, 4.5], [1.5, 1.0]),
            ([7.0, 6.0], [7.0, 7.5]),
        ];
        let people: Vec<PersonStats> = raw
            .iter()
            .enumerate()
            .map(|(i, (c, t))| person(&format!("p{i}"), c, t))
            .collect();
        let m = people.len() as f64;
        let n = 4.0;
        let ss: f64 = people.iter().map(|p| p.control.m2 + p.treatment.m2).sum();
        let sigma2 = ss / (m * (n - 2.0));
        let a: Vec<f64> = people
            .iter()
            .map(|p| (p.control.mean + p.treatment.mean) / 2.0)
            .collect();
        let dd: Vec<f64> = people
            .iter()
            .map(|p| p.treatment.mean - p.control.mean)
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let cov = |x: &[f64], y: &[f64]| {
            let (mx, my) = (mean(x), mean(y));
            x.iter()
                .zip(y)
                .map(|(a, b)| (a - mx) * (b - my))
                .sum::<f64>()
                / (m - 1.0)
        };
        let tau1 = cov(&dd, &dd) - 4.0 * sigma2 / n;
        let c01 = cov(&a, &dd) - tau1 / 2.0;
        let tau0 = cov(&a, &a) - sigma2 / n - c01 - tau1 / 4.0;
        assert!(
            tau1 > 0.0 && tau0 > 0.0 && c01 * c01 < tau0 * tau1,
            "an interior case"
        );
        let fitd = fit(&data(people), &SPEC).unwrap();
        let rs = &fitd.models.random_slope;
        assert!(rs.convergence.converged && !rs.singular, "{rs:?}");
        assert!(close(rs.effect, mean(&dd), 1e-9));
        assert!(close(rs.se, (cov(&dd, &dd) / m).sqrt(), 1e-6), "{}", rs.se);
        assert!(close(rs.sigma2, sigma2, 1e-6), "{} {sigma2}", rs.sigma2);
        assert!(close(rs.tau2_slope, tau1, 1e-6), "{} {tau1}", rs.tau2_slope);
        assert!(
            close(rs.tau2_intercept, tau0, 1e-6),
            "{} {tau0}",
            rs.tau2_intercept
        );
        assert!(
            close(rs.cov_intercept_slope, c01, 1e-6),
            "{} {c01}",
            rs.cov_intercept_slope
        );
    }

    /// No spread of effects at all (every person's arms differ by exactly the same amount and
    /// the within-arm noise alone explains d's spread): τ₁² must sit at 0 and be flagged.
    #[test]
    fn identical_effects_are_a_singular_fit() {
        let d = data(vec![
            person("a", &[3.0, 5.0, 4.0], &[2.0, 4.0, 3.0]),
            person("b", &[6.0, 8.0, 7.0], &[5.0, 7.0, 6.0]),
            person("c", &[1.0, 3.0, 2.0], &[0.0, 2.0, 1.0]),
            person("d", &[9.0, 7.0, 8.0], &[8.0, 6.0, 7.0]),
        ]);
        let a = fit(&d, &SPEC).unwrap();
        let rs = &a.models.random_slope;
        assert!(rs.singular, "{rs:?}");
        assert!(rs.tau2_slope < 1e-6, "{}", rs.tau2_slope);
        assert!(rs
            .singular_meaning
            .as_deref()
            .unwrap()
            .contains("no detectable difference"));
        assert!(close(rs.effect, -1.0, 1e-9));
        for p in &a.participants {
            assert!((p.effect - rs.effect).abs() < 1e-4, "{p:?}");
        }
    }

    /// The analytic gradient against central differences of the deviance at an arbitrary θ.
    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let d = data(vec![
            person("a", &[3.0, 5.0, 4.5], &[2.0, 1.0]),
            person("b", &[6.0, 6.5], &[4.0, 6.0, 5.5, 3.0]),
            person("c", &[8.0], &[9.0, 9.5]),
            person("d", &[4.0, 4.5, 5.0], &[]),
            person("e", &[7.0, 5.0], &[6.0, 7.5, 8.0]),
        ]);
        let suff: Vec<Suff> = d.people.iter().map(|p| Suff::of(p, 5.0)).collect();
        let nobs = d.people.iter().map(PersonStats::nights).sum::<u64>() as f64;
        let theta = [0.7, -0.3, 0.45];
        let ev = evaluate(&suff, nobs, &theta).unwrap();
        let g = gradient(&suff, nobs, &theta, &ev, &[true; 3]);
        for k in 0..3 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[k] += h;
            down[k] -= h;
            let fd = (evaluate(&suff, nobs, &up).unwrap().deviance
                - evaluate(&suff, nobs, &down).unwrap().deviance)
                / (2.0 * h);
            assert!(
                (g[k] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                "{k}: {} {fd}",
                g[k]
            );
        }
    }

    #[test]
    fn own_estimate_is_the_two_sample_t_interval() {
        // Control 3, 5 (mean 4), treatment 1, 2, 3 (mean 2): pooled SS 2 + 2 = 4 on 3 df,
        // SE = sqrt(4/3 · (1/2 + 1/3)) = sqrt(10/9); t(3, 0.975) = 3.182446305284263.
        let e = own_estimate(&person("x", &[3.0, 5.0], &[1.0, 2.0, 3.0])).unwrap();
        assert!(close(e.effect, -2.0, 1e-12));
        assert!(close(e.se, (10.0f64 / 9.0).sqrt(), 1e-12));
        assert!(close(
            e.ci95[1],
            -2.0 + 3.182446305284263 * (10.0f64 / 9.0).sqrt(),
            1e-9
        ));
        assert!(own_estimate(&person("y", &[3.0, 5.0], &[])).is_none());
    }

    #[test]
    fn accumulator_names_the_line_and_field() {
        let mut acc = SeriesAccumulator::new();
        acc.push(2, "p1", "1", "placebo", "3.5").unwrap();
        acc.push(3, "p1", "2", "mg", "").unwrap();
        let e = acc.push(4, "p1", "2", "mg", "1").unwrap_err().to_string();
        assert!(
            e.starts_with("line 4:") && e.contains("day 2 is not after day 2 (line 3)"),
            "{e}"
        );
        let e = acc.push(5, "p2", "x", "mg", "1").unwrap_err().to_string();
        assert!(e.starts_with("line 5:") && e.contains("day 'x'"), "{e}");
        let e = acc.push(6, "p2", "1", "mg", "abc").unwrap_err().to_string();
        assert!(
            e.starts_with("line 6:") && e.contains("outcome 'abc'"),
            "{e}"
        );
        let e = acc.push(7, "", "1", "mg", "1").unwrap_err().to_string();
        assert!(e.contains("participant is empty"), "{e}");
        acc.push(8, "p2", "1", "mg", "2").unwrap();
        acc.push(9, "p2", "3", "placebo", "4").unwrap();
        let d = acc.clone().finish("placebo", None).unwrap();
        assert_eq!((d.treatment.as_str(), d.missing_nights), ("mg", 1));
        assert_eq!(d.people.len(), 2);
        let e = acc.finish("control", None).unwrap_err().to_string();
        assert!(e.contains("found placebo, mg"), "{e}");
    }
}
