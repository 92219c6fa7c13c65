//! A YAML loader that keeps a span on every node, reports duplicate keys instead of silently
//! keeping one, resolves plain scalars with the YAML 1.2 core schema (so `yes` stays a string),
//! and bounds depth and alias expansion so hostile input cannot exhaust memory or stack.

use super::source::{SourceFile, Span};
use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Deepest nesting accepted; real configs are under 10 levels.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to, aliases included (billion-laughs protection).
pub const MAX_NODES: usize = 200_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string, with whether it was written as a plain (unquoted) scalar.
    Str(String, bool),
    Seq(Vec<Node>),
    /// Entries in source order: (key, value). Duplicate keys are reported, the first one kept.
    Map(Vec<(Node, Node)>),
}

/// A parsed document and the problems that did not stop parsing.
#[derive(Debug)]
pub struct Document {
    pub root: Node,
    /// Keys defined twice in one mapping: (the later key's span, the key, the first key's span).
    pub duplicate_keys: Vec<(Span, String, Span)>,
}

/// Why the text is not one YAML document airlockc reads (AL1001), and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub span: Span,
    pub message: String,
    /// The fix, when the error has a known cause (a tab in the indentation).
    pub help: Option<String>,
}

impl Node {
    /// The node at a JSON pointer (`/upstreams/1/url`), if it exists.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        self.pointer_with_key(pointer).map(|(_, node)| node)
    }

    /// The node at a JSON pointer, with the key node it hangs from when its parent is a mapping.
    pub fn pointer_with_key(&self, pointer: &str) -> Option<(Option<&Node>, &Node)> {
        let mut key = None;
        let mut node = self;
        for segment in pointer.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            match &node.kind {
                NodeKind::Map(entries) => {
                    let (k, v) = entries.iter().find(|(k, _)| k.key_text() == segment)?;
                    key = Some(k);
                    node = v;
                }
                NodeKind::Seq(items) => {
                    node = items.get(segment.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((key, node))
    }

    /// The text of a scalar used as a mapping key.
    pub fn key_text(&self) -> String {
        match &self.kind {
            NodeKind::Str(s, _) => s.clone(),
            NodeKind::Null => String::new(),
            NodeKind::Bool(b) => b.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            NodeKind::Seq(_) | NodeKind::Map(_) => "<complex key>".into(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s, _) => Some(s),
            _ => None,
        }
    }

    /// A short name of the node's type for messages ("string", "mapping", ...).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "boolean",
            NodeKind::Int(_) => "integer",
            NodeKind::Float(_) => "number",
            NodeKind::Str(..) => "string",
            NodeKind::Seq(_) => "list",
            NodeKind::Map(_) => "mapping",
        }
    }

    /// The JSON value of the node (the instance the JSON Schema validates).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::Number((*i).into()),
            NodeKind::Float(f) => {
                Number::from_f64(*f).map_or_else(|| Value::String(f.to_string()), Value::Number)
            }
            NodeKind::Str(s, _) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.entry(k.key_text()).or_insert_with(|| v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// Every string scalar in the tree with its JSON pointer, for scanners.
    pub fn walk_strings<'a>(
        &'a self,
        pointer: &mut String,
        visit: &mut dyn FnMut(&str, &'a Node, &str),
    ) {
        match &self.kind {
            NodeKind::Str(s, _) => visit(pointer, self, s),
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    item.walk_strings(pointer, visit);
                    pointer.truncate(len);
                }
            }
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&k.key_text().replace('~', "~0").replace('/', "~1"));
                    v.walk_strings(pointer, visit);
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
    }
}

/// Converts saphyr's character indices to byte offsets without rescanning the text each time.
struct Offsets {
    /// Byte offset of each character, or empty when the text is ASCII (index == offset).
    table: Vec<usize>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let table = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        Self {
            table,
            len: text.len(),
        }
    }
    fn byte(&self, char_index: usize) -> usize {
        if self.table.is_empty() {
            char_index.min(self.len)
        } else {
            self.table.get(char_index).copied().unwrap_or(self.len)
        }
    }
    fn span(&self, span: saphyr_parser::Span) -> Span {
        Span::new(self.byte(span.start.index()), self.byte(span.end.index()))
    }
}

enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
    },
}

struct Builder<'a> {
    offsets: Offsets,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    duplicate_keys: Vec<(Span, String, Span)>,
    root: Option<Node>,
    documents: usize,
    file: &'a SourceFile,
}

/// Parses one YAML document. An empty file is an empty mapping's absence: `Null`.
pub fn parse(file: &SourceFile) -> Result<Document, ParseError> {
    let mut builder = Builder {
        offsets: Offsets::new(&file.text),
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        duplicate_keys: Vec::new(),
        root: None,
        documents: 0,
        file,
    };
    for event in Parser::new_from_str(&file.text) {
        let (event, span) = event.map_err(|e| {
            let at = builder.offsets.byte(e.marker().index());
            indenting_tab(&file.text, at).unwrap_or_else(|| ParseError {
                span: Span::new(at, at),
                message: format!("invalid YAML: {}", e.info()),
                help: None,
            })
        })?;
        builder.event(event, builder.offsets.span(span))?;
    }
    Ok(Document {
        root: builder.root.unwrap_or(Node {
            span: Span::new(0, 0),
            kind: NodeKind::Null,
        }),
        duplicate_keys: builder.duplicate_keys,
    })
}

