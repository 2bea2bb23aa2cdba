//! iPXE script templates (minijinja), loaded at start from a directory so operators can change
//! them without rebuilding.

use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};

/// A template directory or template that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The directory or a file in it cannot be read.
    #[error("templates {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A template does not parse, or rendering failed (an undefined variable, say).
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
}

/// Every template of one directory.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Loads every regular file of `dir`, named by its file name. Undefined variables are
    /// errors, so a profile that lacks a value fails loudly instead of booting a broken line.
    pub fn load(dir: &Path) -> Result<Templates, TemplateError> {
        let read_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TemplateError::Read { path, source }
        };
        let mut env = Environment::new();
        // iPXE needs the final newline of the last command.
        env.set_syntax(
            SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()?,
        );
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for entry in std::fs::read_dir(dir).map_err(read_err(dir))? {
            let path = entry.map_err(read_err(dir))?.path();
            if !path.is_file() {
                continue;
            }
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(read_err(&path))?;
            env.add_template_owned(name.to_string(), text)?;
        }
        Ok(Templates { env })
    }

    /// Whether a template of that name was loaded.
    pub fn has(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    /// Renders `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, TemplateError> {
        Ok(self.env.get_template(name)?.render(context)?)
    }
}
