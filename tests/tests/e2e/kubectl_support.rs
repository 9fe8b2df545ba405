//! Running the keelctl binary like kubectl in end-to-end tests (its own HOME, so no user config
//! leaks in), golden files under tests/testdata/golden/kubectl/ (`KEEL_UPDATE_GOLDEN=1`
//! rewrites them), and normalizing what changes between runs (ages, uids, timestamps,
//! resourceVersions).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keel_chaos::find_binary;

/// What one keelctl run printed.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// keelctl pointed at a cell, with a private HOME.
pub struct Keelctl {
    bin: PathBuf,
    servers: String,
    pub home: tempfile::TempDir,
}

impl Keelctl {
    pub fn new(servers: &str) -> Keelctl {
        Keelctl {
            bin: find_binary("keelctl").expect("keelctl is built"),
            servers: servers.to_string(),
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("HOME", self.home.path())
            .env("KEEL_SERVERS", &self.servers)
            .env_remove("KEELCONFIG")
            .env_remove("KUBE_EDITOR")
            .env_remove("EDITOR");
        c
    }

    pub fn run_with(&self, mut c: Command, stdin: Option<&str>) -> Run {
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("keelctl starts");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("keelctl runs");
        Run {
            ok: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(self.command(args), None)
    }

    /// Runs and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(
            r.ok,
            "keelctl {args:?} failed ({:?}):\n{}{}",
            r.code, r.stdout, r.stderr
        );
        r.stdout
    }

    /// Runs and requires failure with exit status 1; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code,
            Some(1),
            "keelctl {args:?} should fail:\n{}{}",
            r.stdout,
            r.stderr
        );
        r.stderr
    }
}

/// The seed manifests' testdata copies (control-plane/src/objects/testdata).
pub fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../control-plane/src/objects/testdata")
        .join(name)
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/golden/kubectl")
        .join(name)
}

/// Compares `actual` with the golden file (or rewrites it when `KEEL_UPDATE_GOLDEN=1`).
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var("KEEL_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("golden {} missing ({e}); run with KEEL_UPDATE_GOLDEN=1 to create it. Output:\n{actual}", path.display())
    });
    assert!(
        want == actual,
        "output differs from golden {}\n--- want\n{want}--- got\n{actual}",
        path.display()
    );
}

/// Replaces the AGE column's cells of every table in `text` with `*`, keeping the alignment.
pub fn normalize_tables(text: &str) -> String {
    let mut out = String::new();
    let mut age: Option<(usize, Option<usize>)> = None;
    for line in text.lines() {
        if line.is_empty() {
            age = None;
            out.push('\n');
            continue;
        }
        if age.is_none() {
            // A header line: find AGE and where the next column starts.
            let start = line.match_indices("AGE").map(|(i, _)| i).find(|i| {
                (*i == 0 || line.as_bytes()[i - 1] == b' ')
                    && line[*i + 3..].chars().next().is_none_or(|c| c == ' ')
            });
            age = Some(match start {
                Some(s) => {
                    let rest = &line[s + 3..];
                    let next = rest.find(|c: char| c != ' ').map(|n| s + 3 + n);
                    (s, next)
                }
                None => (usize::MAX, None),
            });
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let (start, end) = age.unwrap_or((usize::MAX, None));
        if start >= line.len() {
            out.push_str(line);
        } else {
            let end = end.unwrap_or(line.len()).min(line.len());
            let width = end - start;
            out.push_str(&line[..start]);
            if end == line.len() {
                out.push('*');
            } else {
                out.push_str(&format!("{:<width$}", "*"));
            }
            out.push_str(&line[end..]);
        }
        out.push('\n');
    }
    out
}

/// Replaces per-run values in YAML, JSON and describe output.
pub fn normalize_object_text(text: &str) -> String {
    const FIELDS: &[(&str, &str)] = &[
        ("uid", "<uid>"),
        ("creationTimestamp", "<timestamp>"),
        ("resourceVersion", "<rv>"),
    ];
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let mut replaced = None;
        for (field, placeholder) in FIELDS {
            let yaml = format!("{field}: ");
            let json = format!("\"{field}\": ");
            let describe = "CreationTimestamp:";
            if trimmed.starts_with(&yaml)
                && !trimmed.ends_with("null")
                && !trimmed.ends_with("\"\"")
            {
                replaced = Some(format!("{indent}{yaml}{placeholder}"));
            } else if trimmed.starts_with(&json) && !trimmed.starts_with(&format!("{json}\"\"")) {
                let comma = if trimmed.ends_with(',') { "," } else { "" };
                replaced = Some(format!("{indent}{json}\"{placeholder}\"{comma}"));
            } else if trimmed.starts_with(describe) && *field == "creationTimestamp" {
                let value_at =
                    trimmed[describe.len()..].len() - trimmed[describe.len()..].trim_start().len();
                replaced = Some(format!(
                    "{indent}{describe}{}{placeholder}",
                    " ".repeat(value_at)
                ));
            }
        }
        out.push_str(&replaced.unwrap_or_else(|| line.to_string()));
        out.push('\n');
    }
    out
}

#[test]
fn normalizers_keep_alignment() {
    let t = "NAME   READY   AGE   X\nweb    0/1     12s   y\n\nNAME   AGE\nc      3m4s\n";
    assert_eq!(
        normalize_tables(t),
        "NAME   READY   AGE   X\nweb    0/1     *     y\n\nNAME   AGE\nc      *\n"
    );
    assert_eq!(
        normalize_object_text(
            "  uid: abc\n  \"resourceVersion\": \"12\",\nCreationTimestamp:  Mon\n"
        ),
        "  uid: <uid>\n  \"resourceVersion\": \"<rv>\",\nCreationTimestamp:  <timestamp>\n"
    );
}