/// A syntax error at byte `at` caused by a tab in the indentation of its line or of the line
/// after it (the scanner often stops at the end of the line before, or inside the tab's line):
/// YAML indents with spaces only. The error is then placed on the tab, with that fix.
fn indenting_tab(text: &str, at: usize) -> Option<ParseError> {
    let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let mut start = line_start;
    for _ in 0..2 {
        let line = text[start..].split('\n').next().unwrap_or_default();
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        if let Some(tab) = line[..indent].find('\t') {
            let line_number = text[..start].matches('\n').count() + 1;
            return Some(ParseError {
                span: Span::new(start + tab, start + tab + 1),
                message: format!("invalid YAML: a tab in the indentation of line {line_number}"),
                help: Some("replace the tab with spaces: YAML indents with spaces only".into()),
            });
        }
        start += line.len() + 1;
        if start >= text.len() {
            break;
        }
    }
    None
}

impl Builder<'_> {
    fn error(&self, span: Span, message: impl Into<String>) -> ParseError {
        ParseError {
            span,
            message: message.into(),
            help: None,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), ParseError> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(self.error(
                        span,
                        "expected one YAML document, found a second one (`---`)",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let kind = self.scalar(&text, style, tag.as_deref(), span)?;
                self.push(Node { span, kind }, anchor)?;
            }
            Event::SequenceStart(anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "seq", span)?;
                self.open(span)?;
                self.stack.push(Frame::Seq {
                    span,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "map", span)?;
                self.open(span)?;
                self.stack.push(Frame::Map {
                    span,
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        span: start,
                        anchor,
                        items,
                    }) => (
                        Node {
                            span: Span::new(start.start, span.end.max(start.end)),
                            kind: NodeKind::Seq(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        span: start,
                        anchor,
                        entries,
                        ..
                    }) => (
                        Node {
                            span: Span::new(start.start, span.end.max(start.end)),
                            kind: NodeKind::Map(entries),
                        },
                        anchor,
                    ),
                    None => return Err(self.error(span, "unbalanced YAML collection")),
                };
                self.push(node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(self.error(span, "unknown YAML alias"));
                };
                self.nodes += count_nodes(&target);
                if self.nodes > MAX_NODES {
                    return Err(self.error(span, format!("the document expands to more than {MAX_NODES} nodes (YAML aliases): refusing it")));
                }
                self.push(target, 0)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn open(&mut self, span: Span) -> Result<(), ParseError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(
                span,
                format!("the document nests deeper than {MAX_DEPTH} levels: refusing it"),
            ));
        }
        Ok(())
    }

    fn push(&mut self, node: Node, anchor: usize) -> Result<(), ParseError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(self.error(
                node.span,
                format!("the document has more than {MAX_NODES} nodes: refusing it"),
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    if matches!(node.kind, NodeKind::Seq(_) | NodeKind::Map(_)) {
                        return Err(ParseError {
                            span: node.span,
                            message: "mapping keys must be plain scalars".into(),
                            help: None,
                        });
                    }
                    *pending_key = Some(node);
                }
                Some(key) => {
                    let text = key.key_text();
                    match entries.iter().find(|(k, _)| k.key_text() == text) {
                        Some((first, _)) => self.duplicate_keys.push((key.span, text, first.span)),
                        None => entries.push((key, node)),
                    }
                }
            },
        }
        Ok(())
    }

    fn check_collection_tag(
        &self,
        tag: Option<&Tag>,
        expected: &str,
        span: Span,
    ) -> Result<(), ParseError> {
        match tag {
            None => Ok(()),
            Some(tag) if tag.handle == "tag:yaml.org,2002:" && tag.suffix == expected => Ok(()),
            Some(tag) => Err(self.error(
                span,
                format!("unsupported YAML tag `{}{}`", tag.handle, tag.suffix),
            )),
        }
    }

    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<NodeKind, ParseError> {
        let _ = self.file;
        if let Some(tag) = tag {
            let core = tag.handle == "tag:yaml.org,2002:";
            return match (core, tag.suffix.as_str()) {
                (true, "str") => Ok(NodeKind::Str(text.to_string(), false)),
                (true, "null" | "bool" | "int" | "float") => resolve_plain(text)
                    .filter(|kind| kind_matches_tag(kind, &tag.suffix))
                    .ok_or_else(|| {
                        self.error(span, format!("`{text}` is not a valid !!{}", tag.suffix))
                    }),
                _ => Err(self.error(
                    span,
                    format!("unsupported YAML tag `{}{}`", tag.handle, tag.suffix),
                )),
            };
        }
        if style != ScalarStyle::Plain {
            return Ok(NodeKind::Str(text.to_string(), false));
        }
        Ok(resolve_plain(text).unwrap_or_else(|| NodeKind::Str(text.to_string(), true)))
    }
}

