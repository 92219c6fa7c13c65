//! "Did you mean": for an unknown key, the closest known key at that place, the same key at
//! another place in the schema (the flat Helm-values spellings of the seeds), or a known alias.

/// Keys of older Helm values whose meaning moved somewhere a spelling match cannot find.
/// (parent pointer, key, complete help).
const ALIASES: &[(&str, &str, &str)] = &[
    (
        "/auth",
        "oidc_issuer",
        "did you mean `auth.oidc.issuer`? (the issuer URL itself, without `/.well-known/openid-configuration`)",
    ),
    (
        "/audit",
        "s3_export",
        "did you mean `audit.export`? (with `s3: {bucket, prefix, secretRef}`)",
    ),
    (
        "/audit",
        "export_format",
        "did you mean `audit.export.format`?",
    ),
    (
        "/policy",
        "configMapRef",
        "remove it: `airlockc build` embeds `policy.file` into the ConfigMap it emits, so no reference is needed",
    ),
    (
        "/ingress",
        "hosts",
        "did you mean `ingress.host`? (one host per Airlock deployment)",
    ),
    (
        "/server",
        "debug",
        "remove it: the gateway has no debug listener; use `/metrics`, the logs and `airlock doctor`",
    ),
];

/// Lowercase without `_` and `-`: `jwks_cache_ttl` and `jwksCacheTTL` normalize alike.
fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The known key an unknown `key` is most likely a misspelling of: the same key in another
/// case or separator style, or the nearest within a third of its length.
pub fn closest<'k>(key: &str, known: &'k [String]) -> Option<&'k String> {
    let wanted = normalize(key);
    if let Some(exact) = known.iter().find(|k| normalize(k) == wanted) {
        return Some(exact);
    }
    known
        .iter()
        .map(|k| (strsim::levenshtein(&normalize(k), &wanted), k))
        .filter(|(distance, k)| *distance <= (k.len().max(key.len()) / 3).max(1))
        .min()
        .map(|(_, k)| k)
}

/// A help text for an unknown `key` in the object at `parent` whose known keys are `known`.
/// `everywhere` lists every (parent path as displayed, key) of the schema, for keys that moved.
pub fn unknown_key(
    key: &str,
    parent: &str,
    known: &[String],
    everywhere: &[(String, String)],
) -> Option<String> {
    if let Some((_, _, help)) = ALIASES.iter().find(|(p, k, _)| *p == parent && *k == key) {
        return Some((*help).to_string());
    }
    let wanted = normalize(key);
    if let Some(exact) = known.iter().find(|k| normalize(k) == wanted) {
        return Some(format!("did you mean `{exact}`?"));
    }
    if let Some(close) = closest(key, known) {
        return Some(format!("did you mean `{close}`?"));
    }
    let elsewhere: Vec<String> = everywhere
        .iter()
        .filter(|(_, k)| normalize(k) == wanted)
        .map(|(parent, k)| format!("`{}`", join(parent, k)))
        .collect();
    match elsewhere.as_slice() {
        [] if !known.is_empty() => Some(format!("expected one of {}", list(known))),
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        many => Some(format!("this key exists at {}", many.join(", "))),
    }
}

/// A suggestion for a value outside a set of choices.
pub fn choice(value: &str, options: &[String]) -> Option<String> {
    let wanted = normalize(value);
    options
        .iter()
        .map(|o| (strsim::levenshtein(&normalize(o), &wanted), o))
        .filter(|(d, o)| *d <= (o.len() / 3).max(1))
        .min()
        .map(|(_, o)| format!("did you mean `{o}`?"))
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// `a`, `b` and `c` — at most 12 shown.
pub fn list(items: &[String]) -> String {
    let shown: Vec<String> = items.iter().take(12).map(|i| format!("`{i}`")).collect();
    let more = if items.len() > 12 {
        format!(" and {} more", items.len() - 12)
    } else {
        String::new()
    };
    match shown.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}{more}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn snake_case_spellings_of_the_seeds() {
        let known = keys(&[
            "issuer",
            "audience",
            "clockSkew",
            "jwksCacheTTL",
            "requiredGroups",
        ]);
        assert_eq!(
            unknown_key("jwks_cache_ttl", "/auth/oidc", &known, &[]).unwrap(),
            "did you mean `jwksCacheTTL`?"
        );
        assert_eq!(
            unknown_key("clock_skew", "/auth/oidc", &known, &[]).unwrap(),
            "did you mean `clockSkew`?"
        );
        assert_eq!(
            unknown_key("audiense", "/auth/oidc", &known, &[]).unwrap(),
            "did you mean `audience`?"
        );
    }

    #[test]
    fn keys_that_moved() {
        let everywhere = vec![("auth.oidc".to_string(), "audience".to_string())];
        let help = unknown_key(
            "audience",
            "/auth",
            &keys(&["oidc", "adminGroups"]),
            &everywhere,
        )
        .unwrap();
        assert!(help.contains("`auth.oidc.audience`"), "{help}");
        let help = unknown_key("s3_export", "/audit", &keys(&["backend"]), &[]).unwrap();
        assert!(help.contains("audit.export"), "{help}");
        assert!(
            unknown_key("configMapRef", "/policy", &[], &[])
                .unwrap()
                .starts_with("remove it")
        );
    }

    #[test]
    fn choices() {
        let options = keys(&["sqlite", "postgresql"]);
        assert_eq!(
            choice("postgres", &options).unwrap(),
            "did you mean `postgresql`?"
        );
        assert!(choice("mysql", &options).is_none());
    }
}
