//! SQLite through sqlx: a connection pool, embedded migrations, runtime-checked queries.

use std::path::Path;
use std::str::FromStr;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::{FromRow, Row};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Book {
    pub id: i64,
    pub title: String,
    pub author: String,
    pub year: Option<i64>,
}

/// How a row of `books` becomes a `Book` (what `#[derive(sqlx::FromRow)]` would write).
impl FromRow<'_, SqliteRow> for Book {
    fn from_row(row: &SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Book {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            author: row.try_get("author")?,
            year: row.try_get("year")?,
        })
    }
}

// ANCHOR: pool
/// The migrations, embedded in the binary: it needs no migrations folder at run time. Each is
/// applied once per database; sqlx records the applied versions in `_sqlx_migrations`.
fn migrator() -> Migrator {
    let migration = |version, description: &'static str, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            Cow::Borrowed(sql),
            false,
        )
    };
    Migrator {
        migrations: Cow::Owned(vec![migration(
            1,
            "create books",
            include_str!("migrations/0001_create_books.sql"),
        )]),
        ..Migrator::DEFAULT
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBook {
    pub title: String,
    pub author: String,
    pub year: Option<i64>,
}

/// Open (creating if needed) the database file and apply the migrations embedded in the binary.
pub async fn open(path: &Path, max_connections: u32) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(options)
        .await?;
    migrator().run(&pool).await?;
    Ok(pool)
}
// ANCHOR_END: pool

// ANCHOR: queries
pub async fn insert_book(pool: &SqlitePool, new: &NewBook) -> Result<Book, sqlx::Error> {
    sqlx::query_as::<_, Book>(
        "INSERT INTO books (title, author, year) VALUES (?, ?, ?) \
         RETURNING id, title, author, year",
    )
    .bind(&new.title)
    .bind(&new.author)
    .bind(new.year)
    .fetch_one(pool) // awaits a free connection, then the query: no thread is blocked
    .await
}

pub async fn get_book(pool: &SqlitePool, id: i64) -> Result<Option<Book>, sqlx::Error> {
    sqlx::query_as::<_, Book>("SELECT id, title, author, year FROM books WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
}
// ANCHOR_END: queries

pub async fn list_books(pool: &SqlitePool, limit: i64) -> Result<Vec<Book>, sqlx::Error> {
    sqlx::query_as::<_, Book>("SELECT id, title, author, year FROM books ORDER BY id LIMIT ?")
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// One page of the export: up to `limit` books with an id above `after`, in id order. The
/// primary key's index finds the start at once, however deep into the table the page is.
pub async fn books_after(
    pool: &SqlitePool,
    after: i64,
    limit: i64,
) -> Result<Vec<Book>, sqlx::Error> {
    sqlx::query_as::<_, Book>(
        "SELECT id, title, author, year FROM books WHERE id > ? ORDER BY id LIMIT ?",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn delete_book(pool: &SqlitePool, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM books WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn count_books(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM books")
        .fetch_one(pool)
        .await?;
    Ok(n)
}