fn kind_matches_tag(kind: &NodeKind, suffix: &str) -> bool {
    matches!(
        (kind, suffix),
        (NodeKind::Null, "null")
            | (NodeKind::Bool(_), "bool")
            | (NodeKind::Int(_), "int")
            | (NodeKind::Float(_) | NodeKind::Int(_), "float")
    )
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.kind {
        NodeKind::Seq(items) => items.iter().map(count_nodes).sum(),
        NodeKind::Map(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
        _ => 0,
    }
}

/// The YAML 1.2 core schema's resolution of plain scalars; `None` means "a string".
fn resolve_plain(text: &str) -> Option<NodeKind> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(NodeKind::Null),
        "true" | "True" | "TRUE" => return Some(NodeKind::Bool(true)),
        "false" | "False" | "FALSE" => return Some(NodeKind::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(NodeKind::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(NodeKind::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(NodeKind::Float(f64::NAN)),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(NodeKind::Int);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(NodeKind::Int);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Integers too large for i64 stay numbers, as floats.
        return Some(text.parse::<i64>().map_or_else(
            |_| NodeKind::Float(text.parse().unwrap_or(f64::INFINITY)),
            NodeKind::Int,
        ));
    }
    is_core_float(digits)
        .then(|| text.parse::<f64>().ok().map(NodeKind::Float))
        .flatten()
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`, sign already removed.
fn is_core_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (!int.is_empty() || !frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Document, ParseError> {
        parse(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn a_tab_in_the_indentation_is_reported_on_the_tab() {
        for text in [
            "a:\n  b: 1\n\tc: 2\n",
            "a:\n  b: 1\n \tc: 2\n",
            "a:\n\t- 1\n",
        ] {
            let error = load(text).unwrap_err();
            assert_eq!(&text[error.span.start..error.span.end], "\t", "{text:?}");
            assert!(error.message.contains("a tab in the indentation of line"));
            assert!(error.help.unwrap().contains("replace the tab with spaces"));
        }
        let other = load("a: [1\n").unwrap_err();
        assert!(other.help.is_none(), "no tab, no tab help");
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let doc = load("a: yes\nb: true\nc: 010\nd: 1.5\ne: ~\nf: '1'\ng: 1e3\nh: 0x1F\n").unwrap();
        let json = doc.root.to_json();
        assert_eq!(json["a"], "yes");
        assert_eq!(json["b"], true);
        assert_eq!(json["c"], 10);
        assert_eq!(json["d"], 1.5);
        assert!(json["e"].is_null());
        assert_eq!(json["f"], "1");
        assert_eq!(json["g"], 1000.0);
        assert_eq!(json["h"], 31);
    }

    #[test]
    fn spans_point_at_values_and_keys() {
        let file = SourceFile::new("t.yaml", "auth:\n  oidc:\n    issuer: http://x\n");
        let doc = parse(&file).unwrap();
        let (key, value) = doc.root.pointer_with_key("/auth/oidc/issuer").unwrap();
        assert_eq!(file.line_col(key.unwrap().span.start), (3, 5));
        assert_eq!(file.line_col(value.span.start), (3, 13));
        assert_eq!(&file.text[value.span.start..value.span.end], "http://x");
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let doc = load("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(doc.duplicate_keys.len(), 1);
        assert_eq!(doc.root.to_json()["a"], 1);
    }

    #[test]
    fn hostile_documents_are_refused() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(load(&deep).unwrap_err().message.contains("deeper"));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            bomb += &format!(
                "{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n",
                (b'a' + i) as char,
                (b'a' + i) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char
            );
        }
        assert!(load(&bomb).unwrap_err().message.contains("refusing"));
        assert!(
            load("a: 1\n---\nb: 2\n")
                .unwrap_err()
                .message
                .contains("one YAML document")
        );
        assert!(
            load("a: !custom x\n")
                .unwrap_err()
                .message
                .contains("unsupported YAML tag")
        );
        assert!(load("a: [1, 2\n").is_err());
    }

    #[test]
    fn empty_documents_are_null() {
        assert_eq!(load("").unwrap().root.kind, NodeKind::Null);
        assert_eq!(
            load("# only a comment\n").unwrap().root.kind,
            NodeKind::Null
        );
    }

    #[test]
    fn non_ascii_spans() {
        let file = SourceFile::new("t.yaml", "é: ü\nb: x\n");
        let doc = parse(&file).unwrap();
        let (_, b) = doc.root.pointer_with_key("/b").unwrap();
        assert_eq!(file.line_col(b.span.start), (2, 4));
    }
}
