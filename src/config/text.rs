//! Kea's extended JSON: comments, `<?include?>` and trailing commas, with positions
//! (Kea ARM 8.1.1 / 9.1.1 "JSON Syntax").
//!
//! The reader produces a [`Node`] tree where every value and every map key remembers the file,
//! line and column it came from, so later stages can report `FILE:LINE.COL: message` for any
//! value, including values spliced in from an included file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Kea refuses includes nested deeper than this (its lexer's include stack limit).
const MAX_INCLUDE_DEPTH: usize = 10;
/// Deeper nesting than this is no real configuration; refusing it keeps recursion bounded.
const MAX_NESTING: usize = 128;

/// A position in a configuration source: file name (or `<string>`), 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pos {
    /// File name as given (command line or include directive), or `<string>`.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
}

impl Pos {
    /// A position for values that did not come from any text (defaults, API input).
    pub fn none() -> Pos {
        Pos { file: Arc::from("<default>"), line: 0, col: 0 }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}.{}", self.file, self.line, self.col)
    }
}

/// One JSON value with the position of its first character.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value itself.
    pub value: Value,
}

/// A map entry: key, key position, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key text.
    pub key: String,
    /// Where the key's opening quote is.
    pub key_pos: Pos,
    /// The value.
    pub value: Node,
}

/// JSON values as Kea's `Element` types: integers and reals are distinct (Kea ARM 8.1.1).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer literal (Kea stores int64).
    Int(i64),
    /// A literal with a fraction or exponent (Kea's real), including Kea's `.5` form.
    Float(f64),
    /// A string, escapes resolved.
    Str(String),
    /// A list.
    List(Vec<Node>),
    /// A map, in file order; keys are unique (duplicates are refused while reading).
    Map(Vec<Entry>),
}

impl Value {
    /// Kea's type names, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "real",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }
}

impl Node {
    /// The entry of a map node named `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// Converts to `serde_json::Value` (positions dropped), keeping key order.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|e| (e.key.clone(), e.value.to_json())).collect()),
        }
    }

    /// Builds a position-less node tree from JSON (for API input and rendered configs).
    pub fn from_json(v: &serde_json::Value, pos: &Pos) -> Node {
        use serde_json::Value as J;
        let value = match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(a) => Value::List(a.iter().map(|x| Node::from_json(x, pos)).collect()),
            J::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, x)| Entry { key: k.clone(), key_pos: pos.clone(), value: Node::from_json(x, pos) })
                    .collect(),
            ),
        };
        Node { pos: pos.clone(), value }
    }
}

/// A syntax error, a missing include, or a duplicate key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{pos}: {msg}")]
pub struct TextError {
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong.
    pub msg: String,
}

/// A non-fatal remark (trailing comma), printed by `-t` like Kea's warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// Where.
    pub pos: Pos,
    /// What.
    pub msg: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.msg)
    }
}

/// Where include directives find their files: Kea resolves relative paths against the
/// process's working directory, which tests may replace.
#[derive(Debug, Clone, Default)]
pub struct IncludeBase(pub Option<PathBuf>);

impl IncludeBase {
    fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        match &self.0 {
            Some(base) if p.is_relative() => base.join(p),
            _ => p.to_path_buf(),
        }
    }
}

/// Largest configuration file (or included file) read; far above any real configuration.
pub const MAX_FILE_SIZE: u64 = 64 << 20;

/// Reads and parses a configuration file (Kea ARM 8.1.1).
pub fn parse_file(path: &Path, warnings: &mut Vec<Warning>) -> Result<Node, TextError> {
    let name: Arc<str> = Arc::from(path.display().to_string());
    let text = crate::safefs::read_regular_file(path, MAX_FILE_SIZE).map_err(|e| TextError {
        pos: Pos { file: name.clone(), line: 0, col: 0 },
        msg: format!("cannot read configuration file: {e}"),
    })?;
    parse_bytes(name, text, &IncludeBase::default(), warnings)
}

