-- The bookshelf's only table. db.rs embeds this file in the binary at compile time, and sqlx's
-- migrator applies it once per database (it records applied versions in _sqlx_migrations).
CREATE TABLE books (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    year       INTEGER,
    created_at TEXT    NOT NULL DEFAULT (datetime('now'))
);

CREATE INDEX books_author ON books (author);
