//! quietlegs-core: the pure domain of quietlegs.
//!
//! Architecture invariant: this crate does no I/O, reads no clock and draws no randomness. The
//! shipped reference tables are compiled in (`include_str!`) and parsed here; everything else
//! arrives as arguments. Storage, HTTP and the CLI are thin shells around it.

pub mod clock;
pub mod diary;
pub mod export;
pub mod food;
pub mod forms;
pub mod insights;
pub mod irls;
pub mod medicine_words;
pub mod medicines;
pub mod plan;
pub mod profile;
pub mod reference;
pub mod supplement;
pub mod text;
pub mod timing;
pub mod trial;

pub use clock::ClockTime;
pub use forms::{ElementalMagnesium, SupplementForm};
pub use irls::{IrlsBand, IrlsScore};
pub use plan::{build_plan, Plan};
pub use profile::Profile;
pub use reference::ReferenceData;

/// The disclaimer every output carries.
pub const DISCLAIMER: &str =
    "quietlegs is informational software, not medical advice. It does not diagnose or treat \
any condition. Talk to your clinician or pharmacist before starting, stopping or changing any \
supplement or medicine.";