/// Parses configuration text held in memory; `name` is used in positions.
pub fn parse_str(name: &str, text: &str, warnings: &mut Vec<Warning>) -> Result<Node, TextError> {
    parse_bytes(Arc::from(name), text.as_bytes().to_vec(), &IncludeBase::default(), warnings)
}

/// Parses text with an explicit base directory for relative includes.
pub fn parse_bytes(
    name: Arc<str>,
    text: Vec<u8>,
    base: &IncludeBase,
    warnings: &mut Vec<Warning>,
) -> Result<Node, TextError> {
    parse_with(Lexer::new(name, text, Some(base.clone())), warnings)
}

/// Parses a control command (Kea ARM 8.8 "Management API"): JSON with the comments Kea's
/// command reader skips, but never an include directive, since a command comes from a client
/// and must not make the server read its files.
pub fn parse_command(text: &[u8], warnings: &mut Vec<Warning>) -> Result<Node, TextError> {
    parse_with(Lexer::new(Arc::from("<command>"), text.to_vec(), None), warnings)
}

fn parse_with(lex: Lexer, warnings: &mut Vec<Warning>) -> Result<Node, TextError> {
    let mut p = Parser { lex, peeked: None, warnings, depth: 0 };
    let node = p.value()?;
    let (tok, pos) = p.next()?;
    if tok != Tok::Eof {
        return Err(TextError {
            pos,
            msg: format!("syntax error, unexpected {}, expecting end of file", tok.describe()),
        });
    }
    Ok(node)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Colon,
    Comma,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LBrace => "{".into(),
            Tok::RBrace => "}".into(),
            Tok::LBracket => "[".into(),
            Tok::RBracket => "]".into(),
            Tok::Colon => ":".into(),
            Tok::Comma => ",".into(),
            Tok::Str(s) => format!("string \"{}\"", s.chars().take(40).collect::<String>()),
            Tok::Int(i) => format!("integer {i}"),
            Tok::Float(f) => format!("real {f}"),
            Tok::Bool(b) => format!("boolean {b}"),
            Tok::Null => "null".into(),
            Tok::Eof => "end of file".into(),
        }
    }
}

struct Source {
    file: Arc<str>,
    text: Vec<u8>,
    i: usize,
    line: u32,
    col: u32,
}

impl Source {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.i).copied()
    }
    fn peek_at(&self, k: usize) -> Option<u8> {
        self.text.get(self.i + k).copied()
    }
    fn starts_with(&self, s: &[u8]) -> bool {
        self.text.get(self.i..).is_some_and(|rest| rest.starts_with(s))
    }
    fn bump(&mut self) -> Option<u8> {
        let c = self.text.get(self.i).copied()?;
        self.i += 1;
        if c == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if c & 0xC0 != 0x80 {
            // Columns count characters, so UTF-8 continuation bytes do not advance them.
            self.col += 1;
        }
        Some(c)
    }
    fn pos(&self) -> Pos {
        Pos { file: self.file.clone(), line: self.line, col: self.col }
    }
}

struct Lexer {
    stack: Vec<Source>,
    /// Where includes are read from; `None` refuses every include (commands).
    base: Option<IncludeBase>,
}

impl Lexer {
    fn new(file: Arc<str>, text: Vec<u8>, base: Option<IncludeBase>) -> Lexer {
        Lexer { stack: vec![Source { file, text, i: 0, line: 1, col: 1 }], base }
    }

    fn err<T>(pos: Pos, msg: impl Into<String>) -> Result<T, TextError> {
        Err(TextError { pos, msg: msg.into() })
    }

