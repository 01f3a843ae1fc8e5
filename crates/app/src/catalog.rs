//! The food table and its search index, built once per process and only when a use case needs
//! them: `log night` never pays for the food table, `plan` never builds the search index.

use std::sync::OnceLock;

use quietlegs_core::food::search::FoodIndex;
use quietlegs_core::food::FoodTable;
use quietlegs_store::Store;

use crate::AppError;

/// The shipped USDA table plus the foods imported into the store, and its search index.
///
/// Built lazily from the first store it is asked with; a long-running server that imports
/// foods makes a new catalog after the import.
#[derive(Default)]
pub struct FoodCatalog {
    table: OnceLock<FoodTable>,
    index: OnceLock<FoodIndex>,
}

/// The food table with its search index.
#[derive(Clone, Copy)]
pub struct Foods<'a> {
    pub table: &'a FoodTable,
    pub index: &'a FoodIndex,
}

impl FoodCatalog {
    pub const fn new() -> Self {
        Self {
            table: OnceLock::new(),
            index: OnceLock::new(),
        }
    }

    /// The table (shipped, plus the foods imported into `store` when there is one), built on
    /// first use.
    pub fn table<S: Store>(&self, store: Option<&S>) -> Result<&FoodTable, AppError> {
        if let Some(t) = self.table.get() {
            return Ok(t);
        }
        let mut table = FoodTable::shipped()
            .map_err(|e| AppError::internal(format!("loading the shipped food table: {e}")))?;
        if let Some(store) = store {
            let imported = store
                .imported_foods()
                .map_err(AppError::store("reading imported foods"))?;
            if !imported.is_empty() {
                table.extend(imported);
            }
        }
        Ok(self.table.get_or_init(|| table))
    }

    /// The table and its search index, built on first use.
    pub fn searchable<S: Store>(&self, store: Option<&S>) -> Result<Foods<'_>, AppError> {
        let table = self.table(store)?;
        let index = match self.index.get() {
            Some(i) => i,
            None => {
                let built = FoodIndex::build(table)
                    .map_err(|e| AppError::internal(format!("building the search index: {e}")))?;
                self.index.get_or_init(|| built)
            }
        };
        Ok(Foods { table, index })
    }
}
