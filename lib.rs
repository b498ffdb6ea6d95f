//! The book has no library code: this crate exists to hold the snippets, examples and checks.
