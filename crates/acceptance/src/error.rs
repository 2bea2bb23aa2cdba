//! What can go wrong writing or reading reports.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("OCP-TV output: {0}")]
    Ocptv(#[from] ocptv::output::OcptvError),
    #[error("report page: {0}")]
    Template(#[from] askama::Error),
    #[error("report: {0}")]
    Report(String),
}
