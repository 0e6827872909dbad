//! The two backends behind one store: which one runs, the one SQL dialect the store is written
//! in, and statements built with numbered placeholders (multi-row inserts, `IN` lists).
//!
//! # The dialect
//! Every statement is written once and runs on both backends through sqlx's `Any` driver:
//! - placeholders are `$1, $2, …` (SQLite reads `$N` as the N-th parameter too);
//! - decimals are `numeric` on PostgreSQL and exact text on SQLite: a decimal parameter is
//!   written `$N::numeric` and a decimal column read as `col::text`; integers that PostgreSQL
//!   would widen (a `sum`) are read as `…::bigint`. For SQLite these casts are removed, as is
//!   `FOR UPDATE [SKIP LOCKED]` (SQLite has one writer at a time, so a read in a write
//!   transaction already stands until commit, and nothing is locked by another to skip);
//! - upserts are `INSERT … ON CONFLICT`, which both backends know; nothing depends on SQLite's
//!   type affinity (an integer column is bound an integer).
//!
//! Everything that differs beyond that (opening, migrations, locks, table listings) is a
//! `match` on [`Backend`] in the module that owns it.

use std::borrow::Cow;

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, AssertSqlSafe, Encode, Type};

/// Which database a [`Store`](crate::Store) runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

pub(crate) type DbPool = sqlx::AnyPool;
pub(crate) type DbRow = sqlx::any::AnyRow;
pub(crate) type DbConn = sqlx::AnyConnection;

/// What SQLite does not parse, removed from a statement written in the store's dialect.
const POSTGRES_ONLY: [&str; 5] = [
    "::numeric",
    "::text",
    "::bigint",
    " FOR UPDATE SKIP LOCKED",
    " FOR UPDATE",
];

/// `text` in `backend`'s dialect.
pub(crate) fn sql(backend: Backend, text: &'static str) -> AssertSqlSafe<Cow<'static, str>> {
    translate(backend, Cow::Borrowed(text))
}

/// A statement assembled at run time from this crate's constant fragments (never input).
pub(crate) fn sql_owned(backend: Backend, text: String) -> AssertSqlSafe<Cow<'static, str>> {
    translate(backend, Cow::Owned(text))
}

fn translate(backend: Backend, text: Cow<'static, str>) -> AssertSqlSafe<Cow<'static, str>> {
    if backend == Backend::Postgres || !POSTGRES_ONLY.iter().any(|p| text.contains(p)) {
        return AssertSqlSafe(text);
    }
    let mut out = text.into_owned();
    for token in POSTGRES_ONLY {
        out = out.replace(token, "");
    }
    AssertSqlSafe(Cow::Owned(out))
}

/// A statement with its parameters bound as it is written: `bind` appends `$N`.
///
/// For SQLite the placeholders are rendered as anonymous `?` (they are in order): SQLite looks
/// a numbered parameter's name up in a list, once per parameter, which makes binding a
/// statement of thousands of `$N` parameters quadratic (measured: a third of a copy's time).
pub(crate) struct SqlBuilder {
    text: String,
    args: AnyArguments,
    bound: usize,
    /// Byte ranges of the placeholders in `text`, in order.
    placeholders: Vec<(usize, usize)>,
}

impl SqlBuilder {
    pub(crate) fn new(head: &str) -> Self {
        SqlBuilder {
            text: head.to_owned(),
            args: AnyArguments::default(),
            bound: 0,
            placeholders: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Append the next placeholder and bind `value` to it.
    pub(crate) fn bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'t, Any> + Type<Any>,
    {
        self.bound += 1;
        let start = self.text.len();
        self.text.push('$');
        self.text.push_str(&self.bound.to_string());
        self.placeholders.push((start, self.text.len()));
        // Encoding into an owned buffer of primitive values cannot fail for the types bound here.
        self.args
            .add(value)
            .expect("a primitive value encodes into the Any argument buffer");
        self
    }

    /// `$a, $b, …` for each value: the inside of an `IN (…)` list.
    pub(crate) fn bind_list<'t, T, I>(&mut self, values: I) -> &mut Self
    where
        T: Encode<'t, Any> + Type<Any>,
        I: IntoIterator<Item = T>,
    {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self
    }

    /// ` VALUES (…), (…)`: one parenthesised row per item, its values bound by `row`.
    pub(crate) fn values<I, F>(&mut self, rows: I, mut row: F) -> &mut Self
    where
        I: IntoIterator,
        F: FnMut(&mut ValuesRow<'_>, I::Item),
    {
        self.push(" VALUES ");
        for (i, item) in rows.into_iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            row(
                &mut ValuesRow {
                    builder: self,
                    first: true,
                },
                item,
            );
            self.push(")");
        }
        self
    }

    pub(crate) fn build(self, backend: Backend) -> sqlx::query::Query<'static, Any, AnyArguments> {
        let text = match backend {
            Backend::Postgres => self.text,
            Backend::Sqlite => {
                let mut out = String::with_capacity(self.text.len());
                let mut at = 0;
                for (start, end) in &self.placeholders {
                    out.push_str(&self.text[at..*start]);
                    out.push('?');
                    at = *end;
                }
                out.push_str(&self.text[at..]);
                out
            }
        };
        sqlx::query_with(sql_owned(backend, text), self.args)
    }
}

/// One row of a [`SqlBuilder::values`] list.
pub(crate) struct ValuesRow<'b> {
    builder: &'b mut SqlBuilder,
    first: bool,
}

impl ValuesRow<'_> {
    pub(crate) fn bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'t, Any> + Type<Any>,
    {
        if !self.first {
            self.builder.push(", ");
        }
        self.first = false;
        self.builder.bind(value);
        self
    }

    /// A decimal (exact text) bound to a `numeric` column.
    pub(crate) fn bind_numeric<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'t, Any> + Type<Any>,
    {
        self.bind(value);
        self.builder.push("::numeric");
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_statements_lose_only_the_postgres_casts() {
        let text = "SELECT net::text FROM documents WHERE id = $1 FOR UPDATE";
        assert_eq!(
            sql(Backend::Sqlite, text).0,
            "SELECT net FROM documents WHERE id = $1"
        );
        assert_eq!(sql(Backend::Postgres, text).0, text);
    }

    #[test]
    fn values_are_numbered_in_order() {
        let mut b = SqlBuilder::new("INSERT INTO t (a, b)");
        b.values([(1_i64, "x"), (2, "y")], |row, (a, b)| {
            row.bind(a).bind_numeric(b);
        });
        b.push(" ON CONFLICT DO NOTHING");
        assert_eq!(
            b.text,
            "INSERT INTO t (a, b) VALUES ($1, $2::numeric), ($3, $4::numeric) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            sqlx::Execute::sql(b.build(Backend::Sqlite)).as_str(),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING"
        );
    }
}