    /// Skips blanks and comments of the current source; returns false at its end.
    fn skip_trivia(src: &mut Source) -> Result<bool, TextError> {
        loop {
            match src.peek() {
                None => return Ok(false),
                Some(b' ' | b'\t' | b'\r' | b'\n') => {
                    src.bump();
                }
                Some(b'#') => {
                    while !matches!(src.peek(), None | Some(b'\n')) {
                        src.bump();
                    }
                }
                Some(b'/') if src.peek_at(1) == Some(b'/') => {
                    while !matches!(src.peek(), None | Some(b'\n')) {
                        src.bump();
                    }
                }
                Some(b'/') if src.peek_at(1) == Some(b'*') => {
                    let start = src.pos();
                    src.bump();
                    src.bump();
                    loop {
                        if src.starts_with(b"*/") {
                            src.bump();
                            src.bump();
                            break;
                        }
                        if src.bump().is_none() {
                            return Self::err(start, "comment not closed: /* has no matching */");
                        }
                    }
                }
                Some(_) => return Ok(true),
            }
        }
    }

    fn next(&mut self) -> Result<(Tok, Pos), TextError> {
        loop {
            let depth = self.stack.len();
            let Some(src) = self.stack.last_mut() else {
                return Ok((Tok::Eof, Pos::none()));
            };
            if !Self::skip_trivia(src)? {
                if depth > 1 {
                    self.stack.pop();
                    continue;
                }
                return Ok((Tok::Eof, src.pos()));
            }
            let pos = src.pos();
            if src.starts_with(b"<?include") {
                if self.base.is_none() {
                    return Self::err(pos, "include directives are not allowed in commands");
                }
                self.include(pos)?;
                continue;
            }
            let Some(c) = src.peek() else { continue };
            let tok = match c {
                b'{' => Tok::LBrace,
                b'}' => Tok::RBrace,
                b'[' => Tok::LBracket,
                b']' => Tok::RBracket,
                b':' => Tok::Colon,
                b',' => Tok::Comma,
                b'"' => return Ok((Tok::Str(Self::string(src)?), pos)),
                b'-' | b'.' | b'0'..=b'9' => return Ok((Self::number(src)?, pos)),
                b'a'..=b'z' | b'A'..=b'Z' => {
                    let mut word = String::new();
                    while let Some(c @ (b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_')) = src.peek() {
                        word.push(c as char);
                        src.bump();
                    }
                    return match word.as_str() {
                        "true" => Ok((Tok::Bool(true), pos)),
                        "false" => Ok((Tok::Bool(false), pos)),
                        "null" => Ok((Tok::Null, pos)),
                        _ => Self::err(pos, format!("invalid character: {word}")),
                    };
                }
                other => {
                    let shown =
                        if other.is_ascii_graphic() { (other as char).to_string() } else { format!("\\x{other:02x}") };
                    return Self::err(pos, format!("invalid character: {shown}"));
                }
            };
            src.bump();
            return Ok((tok, pos));
        }
    }

    /// `<?include "path"?>`: splices the named file's text in place, as Kea's lexer does.
    fn include(&mut self, pos: Pos) -> Result<(), TextError> {
        let Some(src) = self.stack.last_mut() else { return Ok(()) };
        for _ in 0..b"<?include".len() {
            src.bump();
        }
        while matches!(src.peek(), Some(b' ' | b'\t')) {
            src.bump();
        }
        if src.peek() != Some(b'"') {
            return Self::err(pos, "include directive needs a quoted file name: <?include \"file\"?>");
        }
        let path = Self::string(src)?;
        while matches!(src.peek(), Some(b' ' | b'\t')) {
            src.bump();
        }
        if !src.starts_with(b"?>") {
            return Self::err(pos, "include directive not closed with ?>");
        }
        src.bump();
        src.bump();
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            return Self::err(pos, format!("too many nested include directives (more than {MAX_INCLUDE_DEPTH})"));
        }
        let Some(base) = &self.base else {
            return Self::err(pos, "include directives are not allowed in commands");
        };
        let resolved = base.resolve(&path);
        let text = match crate::safefs::read_regular_file(&resolved, MAX_FILE_SIZE) {
            Ok(t) => t,
            Err(e) => return Self::err(pos, format!("cannot open include file '{path}': {e}")),
        };
        self.stack.push(Source { file: Arc::from(path.as_str()), text, i: 0, line: 1, col: 1 });
        Ok(())
    }

