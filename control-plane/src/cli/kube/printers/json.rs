//! `to_json`: JSON as kubectl's `-o json` prints it (Go's encoding/json, indented by four
//! spaces, keys sorted, `<`, `>` and `&` escaped as `\u003c`, `\u003e`, `\u0026`).

use serde::Serialize;
use serde_json::Value;

/// Pretty JSON with a trailing newline.
pub fn to_json(value: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serializing a Value into memory cannot fail.
    let _ = value.serialize(&mut ser);
    let text = String::from_utf8_lossy(&buf);
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indented_sorted_and_html_escaped() {
        let v = json!({"b": {"x": []}, "a": "<none> & more", "c": {}});
        assert_eq!(
            to_json(&v),
            "{\n    \"a\": \"\\u003cnone\\u003e \\u0026 more\",\n    \"b\": {\n        \"x\": []\n    },\n    \"c\": {}\n}\n"
        );
    }
}
