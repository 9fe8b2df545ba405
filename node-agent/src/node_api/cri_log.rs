//! The CRI container log format, parsed into plain lines (pure, no IO).
//!
//! A CRI runtime writes one record per line: `<RFC 3339 time> <stream> <tag> <content>`, where
//! the stream is `stdout` or `stderr` and the tag is `F` (the content ends a line) or `P` (a
//! partial line: the runtime split a long line, and the rest follows in later records of the
//! same stream), e.g. `2016-10-06T00:17:09.669794202Z stdout F hello`. The kubelet reassembles
//! partial records into whole lines; [`LineAssembler`] does the same, per stream.

use std::collections::HashMap;

use k8s_openapi::jiff::Timestamp;

/// Which output of the container a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One record of a CRI log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord<'a> {
    pub time: &'a str,
    pub stream: Stream,
    /// `P`: the line continues in the next record of this stream.
    pub partial: bool,
    pub content: &'a str,
}

/// A whole line of output, with the time of its first record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub time: String,
    pub stream: Stream,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a CRI log record: {0:?}")]
pub struct ParseError(pub String);

/// Parses one record (without its trailing newline).
pub fn parse_record(line: &str) -> Result<LogRecord<'_>, ParseError> {
    let bad = || ParseError(line.chars().take(80).collect());
    let (time, rest) = line.split_once(' ').ok_or_else(bad)?;
    let (stream, rest) = rest.split_once(' ').ok_or_else(bad)?;
    let stream = match stream {
        "stdout" => Stream::Stdout,
        "stderr" => Stream::Stderr,
        _ => return Err(bad()),
    };
    // The tag may grow `:`-separated fields; the first one says partial or full. The content
    // may be empty (an empty line), and then the separator is optional.
    let (tag, content) = rest.split_once(' ').unwrap_or((rest, ""));
    let partial = match tag.split(':').next() {
        Some("P") => true,
        Some("F") => false,
        _ => return Err(bad()),
    };
    if time.is_empty() {
        return Err(bad());
    }
    Ok(LogRecord {
        time,
        stream,
        partial,
        content,
    })
}

/// Joins partial records into whole lines, keeping each stream's pending part apart.
#[derive(Debug, Default)]
pub struct LineAssembler {
    pending: HashMap<Stream, (String, String)>,
}

impl LineAssembler {
    /// Feeds one record; returns the line it completes, if any.
    pub fn push(&mut self, r: &LogRecord<'_>) -> Option<LogLine> {
        let (time, text) = self
            .pending
            .entry(r.stream)
            .or_insert_with(|| (r.time.to_string(), String::new()));
        text.push_str(r.content);
        if r.partial {
            return None;
        }
        let (time, text) = (std::mem::take(time), std::mem::take(text));
        self.pending.remove(&r.stream);
        Some(LogLine {
            time,
            stream: r.stream,
            text,
        })
    }

    /// Feeds every complete record in `text` (records end in `\n`; anything after the last
    /// newline is not yet a record and is left alone). Malformed records are skipped, as the
    /// kubelet skips them. Returns the completed lines and how many bytes were consumed.
    pub fn push_text(&mut self, text: &str) -> (Vec<LogLine>, usize) {
        let consumed = text.rfind('\n').map_or(0, |i| i + 1);
        let lines = text[..consumed]
            .lines()
            .filter_map(|l| parse_record(l).ok())
            .filter_map(|r| self.push(&r))
            .collect();
        (lines, consumed)
    }
}

/// Every whole line of a log file's text.
pub fn parse_log(text: &str) -> Vec<LogLine> {
    LineAssembler::default().push_text(text).0
}

/// What `--tail` and `--since` keep of a log.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFilter {
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Only lines at or after this time.
    pub since: Option<Timestamp>,
}

impl LogFilter {
    /// Whether a line passes `since` (a line whose time does not parse is kept).
    pub fn admits(&self, line: &LogLine) -> bool {
        match (self.since, line.time.parse::<Timestamp>()) {
            (Some(since), Ok(t)) => t >= since,
            _ => true,
        }
    }