    fn string(src: &mut Source) -> Result<String, TextError> {
        let start = src.pos();
        src.bump(); // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let here = src.pos();
            match src.bump() {
                None | Some(b'\n') => return Self::err(start, "string not closed: missing \""),
                Some(b'"') => break,
                Some(b'\\') => {
                    let esc = src.bump();
                    match esc {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'/') => out.push(b'/'),
                        Some(b'b') => out.push(8),
                        Some(b'f') => out.push(12),
                        Some(b'n') => out.push(b'\n'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'u') => {
                            let cp = Self::hex4(src, &here)?;
                            let ch = if (0xD800..0xDC00).contains(&cp) {
                                if src.bump() != Some(b'\\') || src.bump() != Some(b'u') {
                                    return Self::err(here, "bad \\u escape: high surrogate without its low half");
                                }
                                let lo = Self::hex4(src, &here)?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Self::err(here, "bad \\u escape: invalid low surrogate");
                                }
                                char::from_u32(0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00))
                            } else {
                                char::from_u32(cp)
                            };
                            let Some(ch) = ch else { return Self::err(here, "bad \\u escape") };
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Self::err(here, "bad escape sequence in string"),
                    }
                }
                Some(c) if c < 0x20 => return Self::err(here, "control character in string"),
                Some(c) => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| TextError { pos: start, msg: "string is not valid UTF-8".into() })
    }

    fn hex4(src: &mut Source, at: &Pos) -> Result<u32, TextError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = src.bump().and_then(|c| (c as char).to_digit(16));
            let Some(d) = d else { return Self::err(at.clone(), "bad \\u escape: expected 4 hex digits") };
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// Kea's number forms: `-?[0-9]+` (integer) and `-?[0-9]*\.[0-9]+([eE][-+]?[0-9]+)?` (real).
    fn number(src: &mut Source) -> Result<Tok, TextError> {
        let start = src.pos();
        let mut s = String::new();
        if src.peek() == Some(b'-') {
            s.push('-');
            src.bump();
        }
        while let Some(c @ b'0'..=b'9') = src.peek() {
            s.push(c as char);
            src.bump();
        }
        let mut real = false;
        if src.peek() == Some(b'.') {
            real = true;
            s.push('.');
            src.bump();
            let before = s.len();
            while let Some(c @ b'0'..=b'9') = src.peek() {
                s.push(c as char);
                src.bump();
            }
            if s.len() == before {
                return Self::err(start, format!("invalid number: {s}"));
            }
        }
        if matches!(src.peek(), Some(b'e' | b'E')) {
            real = true;
            s.push('e');
            src.bump();
            if let Some(c @ (b'+' | b'-')) = src.peek() {
                s.push(c as char);
                src.bump();
            }
            let before = s.len();
            while let Some(c @ b'0'..=b'9') = src.peek() {
                s.push(c as char);
                src.bump();
            }
            if s.len() == before {
                return Self::err(start, format!("invalid number: {s}"));
            }
        }
        if s == "-" || s.is_empty() {
            return Self::err(start, "invalid number");
        }
        if real {
            let t = if s.starts_with('.') || s.starts_with("-.") { s.replacen('.', "0.", 1) } else { s.clone() };
            t.parse::<f64>().map(Tok::Float).map_err(|_| TextError { pos: start, msg: format!("invalid real: {s}") })
        } else {
            s.parse::<i64>()
                .map(Tok::Int)
                .map_err(|_| TextError { pos: start, msg: format!("integer out of range: {s}") })
        }
    }
}

