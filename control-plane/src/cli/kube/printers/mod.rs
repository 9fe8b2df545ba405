//! Printers: objects as kubectl prints them — aligned tables per kind, YAML, JSON and names.

pub mod age;
pub mod apps;
pub mod batch;
pub mod core;
pub mod fields;
pub mod json;
pub mod pods;
pub mod services;
pub mod table;
pub mod tabwriter;
pub mod yaml;

pub use json::to_json;
pub use table::{Table, TableOptions};
pub use yaml::to_yaml;
