//! The SQLite backend (rusqlite, SQLite compiled in).

use crate::{FoodRelease, FoodStream, Store, StoreError};
use quietlegs_core::food::{Food, Nutrients, Portion};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// The migrations, in order; migration N brings the schema to `user_version` N.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/sqlite/0001_foods.sql")];

/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A quietlegs database in one SQLite file.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        }
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// An in-memory database (tests and benchmarks).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Self { conn };
        store.migrate_to(MIGRATIONS.len() as i64)?;
        Ok(store)
    }

    /// The schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The latest schema version this build knows.
    pub fn latest_schema_version() -> i64 {
        MIGRATIONS.len() as i64
    }

    /// Applies migrations up to `target`, each in its own transaction.
    pub fn migrate_to(&mut self, target: i64) -> Result<(), StoreError> {
        let current = self.schema_version()?;
        if current > Self::latest_schema_version() {
            return Err(StoreError::TooNew {
                found: current,
                supported: Self::latest_schema_version(),
            });
        }
        for version in (current + 1)..=target {
            let tx = self.conn.transaction()?;
            tx.execute_batch(MIGRATIONS[(version - 1) as usize])?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// `PRAGMA integrity_check` ("ok" when sound).
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn food_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Food> {
    Ok(Food {
        id: r.get("id")?,
        name: r.get("name")?,
        group: r.get("food_group")?,
        release: r.get("release")?,
        ndb: r.get("ndb")?,
        per_100g: Nutrients {
            kcal: r.get("kcal")?,
            magnesium_mg: r.get("magnesium_mg")?,
            calcium_mg: r.get("calcium_mg")?,
            iron_mg: r.get("iron_mg")?,
            potassium_mg: r.get("potassium_mg")?,
            zinc_mg: r.get("zinc_mg")?,
            sodium_mg: r.get("sodium_mg")?,
            fiber_g: r.get("fiber_g")?,
        },
        portions: Vec::new(),
    })
}

impl Store for SqliteStore {
    fn replace_food_release(
        &mut self,
        release: &FoodRelease,
        foods: &mut FoodStream<'_>,
    ) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM food_release WHERE release = ?1",
            [&release.release],
        )?;
        tx.execute(
            "INSERT INTO food_release (release, kind, imported_at, foods) VALUES (?1, ?2, ?3, 0)",
            params![release.release, release.kind, release.imported_at],
        )?;
        let mut count = 0u64;
        {
            let mut insert_food = tx.prepare(
                "INSERT OR REPLACE INTO food (id, release, name, food_group, ndb, kcal, magnesium_mg,
                 calcium_mg, iron_mg, potassium_mg, zinc_mg, sodium_mg, fiber_g)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            let mut delete_portions = tx.prepare("DELETE FROM food_portion WHERE food_id = ?1")?;
            let mut insert_portion = tx.prepare(
                "INSERT INTO food_portion (food_id, seq, amount, unit, grams, release)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for item in foods {
                let f = item.map_err(StoreError::Source)?;
                let n = &f.per_100g;
                insert_food.execute(params![
                    f.id,
                    release.release,
                    f.name,
                    f.group,
                    f.ndb,
                    n.kcal,
                    n.magnesium_mg,
                    n.calcium_mg,
                    n.iron_mg,
                    n.potassium_mg,
                    n.zinc_mg,
                    n.sodium_mg,
                    n.fiber_g
                ])?;
                delete_portions.execute([&f.id])?;
                for (seq, p) in f.portions.iter().enumerate() {
                    insert_portion.execute(params![
                        f.id,
                        seq as i64 + 1,
                        p.amount,
                        p.unit,
                        p.grams,
                        p.release
                    ])?;
                }
                count += 1;
            }
        }
        tx.execute(
            "UPDATE food_release SET foods = ?2 WHERE release = ?1",
            params![release.release, count as i64],
        )?;
        tx.commit()?;
        Ok(count)
    }

    fn imported_foods(&self) -> Result<Vec<Food>, StoreError> {
        let conn = self.connection();
        let mut stmt = conn.prepare("SELECT * FROM food ORDER BY rowid")?;
        let mut foods: Vec<Food> = stmt
            .query_map([], food_from_row)?
            .collect::<Result<_, _>>()?;
        let index: HashMap<String, usize> = foods
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), i))
            .collect();
        let mut stmt = conn.prepare(
            "SELECT food_id, amount, unit, grams, release FROM food_portion ORDER BY food_id, seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Portion {
                    amount: r.get(1)?,
                    unit: r.get(2)?,
                    grams: r.get(3)?,
                    release: r.get(4)?,
                },
            ))
        })?;
        for row in rows {
            let (id, portion) = row?;
            if let Some(&i) = index.get(&id) {
                foods[i].portions.push(portion);
            }
        }
        Ok(foods)
    }

    fn food_releases(&self) -> Result<Vec<FoodRelease>, StoreError> {
        let mut stmt = self.connection().prepare(
            "SELECT release, kind, imported_at, foods FROM food_release ORDER BY imported_at, release",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FoodRelease {
                release: r.get(0)?,
                kind: r.get(1)?,
                imported_at: r.get(2)?,
                foods: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl SqliteStore {
    /// Records what kind of download a release was (known only once it has been read).
    pub fn set_food_release_kind(&mut self, release: &str, kind: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE food_release SET kind = ?2 WHERE release = ?1",
            params![release, kind],
        )?;
        Ok(())
    }

    /// One food by id, if imported.
    pub fn imported_food(&self, id: &str) -> Result<Option<Food>, StoreError> {
        Ok(self
            .connection()
            .query_row("SELECT * FROM food WHERE id = ?1", [id], food_from_row)
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn food(id: &str, mg: Option<f64>) -> Food {
        Food {
            id: id.into(),
            name: format!("food {id}"),
            group: None,
            release: "r".into(),
            ndb: None,
            per_100g: Nutrients {
                magnesium_mg: mg,
                ..Nutrients::default()
            },
            portions: vec![Portion {
                amount: 1.0,
                unit: "cup".into(),
                grams: 150.0,
                release: "r".into(),
            }],
        }
    }

    fn release(name: &str) -> FoodRelease {
        FoodRelease {
            release: name.into(),
            kind: "sr-ascii".into(),
            imported_at: "2026-11-27T23:00:00Z".into(),
            foods: 0,
        }
    }

    #[test]
    fn reimporting_a_release_replaces_it_and_keeps_unknown_as_null() {
        let mut s = SqliteStore::in_memory().unwrap();
        let mut first = vec![Ok(food("a", Some(10.0))), Ok(food("b", None))].into_iter();
        assert_eq!(
            s.replace_food_release(&release("r1"), &mut first).unwrap(),
            2
        );
        let mut second = vec![Ok(food("a", Some(12.0)))].into_iter();
        assert_eq!(
            s.replace_food_release(&release("r1"), &mut second).unwrap(),
            1
        );
        let foods = s.imported_foods().unwrap();
        assert_eq!(foods.len(), 1);
        assert_eq!(foods[0].per_100g.magnesium_mg, Some(12.0));
        assert_eq!(foods[0].portions.len(), 1);
        assert_eq!(s.food_releases().unwrap()[0].foods, 1);
        let mut third = vec![Ok(food("c", None))].into_iter();
        s.replace_food_release(&release("r2"), &mut third).unwrap();
        let c = s.imported_food("c").unwrap().unwrap();
        assert_eq!(c.per_100g.magnesium_mg, None);
    }

    #[test]
    fn a_failed_import_rolls_back_and_keeps_the_previous_one() {
        let mut s = SqliteStore::in_memory().unwrap();
        let mut first = vec![Ok(food("a", Some(10.0)))].into_iter();
        s.replace_food_release(&release("r1"), &mut first).unwrap();
        let mut broken = vec![Ok(food("x", Some(1.0))), Err("disk read failed".into())].into_iter();
        assert!(s.replace_food_release(&release("r1"), &mut broken).is_err());
        let foods = s.imported_foods().unwrap();
        assert_eq!(
            foods.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
    }

    #[test]
    fn opens_a_file_in_wal_mode_with_the_latest_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/q.sqlite3");
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            SqliteStore::latest_schema_version()
        );
        let mode: String = s
            .connection()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }
}
