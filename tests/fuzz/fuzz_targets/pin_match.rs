//! The gateway's pin check against its contract. The runtime holds a listed tool against the
//! reviewed definition by walking both trees (`Reviewed::matches`) and hashes only what the
//! walk does not match. Oracle: for any two JSON documents (split at the first 0xFF byte, which
//! JSON text never holds), the walk matches exactly when the pin hashes are equal, so it can
//! neither let a changed definition through nor report an unchanged one.
#![no_main]

use airlock_schema::pins::{Pin, Reviewed, pin_hash};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0xff) else {
        return;
    };
    let (Ok(pinned), Ok(listed)) = (
        serde_json::from_slice::<Value>(&data[..split]),
        serde_json::from_slice::<Value>(&data[split + 1..]),
    ) else {
        return;
    };
    let reviewed = Reviewed::new(&Pin::of(&pinned));
    assert!(reviewed.matches(&pinned), "a definition matches its own pin: {pinned}");
    assert_eq!(
        reviewed.matches(&listed),
        pin_hash(&listed) == pin_hash(&pinned),
        "pinned {pinned}\nlisted {listed}"
    );
});
