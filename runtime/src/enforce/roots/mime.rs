//! The MIME type of a served file, from its extension (clients use it to decide how to show
//! a resource; the gateway never sniffs content).

/// The MIME type for a file name; `is_text` picks the fallback for unknown extensions.
pub fn of(name: &str, is_text: bool) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "md" | "markdown" => "text/markdown",
        "txt" | "log" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "xml" => "application/xml",
        "rs" => "text/x-rust",
        "py" => "text/x-python",
        "go" => "text/x-go",
        "java" => "text/x-java",
        "ts" => "text/x-typescript",
        "sh" => "text/x-shellscript",
        "rego" => "text/x-rego",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        _ if is_text => "text/plain",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn extensions_pick_types_and_unknown_ones_fall_back() {
        assert_eq!(super::of("README.MD", true), "text/markdown");
        assert_eq!(super::of("a.tar.gz", false), "application/gzip");
        assert_eq!(super::of("Makefile", true), "text/plain");
        assert_eq!(super::of("blob", false), "application/octet-stream");
    }
}
