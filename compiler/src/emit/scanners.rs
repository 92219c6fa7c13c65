//! `.trivyignore.yaml`: the one scanner finding airlockc answers with a written reason instead
//! of a change. trivy's AVD-KSV-01010 ("ConfigMap with sensitive content") is a heuristic over
//! every line of a ConfigMap's data: `key=`, `username:`, an e-mail address, `sha1`. The
//! gateway's ConfigMap holds its runtime configuration, the Rego policy and the DLP patterns,
//! whose ordinary text trips it: a pattern for Azure storage keys reads `AccountKey=`, a rule
//! names a user by e-mail. Hiding that text from the scanner (another encoding, `binaryData`)
//! would hide it from reviewers too; moving it into a Secret would call configuration a
//! credential. airlockc checks instead what the heuristic guesses at — every string of the
//! configuration against its credential detectors (AL5001–AL5003), which refuse the build — and
//! writes the reason beside the output, scoped to the ConfigMap alone:
//! `trivy config --ignorefile deploy/.trivyignore.yaml deploy/`.

use super::Files;

pub const IGNORE_FILE: &str = ".trivyignore.yaml";

const TEXT: &str = r#"# Written by airlockc. The one trivy finding airlockc answers with a reason instead of a change;
# use it with `trivy config --ignorefile <this file> <deploy dir>`. See docs/deployment-output.md.
misconfigurations:
  - id: AVD-KSV-01010
    paths:
      - "**/manifests/*-configmap.yaml"
      - "**/chart/templates/configmap.yaml"
      - "*-configmap.yaml"
      - "templates/configmap.yaml"
    statement: >-
      The ConfigMap holds the gateway's runtime configuration: its Rego policy and DLP patterns,
      whose text can read like the heuristic's keywords (a pattern for `AccountKey=`, a rule
      naming a user by e-mail address). It holds no credential: airlockc checks every string of
      the configuration with its credential detectors (AL5001-AL5003) and refuses to build one,
      and credentials reach the pod as files from Secrets. Only this check, only this object.
"#;

pub fn files(files: &mut Files) {
    files.insert(IGNORE_FILE.into(), TEXT.into());
}
