//! [`ConfigDoc`]: the parsed `airlock.yaml` as later stages see it: spans by JSON pointer, the
//! JSON instance, and the sections the schema found clean, deserialized into the typed model.

use crate::diagnostics::{Code, Diagnostic, Location};
use crate::syntax::{Node, SourceFile, Span};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeSet;

pub struct ConfigDoc<'a> {
    pub file: usize,
    pub source: &'a SourceFile,
    pub root: &'a Node,
    pub json: Value,
    /// Pointers at or under which the schema found a problem; typed checks skip them.
    pub invalid: BTreeSet<String>,
}

impl<'a> ConfigDoc<'a> {
    pub fn new(file: usize, source: &'a SourceFile, root: &'a Node) -> Self {
        Self {
            file,
            source,
            root,
            json: root.to_json(),
            invalid: BTreeSet::new(),
        }
    }

    /// The span of the value at `pointer`, or of its closest existing ancestor.
    pub fn value_span(&self, pointer: &str) -> Span {
        let mut pointer = pointer;
        loop {
            if let Some(node) = self.root.pointer(pointer) {
                return node.span;
            }
            match pointer.rfind('/') {
                Some(i) => pointer = &pointer[..i],
                None => return Span::new(0, 0),
            }
        }
    }

    /// The span of the key holding the value at `pointer` (the value's own span for list items
    /// and the root).
    pub fn key_span(&self, pointer: &str) -> Span {
        match self.root.pointer_with_key(pointer) {
            Some((Some(key), _)) => key.span,
            Some((None, node)) => node.span,
            None => self.value_span(pointer),
        }
    }

    pub fn at(&self, span: Span) -> Location {
        Location {
            file: self.file,
            span,
        }
    }

    /// A diagnostic about the value at `pointer`.
    pub fn value_diag(
        &self,
        code: &'static Code,
        pointer: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(code, self.at(self.value_span(pointer)), message).pointer(pointer)
    }

    /// A diagnostic about the key at `pointer`.
    pub fn key_diag(
        &self,
        code: &'static Code,
        pointer: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(code, self.at(self.key_span(pointer)), message).pointer(pointer)
    }

    /// True when no schema problem was found at, under or above `pointer`'s section.
    pub fn is_clean(&self, pointer: &str) -> bool {
        !self.invalid.iter().any(|bad| {
            bad == pointer
                || bad.starts_with(&format!("{pointer}/"))
                || (pointer.starts_with(&format!("{bad}/")))
        })
    }

    /// The section at `pointer` as `T`, if it is clean. An absent section deserializes from
    /// `null`, so `Option<T>` sections come back as `Some(None)`.
    pub fn section<T: DeserializeOwned>(&self, pointer: &str) -> Option<T> {
        if !self.is_clean(pointer) {
            return None;
        }
        let value = self.json.pointer(pointer).cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).ok()
    }

    /// Like [`Self::section`], with `T::default()` for an absent section.
    pub fn section_or_default<T: DeserializeOwned + Default>(&self, pointer: &str) -> Option<T> {
        match self.json.pointer(pointer) {
            None if self.is_clean(pointer) => Some(T::default()),
            _ => self.section(pointer),
        }
    }

    /// The clean items of the list at `pointer`, with their indexes.
    pub fn items<T: DeserializeOwned>(&self, pointer: &str) -> Vec<(usize, T)> {
        let Some(Value::Array(items)) = self.json.pointer(pointer) else {
            return Vec::new();
        };
        (0..items.len())
            .filter_map(|i| {
                self.section(&format!("{pointer}/{i}"))
                    .map(|item| (i, item))
            })
            .collect()
    }
}

/// `/upstreams/1/url` → `upstreams[1].url`, the way users read paths in messages.
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.bytes().all(|b| b.is_ascii_digit()) && !segment.is_empty() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    if out.is_empty() {
        "the top level".into()
    } else {
        out
    }
}

/// Escapes one JSON pointer segment.
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_naturally() {
        assert_eq!(display_path("/upstreams/1/url"), "upstreams[1].url");
        assert_eq!(display_path("/auth/oidc"), "auth.oidc");
        assert_eq!(display_path(""), "the top level");
        assert_eq!(
            display_path("/serviceAccount/annotations/eks.amazonaws.com~1role-arn"),
            "serviceAccount.annotations.eks.amazonaws.com/role-arn"
        );
    }
}
