//! The clinician's report of quietlegs: [`compose::document`] lays a
//! [`quietlegs_app::clinician::ClinicianReport`] out once as a [`document::Document`]; [`pdf`],
//! [`html`] and [`text`] render that one document, so the PDF, the web page (and its print
//! stylesheet) and the terminal say the same things.

pub mod compose;
pub mod document;
pub mod html;
pub mod pdf;
pub mod text;

pub use compose::document;
pub use pdf::{render as pdf, PdfError};
