//! S3 roots: a bucket prefix served like a directory. A checked [`VirtualPath`] becomes the key
//! `prefix + segments.join("/")`, so every key the gateway reads, lists or writes starts with
//! the root's prefix; "directories" are key prefixes ending in `/`. Keys that no canonical
//! virtual path can name (empty or dot segments, control characters) are never listed.

use super::listing::{
    Entry, EntryKind, Found, Listing, SearchOutcome, SearchQuery, first_line_containing,
    name_matches,
};
use super::{RootError, VirtualPath, vpath};
use crate::s3::{Location, client, describe};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use tokio::sync::OnceCell;

/// Bounds on one listing or search (keys visited).
const MAX_KEYS: usize = 100_000;
/// The deepest a search descends below its directory.
const MAX_DEPTH: usize = 32;

pub struct S3Root {
    bucket: String,
    /// Empty or ending with `/`.
    prefix: String,
    location: Location,
    client: OnceCell<Client>,
}

impl S3Root {
    pub fn new(bucket: &str, prefix: &str, location: Location) -> Self {
        let prefix = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_string()
        } else {
            format!("{prefix}/")
        };
        Self {
            bucket: bucket.to_string(),
            prefix,
            location,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.client.get_or_init(|| client(&self.location)).await
    }

    fn key(&self, path: &VirtualPath) -> String {
        format!("{}{}", self.prefix, path.relative())
    }

    fn dir_prefix(&self, path: &VirtualPath) -> String {
        if path.is_root() {
            self.prefix.clone()
        } else {
            format!("{}{}/", self.prefix, path.relative())
        }
    }

    pub async fn stat(&self, path: &VirtualPath) -> Result<Entry, RootError> {
        let name = path.segments.last().cloned().unwrap_or_default();
        let directory = Entry {
            name: name.clone(),
            kind: EntryKind::Directory,
            size: 0,
        };
        if path.is_root() {
            return Ok(directory);
        }
        if !path.trailing_slash {
            let head = self
                .client()
                .await
                .head_object()
                .bucket(&self.bucket)
                .key(self.key(path))
                .send()
                .await;
            match head {
                Ok(head) => {
                    return Ok(Entry {
                        name,
                        kind: EntryKind::File,
                        size: head.content_length().unwrap_or(0).max(0) as u64,
                    });
                }
                Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {}
                Err(error) => return Err(RootError::Io(describe(&error))),
            }
        }
        if self.any_under(&self.dir_prefix(path)).await? {
            Ok(directory)
        } else {
            Err(RootError::NotFound)
        }
    }

