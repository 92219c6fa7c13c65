//! Tuning of mimalloc, the allocator of the `airlock` binary (`main.rs`). mimalloc v3 keeps
//! freed pages for 1 s before it returns them to the OS (v2 kept them 10 ms). Under load the
//! gateway frees as fast as it allocates, so those pages added about 12 MiB of RSS at 20k
//! calls/s (`docs/performance.md`); 10 ms keeps the peak under the 64 MiB budget at no
//! measurable cost in throughput. Longer delays fault fewer pages back in (0.33 a call at
//! 10 ms, 0.12 at 100 ms) without a CPU saving that could be measured, and 100 ms raised the
//! peak to 64–76 MiB. `MIMALLOC_PURGE_DELAY` overrides the setting.

// The one FFI of the runtime: two calls on mimalloc's option table.
#![allow(unsafe_code)]

// Links mimalloc into the library (and its tests), not only into the binary.
use mimalloc as _;
use std::ffi::{c_int, c_long};

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (`include/mimalloc.h`); the unit
/// test checks it against the option's documented default.
const PURGE_DELAY: c_int = 15;
/// Milliseconds freed memory may stay with the allocator.
const PURGE_DELAY_MS: c_long = 10;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    fn mi_option_get(option: c_int) -> c_long;
}

/// Called once at start, before the runtime threads. mimalloc's own environment variable,
/// `MIMALLOC_PURGE_DELAY` (milliseconds), takes precedence: an operator can trade memory for
/// CPU either way without a rebuild.
pub fn return_freed_memory_sooner() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: plain C calls on mimalloc's option table with a valid option index.
        unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

/// The purge delay in effect, in milliseconds.
pub fn purge_delay_ms() -> i64 {
    // SAFETY: as above.
    unsafe { mi_option_get(PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_set_is_mimallocs_purge_delay() {
        // v3's default purge delay is 1000 ms; no other option defaults to 1000. If mimalloc
        // renumbers its options, this fails instead of tuning the wrong one.
        assert_eq!(
            purge_delay_ms(),
            1000,
            "option {PURGE_DELAY} is not purge_delay"
        );
        return_freed_memory_sooner();
        assert_eq!(purge_delay_ms(), PURGE_DELAY_MS);
    }
}
