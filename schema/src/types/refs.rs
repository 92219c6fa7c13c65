//! References to Kubernetes Secrets: the only way a credential enters the configuration.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reference to one key of a Kubernetes Secret in the deployment's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The name of the Kubernetes Secret.
    #[schemars(example = &"airlock-database", length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))]
    pub name: String,
    /// The key inside the Secret whose value is used.
    #[schemars(example = &"url", length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// A reference to a whole Kubernetes Secret whose keys are documented by the field that uses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The name of the Kubernetes Secret.
    #[schemars(example = &"airlock-s3", length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))]
    pub name: String,
}

/// The value of an environment variable: a plain string, or a reference to a Secret key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    /// A literal value. Never a credential: the compiler rejects values that look like one.
    Plain(String),
    /// A value read from a Kubernetes Secret at start-up.
    Secret(SecretEnv),
}

/// An environment value taken from a Kubernetes Secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretEnv {
    /// The Secret key holding the value.
    #[schemars(example = crate::examples::secret_key_ref())]
    pub secret_ref: SecretKeyRef,
}
