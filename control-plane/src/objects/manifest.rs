//! `Manifest`: user input (JSON, a stream of JSON objects, or multi-document YAML) split into
//! objects of served kinds, with errors that carry the document number and line.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::dynamic_object::{DynamicObject, ObjectError};

/// Largest manifest accepted in one call (many documents, each at most the store's value limit).
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024 * 1024;

/// One object from a manifest: its 1-based document number (empty documents are not counted)
/// and the 1-based line where that document starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestDocument {
    pub document: usize,
    pub line: u64,
    pub object: DynamicObject,
}

/// What went wrong in a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestProblem {
    #[error("{0}")]
    Syntax(String),
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error("manifest is {0} bytes; the limit is {MAX_MANIFEST_BYTES}")]
    TooLarge(usize),
    #[error("the manifest contains no objects")]
    Empty,
}

/// A manifest error with its place: `unknown kind Foo in apiVersion v1 (document 2, line 14)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    /// 1-based document number (0 for errors about the whole input).
    pub document: usize,
    /// 1-based line in the whole input, when known.
    pub line: Option<u64>,
    pub problem: ManifestProblem,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.problem)?;
        match (self.document, self.line) {
            (0, _) => Ok(()),
            (d, Some(l)) => write!(f, " (document {d}, line {l})"),
            (d, None) => write!(f, " (document {d})"),
        }
    }
}

/// Where `apiVersion` and `kind` sit in a YAML document, for error lines.
#[derive(Deserialize)]
struct HeaderSpans {
    kind: Option<serde_saphyr::Spanned<Value>>,
    #[serde(rename = "apiVersion")]
    api_version: Option<serde_saphyr::Spanned<Value>>,
}

/// Parses a manifest. Input whose first non-blank character is `{` or `[` is JSON (one value or
/// a stream of values); anything else is YAML with `---`-separated documents. `kind: List`
/// objects are expanded into their items.
pub fn parse_manifest(input: &str) -> Result<Vec<ManifestDocument>, ManifestError> {
    if input.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError {
            document: 0,
            line: None,
            problem: ManifestProblem::TooLarge(input.len()),
        });
    }
    let docs = if input.trim_start().starts_with(['{', '[']) {
        parse_json(input)?
    } else {
        parse_yaml(input)?
    };
    if docs.is_empty() {
        return Err(ManifestError {
            document: 0,
            line: None,
            problem: ManifestProblem::Empty,
        });
    }
    Ok(docs)
}

fn parse_json(input: &str) -> Result<Vec<ManifestDocument>, ManifestError> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(input).into_iter::<Value>();
    let mut document = 0;
    loop {
        let start = stream.byte_offset();
        let next = stream.next();
        let Some(next) = next else { break };
        document += 1;
        let doc_line = line_of_offset(input, start + leading_ws(&input[start..]));
        let value = next.map_err(|e| ManifestError {
            document,
            line: Some(e.line() as u64),
            problem: ManifestProblem::Syntax(strip_position(&e.to_string(), e.line(), e.column())),
        })?;
        let text = &input[start..stream.byte_offset()];
        let kind_line = text
            .lines()
            .position(|l| l.contains("\"kind\""))
            .map(|i| doc_line + i as u64);
        push_objects(value, document, doc_line, kind_line, &mut out)?;
    }
    Ok(out)
}

fn parse_yaml(input: &str) -> Result<Vec<ManifestDocument>, ManifestError> {
    let mut out = Vec::new();
    let mut document = 0;
    for (start_line, text) in split_yaml_documents(input) {
        if is_blank_document(text) {
            continue;
        }
        document += 1;
        let offset = start_line - 1;
        let syntax = |e: serde_saphyr::Error| {
            let loc = e.location();
            let message = e.without_snippet().to_string();
            let message = match loc {
                Some(l) => strip_position(&message, l.line() as usize, l.column() as usize),
                None => message,
            };
            ManifestError {
                document,
                line: loc.map(|l| l.line() + offset),
                problem: ManifestProblem::Syntax(
                    message.replace(", set DuplicateKeyPolicy in Options if acceptable", ""),
                ),
            }
        };
        let value: Value = serde_saphyr::from_str(text).map_err(syntax)?;
        let spans: Option<HeaderSpans> = serde_saphyr::from_str(text).ok();
        let first_content = text
            .lines()
            .position(|l| !is_blank_line(l))
            .map_or(start_line, |i| start_line + i as u64);
        let kind_line = spans.and_then(|s| {
            let span = s.kind.or(s.api_version)?;
            Some(span.referenced.line() + offset)
        });
        push_objects(value, document, first_content, kind_line, &mut out)?;
    }
    Ok(out)
}

/// Adds `value` (or, for a `List`, its items) to `out` as objects of served kinds.
fn push_objects(
    value: Value,
    document: usize,
    doc_line: u64,
    kind_line: Option<u64>,
    out: &mut Vec<ManifestDocument>,
) -> Result<(), ManifestError> {
    let err = |problem: ObjectError| ManifestError {
        document,
        line: Some(kind_line.unwrap_or(doc_line)),
        problem: ManifestProblem::Object(problem),
    };
    if is_list(&value) {
        let items = match value.get("items") {
            Some(Value::Array(items)) => items.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                return Err(err(ObjectError::NotAnObject(
                    "a List whose items are not a list",
                )))
            }
        };
        for item in items {
            out.push(ManifestDocument {
                document,
                line: doc_line,
                object: DynamicObject::from_value(item).map_err(err)?,
            });
        }
        return Ok(());
    }
    out.push(ManifestDocument {
        document,
        line: doc_line,
        object: DynamicObject::from_value(value).map_err(err)?,
    });
    Ok(())
}

/// `kind: List` (or `FooList`) in group-less `v1`, as kubectl accepts.
fn is_list(value: &Value) -> bool {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    value.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && kind.ends_with("List")
        && value
            .get("items")
            .is_some_and(|i| i.is_array() || i.is_null())
}

/// Splits YAML into documents at `---` / `...` marker lines (YAML forbids those markers at the
/// start of a line inside a document, so a line scan is exact). Yields (1-based start line,
/// text); the `---` line stays in its document so the parser sees it.
fn split_yaml_documents(input: &str) -> Vec<(u64, &str)> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u64;
    let mut offset = 0usize;
    for (i, line) in input.split_inclusive('\n').enumerate() {
        let line_no = i as u64 + 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        if is_marker(bare, "---") && offset > start {
            docs.push((start_line, &input[start..offset]));
            start = offset;
            start_line = line_no;
        }
        offset += line.len();
        if is_marker(bare, "...") {
            docs.push((start_line, &input[start..offset]));
            start = offset;
            start_line = line_no + 1;
        }
    }
    if offset > start {
        docs.push((start_line, &input[start..offset]));
    }
    docs
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn is_blank_line(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
}

fn is_blank_document(text: &str) -> bool {
    text.lines().all(is_blank_line)
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

fn line_of_offset(input: &str, offset: usize) -> u64 {
    input.as_bytes()[..offset.min(input.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
        + 1
}

/// Removes the parser's own ` at line L, column C` (its lines are relative to the document).
fn strip_position(message: &str, line: usize, column: usize) -> String {
    message
        .strip_suffix(&format!(" at line {line} column {column}"))
        .or_else(|| message.strip_suffix(&format!(" at line {line}, column {column}")))
        .unwrap_or(message)
        .to_string()
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
