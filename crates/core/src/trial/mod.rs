//! The randomized, blindable n-of-1 trial: design, analysis, verdict and power.

pub mod analysis;
pub mod blinding;
pub mod data;
pub mod design;
pub mod model;
pub mod pooled;
pub mod power;
