//! Authentication: the issuer must be fetched over TLS (AL2005) and be the bare issuer (AL2019),
//! the audience must say something (AL2006), the public URL should be https (AL2018).

use crate::diagnostics::{Diagnostics, codes};
use crate::validate::ConfigDoc;
use airlock_schema::types::HttpUrl;

pub fn check(doc: &ConfigDoc<'_>, out: &mut Diagnostics) {
    if let Some(issuer) = doc.section::<HttpUrl>("/auth/oidc/issuer") {
        if !issuer.is_https() && !issuer.is_loopback() {
            out.push(
                doc.value_diag(codes::AL2005, "/auth/oidc/issuer", format!("the OIDC issuer `{issuer}` is plain HTTP"))
                    .help("the signing keys would travel unauthenticated and could be replaced in transit: use the issuer's `https://` URL (plain HTTP is accepted for localhost only)"),
            );
        }
        if issuer.url().path().contains("/.well-known/") {
            let base = issuer
                .as_str()
                .split("/.well-known/")
                .next()
                .unwrap_or_default();
            out.push(
                doc.value_diag(codes::AL2019, "/auth/oidc/issuer", "the issuer URL includes a discovery path")
                    .help(format!("write the issuer exactly as in the tokens' `iss` claim, e.g. `{base}`; Airlock appends `/.well-known/openid-configuration` itself")),
            );
        }
    }
    if let Some(audience) = doc.section::<String>("/auth/oidc/audience")
        && audience.trim().is_empty()
    {
        out.push(
                doc.value_diag(codes::AL2006, "/auth/oidc/audience", "the OIDC audience is empty")
                    .help("set it to the audience your identity provider issues for this gateway (e.g. `mcp-airlock-prod`); without it any token of the issuer would do"),
            );
    }
    if let Some(Some(url)) = doc.section::<Option<HttpUrl>>("/server/publicBaseUrl")
        && !url.is_https()
        && !url.is_loopback()
    {
        out.push(
                doc.value_diag(codes::AL2018, "/server/publicBaseUrl", format!("the public base URL `{url}` is plain HTTP"))
                    .help("clients would send their bearer tokens unencrypted: terminate TLS at the ingress and use `https://`"),
            );
    }
}
