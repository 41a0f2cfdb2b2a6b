//! Bringing a database's schema to the version this build knows. The version lives in
//! SQLite's `user_version`; every step from the file's version to the current one runs
//! in one transaction with the bump, so a crash mid-upgrade leaves the old schema
//! intact, and a file from a newer build is refused untouched.

use rusqlite::{Connection, Transaction};

use super::SqliteError;

/// One step of a schema: creates version 1 (the first step) or takes the schema from the
/// version before to its own.
pub type Step = fn(&Transaction<'_>) -> rusqlite::Result<()>;

/// A database's schema: its steps, in order. Step `n` (from 1) makes version `n`; steps
/// are written once and never edited after release, a change is a new step.
pub trait Schema {
    /// What the database is, for errors ("device store", "hub database").
    const NAME: &'static str;
    /// Every step, the first creating version 1.
    const STEPS: &'static [Step];
    /// The version this build writes: the number of steps.
    const VERSION: i64 = Self::STEPS.len() as i64;
}

/// Creates or upgrades the database on `conn` to `S::VERSION`.
pub fn upgrade<S: Schema>(conn: &mut Connection) -> Result<(), SqliteError> {
    upgrade_to::<S>(conn, S::VERSION)
}

/// Creates or upgrades the database on `conn` to `target` (≤ `S::VERSION`); the
/// upgrade tests make databases of every earlier version with it.
pub fn upgrade_to<S: Schema>(conn: &mut Connection, target: i64) -> Result<(), SqliteError> {
    let found = version(conn)?;
    if found < 0 {
        // Never written by Testigo: the header was damaged or tampered with.
        return Err(SqliteError::Damaged(format!(
            "the {} says it is at schema {found}",
            S::NAME
        )));
    }
    let target = target.min(S::VERSION);
    if found > S::VERSION {
        return Err(SqliteError::Newer {
            database: S::NAME,
            found,
            known: S::VERSION,
        });
    }
    if found >= target {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for step in &S::STEPS[found as usize..target as usize] {
        step(&tx)?;
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(())
}

/// The schema version of the database on `conn` (0: empty).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three versions: a table, a column, an index.
    struct Notes;

    impl Schema for Notes {
        const NAME: &'static str = "notes database";
        const STEPS: &'static [Step] = &[
            |tx| tx.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"),
            |tx| tx.execute_batch("ALTER TABLE notes ADD COLUMN at INTEGER;"),
            |tx| tx.execute_batch("CREATE INDEX notes_by_time ON notes(at);"),
        ];
    }

    fn objects(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn each_step_runs_once_from_whatever_version_the_file_is_at() {
        for start in 0..=Notes::VERSION {
            let mut conn = Connection::open_in_memory().unwrap();
            upgrade_to::<Notes>(&mut conn, start).unwrap();
            assert_eq!(version(&conn).unwrap(), start);
            upgrade::<Notes>(&mut conn).unwrap();
            assert_eq!(version(&conn).unwrap(), 3);
            assert_eq!(objects(&conn), ["notes", "notes_by_time"]);
            // Again: nothing to do, and nothing fails for an index already there.
            upgrade::<Notes>(&mut conn).unwrap();
        }
    }

    #[test]
    fn a_file_from_a_newer_build_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 4).unwrap();
        let refused = upgrade::<Notes>(&mut conn).unwrap_err();
        assert!(matches!(
            refused,
            SqliteError::Newer {
                found: 4,
                known: 3,
                ..
            }
        ));
        assert!(objects(&conn).is_empty());
        assert_eq!(version(&conn).unwrap(), 4);
    }

    #[test]
    fn a_negative_version_is_refused_as_damage() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", -1).unwrap();
        assert!(matches!(
            upgrade::<Notes>(&mut conn),
            Err(SqliteError::Damaged(_))
        ));
        assert!(objects(&conn).is_empty());
    }

    #[test]
    fn a_failing_step_leaves_the_old_schema() {
        struct Broken;
        impl Schema for Broken {
            const NAME: &'static str = "broken database";
            const STEPS: &'static [Step] = &[Notes::STEPS[0], |tx| {
                tx.execute_batch("ALTER TABLE missing ADD COLUMN x;")
            }];
        }
        let mut conn = Connection::open_in_memory().unwrap();
        upgrade_to::<Broken>(&mut conn, 1).unwrap();
        assert!(upgrade::<Broken>(&mut conn).is_err());
        assert_eq!(version(&conn).unwrap(), 1);
        assert_eq!(objects(&conn), ["notes"]);
    }
}
