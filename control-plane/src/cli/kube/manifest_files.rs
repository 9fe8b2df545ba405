//! `-f FILE|DIR|-`: reading manifests from files, directories (`.yaml`, `.yml`, `.json`, sorted;
//! `-R` descends) and stdin, parsed into objects that remember their file.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::objects::parse_manifest;

/// One object of a manifest and where it came from.
#[derive(Debug, Clone)]
pub struct SourcedObject {
    /// The file as given (`STDIN` for `-`).
    pub source: String,
    pub document: usize,
    pub line: u64,
    pub object: Value,
}

fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn collect_dir(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if recursive {
                collect_dir(&p, recursive, out)?;
            }
        } else if is_manifest(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads and parses every `-f` argument; the first malformed file fails the whole call (as
/// kubectl does), naming the file, document and line.
pub fn read_manifests(filenames: &[String], recursive: bool) -> anyhow::Result<Vec<SourcedObject>> {
    let mut sources: Vec<(String, String)> = Vec::new();
    for f in filenames {
        if f == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
            sources.push(("STDIN".to_string(), text));
            continue;
        }
        let path = Path::new(f);
        if path.is_dir() {
            let mut files = Vec::new();
            collect_dir(path, recursive, &mut files)?;
            if files.is_empty() {
                bail!("error reading [{f}]: recognized file extensions are [.json .yaml .yml]");
            }
            for p in files {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("reading {}", p.display()))?;
                sources.push((p.display().to_string(), text));
            }
        } else {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("the path \"{f}\" could not be read: {e}"))?;
            sources.push((f.clone(), text));
        }
    }
    let mut out = Vec::new();
    for (source, text) in sources {
        let docs =
            parse_manifest(&text).map_err(|e| anyhow::anyhow!("error parsing {source}: {e}"))?;
        out.extend(docs.into_iter().map(|d| SourcedObject {
            source: source.clone(),
            document: d.document,
            line: d.line,
            object: d.object.into_value(),
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_and_errors_name_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("b.yaml"),
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("a.json"),
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let objs = read_manifests(&[dir.path().display().to_string()], false).unwrap();
        let names: Vec<&str> = objs
            .iter()
            .map(|o| o.object["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["a", "b"]);
        let bad = dir.path().join("bad.yaml");
        std::fs::write(
            &bad,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n labels: {}\n",
        )
        .unwrap();
        let e = read_manifests(&[bad.display().to_string()], false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("error parsing {}: ", bad.display())),
            "{e}"
        );
        assert!(e.contains("line 5"), "{e}");
        let e = read_manifests(&["/nonexistent.yaml".into()], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent.yaml"), "{e}");
    }
}
