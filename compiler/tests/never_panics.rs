//! Whatever bytes or YAML arrive, `analyze` returns diagnostics and never panics. Inputs are
//! the bundled examples mutated at random (seeded, so failures reproduce) and random bytes.
//! Coverage-guided fuzzing of the same entry point lives in `fuzz/`.

use airlockc::{Workspace, analyze};

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: [&str; 24] = [
    ":", "- ", "\n", "  ", "{", "}", "[", "]", "&a ", "*a", "!!str ", "'", "\"", "#", "---\n",
    "? ", "|\n", ">-\n", "null", "0x", "1e999", "~", "\t", "\u{feff}",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(6) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if !bytes.is_empty() => {
                let end = (at + rng.below(40)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 => bytes
                .splice(at..at, TOKENS[rng.below(TOKENS.len())].bytes())
                .for_each(drop),
            2 if !bytes.is_empty() => {
                let from = rng.below(bytes.len());
                let len = rng.below(60).min(bytes.len() - from);
                let chunk: Vec<u8> = bytes[from..from + len].to_vec();
                bytes.splice(at..at, chunk).for_each(drop);
            }
            _ => bytes.insert(at, (rng.next() & 0xff) as u8),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn run(config: &str, policy: &str, tests: &str) {
    let workspace = Workspace::from_texts(
        ("airlock.yaml", config),
        &[("policy.rego", policy), ("policy_test.rego", tests)],
    );
    let analysis = analyze(&workspace);
    for diagnostic in analysis.diagnostics.iter() {
        let file = &workspace.files[diagnostic.location.file];
        assert!(
            diagnostic.location.span.end <= file.text.len(),
            "span outside the file: {diagnostic:?}"
        );
    }
}

#[test]
fn mutated_examples_never_panic() {
    let config = include_str!("../../examples/production/airlock.yaml");
    let policy = include_str!("../../examples/production/policy.rego");
    let tests = include_str!("../../examples/production/policy_test.rego");
    let mut rng = Rng(0x5eed_a11c_0c4b_u64.wrapping_add(0x9e37_79b9));
    for _ in 0..400 {
        run(&mutate(config, &mut rng), policy, tests);
        run(config, &mutate(policy, &mut rng), tests);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..300 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        run(&String::from_utf8_lossy(&bytes), "", "");
        let tokens: String = (0..rng.below(80))
            .map(|_| TOKENS[rng.below(TOKENS.len())])
            .collect();
        run(&tokens, "package x", "");
    }
}