struct Parser<'w> {
    lex: Lexer,
    peeked: Option<(Tok, Pos)>,
    warnings: &'w mut Vec<Warning>,
    depth: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Result<(Tok, Pos), TextError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex.next(),
        }
    }

    fn peek(&mut self) -> Result<&(Tok, Pos), TextError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex.next()?);
        }
        match &self.peeked {
            Some(t) => Ok(t),
            None => unreachable!("peeked was just filled"),
        }
    }

    fn unexpected<T>(tok: &Tok, pos: Pos, expecting: &str) -> Result<T, TextError> {
        Err(TextError { pos, msg: format!("syntax error, unexpected {}, expecting {expecting}", tok.describe()) })
    }

    fn value(&mut self) -> Result<Node, TextError> {
        let (tok, pos) = self.next()?;
        let value = match tok {
            Tok::LBrace => self.with_depth(&pos, |p| p.map(&pos))?,
            Tok::LBracket => self.with_depth(&pos, |p| p.list())?,
            Tok::Str(s) => Value::Str(s),
            Tok::Int(i) => Value::Int(i),
            Tok::Float(f) => Value::Float(f),
            Tok::Bool(b) => Value::Bool(b),
            Tok::Null => Value::Null,
            other => return Self::unexpected(&other, pos, "a value"),
        };
        Ok(Node { pos, value })
    }

    fn with_depth(
        &mut self,
        pos: &Pos,
        f: impl FnOnce(&mut Self) -> Result<Value, TextError>,
    ) -> Result<Value, TextError> {
        if self.depth >= MAX_NESTING {
            return Err(TextError { pos: pos.clone(), msg: format!("nesting deeper than {MAX_NESTING} levels") });
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn map(&mut self, open: &Pos) -> Result<Value, TextError> {
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            let (tok, pos) = self.next()?;
            match tok {
                Tok::RBrace => return Ok(Value::Map(entries)),
                Tok::Str(key) => {
                    let (colon, cpos) = self.next()?;
                    if colon != Tok::Colon {
                        return Self::unexpected(&colon, cpos, ":");
                    }
                    let value = self.value()?;
                    if let Some(first) = entries.iter().find(|e| e.key == key) {
                        return Err(TextError {
                            pos,
                            msg: format!("duplicate \"{key}\" entry (previous at {})", first.key_pos),
                        });
                    }
                    entries.push(Entry { key, key_pos: pos, value });
                    let (sep, spos) = self.next()?;
                    match sep {
                        Tok::Comma => {
                            if self.peek()?.0 == Tok::RBrace {
                                self.warnings.push(Warning { pos: spos, msg: "extra comma in map".into() });
                            }
                        }
                        Tok::RBrace => return Ok(Value::Map(entries)),
                        Tok::Eof => {
                            return Err(TextError { pos: open.clone(), msg: "map not closed: missing }".into() })
                        }
                        other => return Self::unexpected(&other, spos, "\",\" or \"}\""),
                    }
                }
                Tok::Eof => return Err(TextError { pos: open.clone(), msg: "map not closed: missing }".into() }),
                other => return Self::unexpected(&other, pos, "a quoted key or \"}\""),
            }
        }
    }

    fn list(&mut self) -> Result<Value, TextError> {
        let mut items = Vec::new();
        if self.peek()?.0 == Tok::RBracket {
            self.next()?;
            return Ok(Value::List(items));
        }
        loop {
            items.push(self.value()?);
            let (sep, spos) = self.next()?;
            match sep {
                Tok::Comma => {
                    if self.peek()?.0 == Tok::RBracket {
                        self.warnings.push(Warning { pos: spos, msg: "extra comma in list".into() });
                        self.next()?;
                        return Ok(Value::List(items));
                    }
                }
                Tok::RBracket => return Ok(Value::List(items)),
                other => return Self::unexpected(&other, spos, "\",\" or \"]\""),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<(Node, Vec<Warning>), TextError> {
        let mut w = Vec::new();
        parse_str("<string>", s, &mut w).map(|n| (n, w))
    }

    #[test]
    fn comments_all_three_styles() {
        let (n, w) = parse("# shell\n{ // c++\n \"a\": /* c */ 1, \"b\": [true, null, \"x\"] }\n").unwrap();
        assert!(w.is_empty());
        assert_eq!(n.to_json(), serde_json::json!({"a": 1, "b": [true, null, "x"]}));
    }

    #[test]
    fn positions_are_line_and_column() {
        let (n, _) = parse("{\n  \"a\": {\n    \"b\": 12\n  }\n}").unwrap();
        let a = n.get("a").unwrap();
        assert_eq!((a.key_pos.line, a.key_pos.col), (2, 3));
        let b = a.value.get("b").unwrap();
        assert_eq!((b.key_pos.line, b.key_pos.col), (3, 5));
        assert_eq!((b.value.pos.line, b.value.pos.col), (3, 10));
    }

    #[test]
    fn kea_reals_and_integers() {
        let (n, _) = parse("[.5, -0.25, 1e3, 7, -3, 007]").unwrap();
        let Value::List(items) = n.value else { panic!() };
        assert_eq!(items[0].value, Value::Float(0.5));
        assert_eq!(items[1].value, Value::Float(-0.25));
        assert_eq!(items[2].value, Value::Float(1000.0));
        assert_eq!(items[3].value, Value::Int(7));
        assert_eq!(items[4].value, Value::Int(-3));
        assert_eq!(items[5].value, Value::Int(7));
    }

    #[test]
    fn trailing_commas_warn() {
        let (_, w) = parse("{\"a\": [1, 2,],\n \"b\": 1,}").unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].pos.line, w[0].pos.col), (1, 12));
        assert_eq!((w[1].pos.line, w[1].pos.col), (2, 8));
    }

    #[test]
    fn duplicate_keys_refused() {
        let e = parse("{\"a\": 1,\n \"a\": 2}").unwrap_err();
        assert_eq!((e.pos.line, e.pos.col), (2, 2));
        assert!(e.msg.contains("duplicate \"a\""));
    }

    #[test]
    fn extra_closing_brace() {
        let e = parse("{\"a\": 1}\n}").unwrap_err();
        assert_eq!((e.pos.line, e.pos.col), (2, 1));
    }

    #[test]
    fn unclosed_things() {
        assert!(parse("{\"a\": 1").unwrap_err().msg.contains("not closed"));
        assert!(parse("\"abc").unwrap_err().msg.contains("not closed"));
        assert!(parse("/* x").unwrap_err().msg.contains("not closed"));
        assert!(parse("[1 2]").is_err());
        assert!(parse("{1: 2}").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn escapes() {
        let (n, _) = parse(r#""a\"b\\c\u00e9\ud83d\ude00\n""#).unwrap();
        assert_eq!(n.value, Value::Str("a\"b\\cé😀\n".into()));
    }

    #[test]
    fn includes_splice_and_report_their_own_positions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("inner.json"), "\"x\": 1,\n  \"y\": <?include \"deeper.json\"?>").unwrap();
        std::fs::write(dir.path().join("deeper.json"), "\n\n  [1, 2]").unwrap();
        let base = IncludeBase(Some(dir.path().to_path_buf()));
        let mut w = Vec::new();
        let n = parse_bytes(Arc::from("main"), b"{ <?include \"inner.json\"?> }".to_vec(), &base, &mut w).unwrap();
        assert_eq!(n.to_json(), serde_json::json!({"x": 1, "y": [1, 2]}));
        let y = n.get("y").unwrap();
        assert_eq!(&*y.key_pos.file, "inner.json");
        assert_eq!(&*y.value.pos.file, "deeper.json");
        assert_eq!((y.value.pos.line, y.value.pos.col), (3, 3));
        let e =
            parse_bytes(Arc::from("main"), b"{\n  <?include \"nope.json\"?> }".to_vec(), &base, &mut w).unwrap_err();
        assert_eq!(e.pos.to_string(), "main:2.3");
    }

    #[test]
    fn include_recursion_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("loop.json"), "<?include \"loop.json\"?>").unwrap();
        let base = IncludeBase(Some(dir.path().to_path_buf()));
        let mut w = Vec::new();
        let e = parse_bytes(Arc::from("m"), b"<?include \"loop.json\"?>".to_vec(), &base, &mut w).unwrap_err();
        assert!(e.msg.contains("too many nested"));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let s = "[".repeat(10_000);
        assert!(parse(&s).unwrap_err().msg.contains("nesting"));
    }
}