    async fn any_under(&self, prefix: &str) -> Result<bool, RootError> {
        let page = self
            .client()
            .await
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| RootError::Io(describe(&e)))?;
        Ok(page.key_count().unwrap_or(0) > 0)
    }

    pub async fn read(&self, path: &VirtualPath, max_bytes: u64) -> Result<Vec<u8>, RootError> {
        if path.is_root() || path.trailing_slash {
            return Err(RootError::NotAFile);
        }
        self.get(&self.key(path), max_bytes).await
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, RootError> {
        let object = self
            .client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let object = match object {
            Ok(object) => object,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Err(RootError::NotFound);
            }
            Err(error) => return Err(RootError::Io(describe(&error))),
        };
        let size = object.content_length().map(|n| n.max(0) as u64);
        if let Some(size) = size.filter(|&n| n > max_bytes) {
            return Err(RootError::TooLarge {
                limit: max_bytes,
                size: Some(size),
            });
        }
        let mut body = object.body;
        let mut content = Vec::with_capacity(size.unwrap_or(0) as usize);
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| RootError::Io(format!("reading the object failed: {e}")))?
        {
            if (content.len() + chunk.len()) as u64 > max_bytes {
                return Err(RootError::TooLarge {
                    limit: max_bytes,
                    size: None,
                });
            }
            content.extend_from_slice(&chunk);
        }
        Ok(content)
    }

    /// Every key below `prefix` (one level when `delimited`), page by page, at most `limit`:
    /// (keys with sizes, sub-prefixes, truncated).
    async fn keys(
        &self,
        prefix: &str,
        delimited: bool,
        limit: usize,
    ) -> Result<(Vec<(String, u64)>, Vec<String>, bool), RootError> {
        let (mut keys, mut prefixes) = (Vec::new(), Vec::new());
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .client()
                .await
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take());
            if delimited {
                request = request.delimiter("/");
            }
            let page = request
                .send()
                .await
                .map_err(|e| RootError::Io(describe(&e)))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    keys.push((key.to_string(), object.size().unwrap_or(0).max(0) as u64));
                }
            }
            for common in page.common_prefixes() {
                if let Some(p) = common.prefix() {
                    prefixes.push(p.to_string());
                }
            }
            if keys.len() + prefixes.len() >= limit {
                return Ok((keys, prefixes, true));
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok((keys, prefixes, false)),
            }
        }
    }

    pub async fn list(&self, path: &VirtualPath, limit: usize) -> Result<Listing, RootError> {
        let prefix = self.dir_prefix(path);
        let (keys, prefixes, cut) = self.keys(&prefix, true, MAX_KEYS).await?;
        if keys.is_empty() && prefixes.is_empty() && !path.is_root() {
            return Err(RootError::NotFound);
        }
        let mut entries: Vec<Entry> = prefixes
            .iter()
            .filter_map(|p| {
                let name = p.strip_prefix(&prefix)?.strip_suffix('/')?;
                addressable(name).then(|| Entry {
                    name: name.to_string(),
                    kind: EntryKind::Directory,
                    size: 0,
                })
            })
            .chain(keys.iter().filter_map(|(key, size)| {
                let name = key.strip_prefix(&prefix)?;
                addressable(name).then(|| Entry {
                    name: name.to_string(),
                    kind: EntryKind::File,
                    size: *size,
                })
            }))
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let truncated = cut || entries.len() > limit;
        entries.truncate(limit);
        Ok(Listing { entries, truncated })
    }

    pub async fn search(
        &self,
        path: &VirtualPath,
        query: &SearchQuery,
        max_bytes: u64,
    ) -> Result<SearchOutcome, RootError> {
        let prefix = self.dir_prefix(path);
        let (mut keys, _, cut) = self.keys(&prefix, false, MAX_KEYS).await?;
        keys.sort();
        let mut outcome = SearchOutcome {
            found: Vec::new(),
            truncated: cut,
        };
        for (key, size) in keys {
            if outcome.found.len() >= query.max_results {
                outcome.truncated = true;
                break;
            }
            let Some(relative) = key.strip_prefix(&prefix) else {
                continue;
            };
            let segments: Vec<&str> = relative.split('/').collect();
            if segments.len() > MAX_DEPTH + 1 || !segments.iter().all(|s| addressable(s)) {
                continue;
            }
            let name = segments.last().copied().unwrap_or_default();
            if query
                .pattern
                .as_ref()
                .is_some_and(|p| !name_matches(p, name))
            {
                continue;
            }
            let line = match &query.contains {
                None => None,
                Some(_) if size > max_bytes => continue,
                Some(needle) => match self.get(&key, max_bytes).await {
                    Ok(content) => match first_line_containing(&content, needle) {
                        Some(line) => Some(line),
                        None => continue,
                    },
                    Err(_) => continue,
                },
            };
            let mut found_path = path.clone();
            found_path.trailing_slash = false;
            for segment in segments {
                found_path = found_path.child(segment);
            }
            outcome.found.push(Found {
                path: found_path,
                size,
                line,
            });
        }
        Ok(outcome)
    }

    pub async fn write(&self, path: &VirtualPath, content: Vec<u8>) -> Result<(), RootError> {
        self.client()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(path))
            .content_length(content.len() as i64)
            .body(ByteStream::from(content))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| RootError::Io(describe(&e)))
    }
}

/// True when a key segment can be named by a canonical virtual path.
fn addressable(segment: &str) -> bool {
    !segment.contains('/')
        && vpath::parse(&vpath::encode(segment)).is_ok_and(|p| p.segments.len() == 1)
}

#[cfg(test)]
mod tests {
    use super::addressable;

    #[test]
    fn only_canonical_segments_are_addressable() {
        assert!(addressable("report 2024.pdf"));
        for bad in ["", ".", "..", "a/b", "a\u{0}b", "a\\b"] {
            assert!(!addressable(bad), "{bad:?}");
        }
    }
}
