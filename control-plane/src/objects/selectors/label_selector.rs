//! `LabelSelector`: a conjunction of [`Requirement`]s, parsed from kubectl's `-l` syntax
//! (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) or built from a k8s `LabelSelector`.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::requirement::{Operator, Requirement};
use super::selector_error::SelectorError;

/// A parsed label selector. The empty selector matches everything. Requirements are kept
/// sorted, so two selectors that mean the same print and compare the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Matches every object.
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    pub fn from_requirements(mut requirements: Vec<Requirement>) -> LabelSelector {
        requirements.sort();
        requirements.dedup();
        LabelSelector { requirements }
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Parses kubectl's selector syntax. Whitespace around tokens is ignored.
    pub fn parse(input: &str) -> Result<LabelSelector, SelectorError> {
        let tokens = lex(input).map_err(|reason| syntax(input, reason))?;
        let mut p = Parser {
            tokens: &tokens,
            pos: 0,
        };
        let mut reqs = Vec::new();
        if tokens.is_empty() {
            return Ok(LabelSelector::everything());
        }
        loop {
            reqs.push(p.requirement().map_err(|e| match e {
                ParseError::Syntax(reason) => syntax(input, reason),
                ParseError::Selector(e) => e,
            })?);
            match p.next() {
                None => break,
                Some(Token::Comma) => continue,
                Some(t) => return Err(syntax(input, format!("found '{t}', expected: ',' or end"))),
            }
        }
        Ok(LabelSelector::from_requirements(reqs))
    }

    /// From an object's `LabelSelector`: `matchLabels` become `=` terms and `matchExpressions`
    /// `in`/`notin`/exists/does-not-exist terms. An empty `LabelSelector` matches everything.
    pub fn from_k8s(selector: &meta::LabelSelector) -> Result<LabelSelector, SelectorError> {
        let mut reqs = Vec::new();
        for (k, v) in selector.match_labels.iter().flatten() {
            reqs.push(Requirement::new(k, Operator::Equals, [v.clone()])?);
        }
        for expr in selector.match_expressions.iter().flatten() {
            let op = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::InvalidOperator {
                        operator: other.to_string(),
                    })
                }
            };
            reqs.push(Requirement::new(
                &expr.key,
                op,
                expr.values.clone().unwrap_or_default(),
            )?);
        }
        Ok(LabelSelector::from_requirements(reqs))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches<'a, I>(&self, labels: I) -> bool
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let map: BTreeMap<&str, &str> = labels.into_iter().collect();
        self.requirements
            .iter()
            .all(|r| r.matches(|k| map.get(k).copied()))
    }

    /// Convenience for `BTreeMap<String, String>` label maps (k8s-openapi's type).
    pub fn matches_map(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        self.matches(
            labels
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(ToString::to_string).collect();
        write!(f, "{}", parts.join(","))
    }
}

fn syntax(input: &str, reason: String) -> SelectorError {
    SelectorError::Syntax {
        input: input.to_string(),
        reason,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Comma,
    Open,
    Close,
    Eq,
    DoubleEq,
    NotEq,
    Bang,
    Gt,
    Lt,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Token::Ident(s) => s.as_str(),
            Token::Comma => ",",
            Token::Open => "(",
            Token::Close => ")",
            Token::Eq => "=",
            Token::DoubleEq => "==",
            Token::NotEq => "!=",
            Token::Bang => "!",
            Token::Gt => ">",
            Token::Lt => "<",
        };
        f.write_str(s)
    }
}

fn lex(input: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        let tok = match c {
            c if c.is_whitespace() => continue,
            ',' => Token::Comma,
            '(' => Token::Open,
            ')' => Token::Close,
            '>' => Token::Gt,
            '<' => Token::Lt,
            '=' if chars.peek() == Some(&'=') => {
                chars.next();
                Token::DoubleEq
            }
            '=' => Token::Eq,
            '!' if chars.peek() == Some(&'=') => {
                chars.next();
                Token::NotEq
            }
            '!' => Token::Bang,
            _ => {
                let mut ident = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || ",()=!<>".contains(n) {
                        break;
                    }
                    ident.push(n);
                    chars.next();
                }
                Token::Ident(ident)
            }
        };
        out.push(tok);
    }
    Ok(out)
}

enum ParseError {
    Syntax(String),
    Selector(SelectorError),
}

impl From<SelectorError> for ParseError {
    fn from(e: SelectorError) -> Self {
        ParseError::Selector(e)
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        match self.next() {
            Some(Token::Ident(s)) => Ok(s),
            Some(t) => Err(ParseError::Syntax(format!("found '{t}', expected: {what}"))),
            None => Err(ParseError::Syntax(format!("found end, expected: {what}"))),
        }
    }

    fn requirement(&mut self) -> Result<Requirement, ParseError> {
        if self.peek() == Some(&Token::Bang) {
            self.pos += 1;
            let key = self.ident("label key")?;
            return Ok(Requirement::new(&key, Operator::DoesNotExist, [])?);
        }
        let key = self.ident("label key")?;
        let op = match self.peek() {
            None | Some(Token::Comma) => return Ok(Requirement::new(&key, Operator::Exists, [])?),
            Some(Token::Ident(word)) if word == "in" => Operator::In,
            Some(Token::Ident(word)) if word == "notin" => Operator::NotIn,
            Some(Token::Eq) | Some(Token::DoubleEq) => Operator::Equals,
            Some(Token::NotEq) => Operator::NotEquals,
            Some(Token::Gt) => Operator::GreaterThan,
            Some(Token::Lt) => Operator::LessThan,
            Some(t) => {
                return Err(ParseError::Syntax(format!(
                    "found '{t}', expected: in, notin, =, ==, !=, gt, lt"
                )))
            }
        };
        self.pos += 1;
        let values = match op {
            Operator::In | Operator::NotIn => self.value_list()?,
            _ => match self.peek() {
                // `a=` selects an empty value.
                None | Some(Token::Comma) => vec![String::new()],
                _ => vec![self.ident("label value")?],
            },
        };
        Ok(Requirement::new(&key, op, values)?)
    }

    fn value_list(&mut self) -> Result<Vec<String>, ParseError> {
        match self.next() {
            Some(Token::Open) => {}
            _ => return Err(ParseError::Syntax("expected '(' after in/notin".into())),
        }
        let mut values = Vec::new();
        loop {
            match self.next() {
                Some(Token::Close) => return Ok(values),
                Some(Token::Ident(v)) => {
                    values.push(v);
                    match self.next() {
                        Some(Token::Comma) => continue,
                        Some(Token::Close) => return Ok(values),
                        _ => return Err(ParseError::Syntax("expected ',' or ')'".into())),
                    }
                }
                _ => return Err(ParseError::Syntax("expected a value or ')'".into())),
            }
        }
    }
}

#[cfg(test)]
#[path = "label_selector_tests.rs"]
mod tests;
