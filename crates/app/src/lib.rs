//! quietlegs use cases. Every surface (the CLI today, the web app and the clinic server next)
//! calls these functions over a store and a [`Context`]; they return typed, `Serialize`
//! results, so the JSON a surface prints is the serialization of these types, and the rules
//! (the blinding gate above all) cannot be forgotten by a surface.

pub mod calendar;
pub mod catalog;
pub mod clinic;
pub mod clinician;
pub mod clock;
pub mod demo;
pub mod diary;
pub mod entries;
pub mod error;
pub mod fhir;
pub mod foods;
pub mod info;
pub mod insights;
pub mod login;
pub mod personal;
pub mod profile;
pub mod series;
pub mod trial;

pub use catalog::FoodCatalog;
pub use clock::Now;
pub use error::{AppError, ErrorKind};

use quietlegs_core::ReferenceData;

/// What every use case may read besides the store: the moment of the command (read once), the
/// reference data and the food table with its search index (each built once per process).
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub now: &'a Now,
    pub reference: &'a ReferenceData,
    pub foods: &'a FoodCatalog,
}
