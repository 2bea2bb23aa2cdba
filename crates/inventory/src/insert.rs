//! INSERT statements built column by column, so that every value stands next to the name of
//! its column and a statement of many columns cannot bind a value to the wrong one.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

/// One value to bind.
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

/// `INSERT INTO table (columns...) VALUES ($1, ...)`, built by naming each column's value.
pub(crate) struct Insert {
    table: &'static str,
    columns: Vec<&'static str>,
    values: Vec<Value>,
}

impl Insert {
    pub(crate) fn into(table: &'static str) -> Insert {
        Insert {
            table,
            columns: Vec::new(),
            values: Vec::new(),
        }
    }

    /// An integer column (`NULL` for `None`).
    pub(crate) fn int(mut self, column: &'static str, value: impl Into<Option<i64>>) -> Insert {
        self.columns.push(column);
        self.values.push(Value::Int(value.into()));
        self
    }

    /// A text column (`NULL` for `None`).
    pub(crate) fn text<S: ToString>(mut self, column: &'static str, value: Option<S>) -> Insert {
        self.columns.push(column);
        self.values.push(Value::Text(value.map(|v| v.to_string())));
        self
    }

    /// The statement, with `RETURNING returning` when given.
    pub(crate) fn sql(&self, returning: Option<&str>) -> String {
        let placeholders: Vec<String> = (1..=self.columns.len()).map(|i| format!("${i}")).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.table,
            self.columns.join(", "),
            placeholders.join(", ")
        );
        if let Some(r) = returning {
            sql.push_str(" RETURNING ");
            sql.push_str(r);
        }
        sql
    }

    /// The statement (see [`Insert::sql`]) with every value bound in column order. The text
    /// is ours: table and column names are literals and every value is a bound parameter.
    pub(crate) fn query(self, returning: Option<&str>) -> Query<'static, Any, AnyArguments> {
        let sql = sqlx::AssertSqlSafe(self.sql(returning));
        self.values
            .into_iter()
            .fold(sqlx::query(sql), |query, value| match value {
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_placeholders_line_up() {
        let insert = Insert::into("guests")
            .text("name", Some("web01"))
            .int("memory_mib", 1024)
            .text::<String>("note", None);
        assert_eq!(
            insert.sql(Some("id")),
            "INSERT INTO guests (name, memory_mib, note) VALUES ($1, $2, $3) RETURNING id"
        );
    }
}
