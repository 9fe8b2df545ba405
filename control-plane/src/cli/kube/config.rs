//! `KeelConfig`: keelctl's kubeconfig — `~/.keel/config` (or `--keelconfig` / `KEELCONFIG`),
//! a YAML file naming the cell's servers and the default namespace. `--server(s)` and
//! `KEEL_SERVERS` override its servers, `-n` its namespace.
//!
//! ```yaml
//! servers:
//! - 127.0.0.1:7001
//! - 127.0.0.1:7002
//! namespace: default
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::Value;

/// Servers used when neither a flag, the environment nor a config file names any.
pub const DEFAULT_SERVERS: &str = "127.0.0.1:7001";

/// The contents of a config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeelConfig {
    pub servers: Vec<String>,
    pub namespace: Option<String>,
}

/// Servers and namespace after applying flags, environment and config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub servers: Vec<String>,
    pub namespace: String,
    /// Whether `-n` was given (apply refuses manifests of another namespace then).
    pub namespace_explicit: bool,
}

impl KeelConfig {
    /// Parses a config file's text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<KeelConfig> {
        if text.trim().is_empty() {
            return Ok(KeelConfig::default());
        }
        let v: Value = serde_saphyr::from_str(text)
            .map_err(|e| anyhow::anyhow!("{origin}: not valid YAML: {e}"))?;
        let Value::Object(map) = v else {
            bail!("{origin}: expected a mapping with `servers` and `namespace`");
        };
        let mut cfg = KeelConfig::default();
        for (k, v) in map {
            match (k.as_str(), v) {
                ("servers", Value::String(s)) => {
                    cfg.servers = crate::cli::connect::parse_servers(&s)
                        .with_context(|| format!("{origin}: servers"))?
                }
                ("servers", Value::Array(list)) => {
                    for (i, s) in list.into_iter().enumerate() {
                        match s {
                            Value::String(s) if !s.trim().is_empty() => {
                                cfg.servers.push(s.trim().to_string())
                            }
                            other => {
                                bail!("{origin}: servers[{i}]: expected HOST:PORT, got {other}")
                            }
                        }
                    }
                }
                ("servers", other) => {
                    bail!("{origin}: servers: expected a list of HOST:PORT, got {other}")
                }
                ("namespace", Value::String(s)) if !s.is_empty() => cfg.namespace = Some(s),
                ("namespace", other) => bail!("{origin}: namespace: expected a name, got {other}"),
                (other, _) => {
                    bail!("{origin}: unknown field `{other}` (known: servers, namespace)")
                }
            }
        }
        Ok(cfg)
    }

    /// Loads `explicit` (which must exist), else `~/.keel/config` when it exists.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<KeelConfig> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_path() {
                Some(p) if p.exists() => p,
                _ => return Ok(KeelConfig::default()),
            },
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading keelctl config {}", path.display()))?;
        KeelConfig::parse(&text, &path.display().to_string())
    }

    /// Applies overrides: `servers` from `--servers`/`KEEL_SERVERS`, `namespace` from `-n`.
    pub fn resolve(
        &self,
        servers: Option<&str>,
        namespace: Option<&str>,
    ) -> anyhow::Result<Settings> {
        let servers = match servers {
            Some(s) => crate::cli::connect::parse_servers(s)?,
            None if !self.servers.is_empty() => self.servers.clone(),
            None => crate::cli::connect::parse_servers(DEFAULT_SERVERS)?,
        };
        let namespace_explicit = namespace.is_some();
        let namespace = namespace
            .map(str::to_string)
            .or_else(|| self.namespace.clone())
            .unwrap_or_else(|| "default".to_string());
        Ok(Settings {
            servers,
            namespace,
            namespace_explicit,
        })
    }
}

/// `$HOME/.keel/config`.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".keel").join("config"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_strings() {
        let c = KeelConfig::parse("servers:\n- a:1\n- b:2\nnamespace: dev\n", "cfg").unwrap();
        assert_eq!(c.servers, vec!["a:1", "b:2"]);
        assert_eq!(c.namespace.as_deref(), Some("dev"));
        let c = KeelConfig::parse("servers: a:1, b:2\n", "cfg").unwrap();
        assert_eq!(c.servers, vec!["a:1", "b:2"]);
        assert_eq!(KeelConfig::parse("", "cfg").unwrap(), KeelConfig::default());
    }

    #[test]
    fn bad_files_name_the_problem() {
        let e = KeelConfig::parse("server: x\n", "/h/.keel/config").unwrap_err();
        assert!(e.to_string().contains("unknown field `server`"), "{e}");
        let e = KeelConfig::parse("servers: [1]\n", "cfg").unwrap_err();
        assert!(e.to_string().contains("servers[0]"), "{e}");
        let e = KeelConfig::parse("- a\n", "cfg").unwrap_err();
        assert!(e.to_string().contains("expected a mapping"), "{e}");
    }

    #[test]
    fn flags_override_the_file() {
        let c = KeelConfig::parse("servers: [a:1]\nnamespace: dev\n", "cfg").unwrap();
        let s = c.resolve(None, None).unwrap();
        assert_eq!(
            (
                s.servers.clone(),
                s.namespace.as_str(),
                s.namespace_explicit
            ),
            (vec!["a:1".to_string()], "dev", false)
        );
        let s = c.resolve(Some("b:2,c:3"), Some("prod")).unwrap();
        assert_eq!(
            (s.servers.len(), s.namespace.as_str(), s.namespace_explicit),
            (2, "prod", true)
        );
        let s = KeelConfig::default().resolve(None, None).unwrap();
        assert_eq!(
            (s.servers, s.namespace),
            (vec![DEFAULT_SERVERS.to_string()], "default".to_string())
        );
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let e = KeelConfig::load(Some(Path::new("/nonexistent/keel/config"))).unwrap_err();
        assert!(
            format!("{e:#}").contains("/nonexistent/keel/config"),
            "{e:#}"
        );
    }
}