    /// The lines kept, in order.
    pub fn apply(&self, lines: Vec<LogLine>) -> Vec<LogLine> {
        let mut kept: Vec<LogLine> = lines.into_iter().filter(|l| self.admits(l)).collect();
        if let Some(n) = self.tail {
            let skip = kept.len().saturating_sub(n);
            kept.drain(..skip);
        }
        kept
    }
}

/// Lines as a container printed them: each text and a newline.
pub fn render(lines: &[LogLine]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.text.as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = "2024-05-01T10:00:00.000000001Z";
    const T2: &str = "2024-05-01T10:00:05.5Z";

    #[test]
    fn a_full_record_parses_into_its_parts() {
        let line = format!("{T1} stdout F hello world");
        let r = parse_record(&line).unwrap();
        assert_eq!(
            r,
            LogRecord {
                time: T1,
                stream: Stream::Stdout,
                partial: false,
                content: "hello world"
            }
        );
        let line = format!("{T1} stderr P  two  spaces ");
        let r = parse_record(&line).unwrap();
        assert_eq!((r.stream, r.partial), (Stream::Stderr, true));
        assert_eq!(r.content, " two  spaces ", "content is kept byte for byte");
    }

    #[test]
    fn empty_lines_and_tags_with_more_fields_parse() {
        assert_eq!(parse_record(&format!("{T1} stdout F")).unwrap().content, "");
        assert_eq!(
            parse_record(&format!("{T1} stdout F ")).unwrap().content,
            ""
        );
        assert!(!parse_record(&format!("{T1} stdout F:x y")).unwrap().partial);
    }

    #[test]
    fn malformed_records_are_errors() {
        for bad in [
            "",
            "no-spaces",
            &format!("{T1} stdin F x"),
            &format!("{T1} stdout X x"),
            &format!("{T1} stdout"),
        ] {
            assert!(parse_record(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn partial_records_join_per_stream() {
        let text = format!(
            "{T1} stdout P abc\n{T1} stderr F oops\n{T1} stdout P def\n{T2} stdout F ghi\n{T2} stdout F next\n"
        );
        let lines = parse_log(&text);
        let texts: Vec<_> = lines.iter().map(|l| (l.stream, l.text.as_str())).collect();
        assert_eq!(
            texts,
            [
                (Stream::Stderr, "oops"),
                (Stream::Stdout, "abcdefghi"),
                (Stream::Stdout, "next")
            ]
        );
        assert_eq!(
            lines[1].time, T1,
            "a joined line has its first record's time"
        );
    }

    #[test]
    fn an_unfinished_record_is_not_consumed() {
        let mut a = LineAssembler::default();
        let text = format!("{T1} stdout F one\n{T1} stdout F tw");
        let (lines, used) = a.push_text(&text);
        assert_eq!(lines.len(), 1);
        assert_eq!(&text[used..], format!("{T1} stdout F tw"));
        let (lines, _) = a.push_text(&format!("{T1} stdout F two\n"));
        assert_eq!(lines[0].text, "two");
    }

    #[test]
    fn malformed_records_are_skipped_in_a_file() {
        let lines = parse_log(&format!("garbage\n{T1} stdout F ok\n"));
        assert_eq!(render(&lines), b"ok\n");
    }

    #[test]
    fn tail_and_since_keep_the_right_lines() {
        let text = format!("{T1} stdout F a\n{T1} stdout F b\n{T2} stdout F c\n");
        let all = parse_log(&text);
        let tail = LogFilter {
            tail: Some(2),
            since: None,
        };
        assert_eq!(render(&tail.apply(all.clone())), b"b\nc\n");
        let none = LogFilter {
            tail: Some(0),
            since: None,
        };
        assert!(none.apply(all.clone()).is_empty());
        let since = LogFilter {
            tail: None,
            since: Some("2024-05-01T10:00:01Z".parse().unwrap()),
        };
        assert_eq!(render(&since.apply(all.clone())), b"c\n");
        assert_eq!(render(&LogFilter::default().apply(all)), b"a\nb\nc\n");
    }
}
