//! One module per `metal` subcommand.
