//! Tuning of mimalloc, the allocator of the `airlock` binary (`main.rs`): no transparent huge
//! pages, and freed pages kept 100 ms before they go back to the OS.
//!
//! - **No huge pages.** mimalloc asks the kernel for transparent huge pages on its arenas.
//!   A page it returns to the OS and then reuses faults back in; as a huge page, each fault
//!   zeroes 2 MiB (1.1 % of the gateway's CPU under the overload flood, `perf`), and RSS
//!   counts whole huge pages: peak RSS at 16 connections is 37–38 MiB with this tuning,
//!   54–56 MiB without (`docs/performance.md`, 2026-12-07 eighth session).
//! - **100 ms purge delay** (v3's default is 1 s, v2's 10 ms). Without huge pages a longer
//!   delay costs little memory (about 1 MiB more than 10 ms) and faults a third as many
//!   pages back in (0.044 a call against 0.12).
//!
//! mimalloc's own environment variables, `MIMALLOC_ALLOW_THP` and `MIMALLOC_PURGE_DELAY`
//! (milliseconds), take precedence: an operator can trade memory for CPU either way without a
//! rebuild.

// The one FFI of the runtime: mimalloc's option table, and `prctl` to turn huge pages off.
#![allow(unsafe_code)]

// Links mimalloc into the library (and its tests), not only into the binary.
use mimalloc as _;
use std::ffi::{c_int, c_long, c_ulong};

/// Indices in mimalloc v3's `mi_option_t` (`include/mimalloc.h`); the unit test checks them
/// against the options' documented defaults.
const PURGE_DELAY: c_int = 15;
const ALLOW_THP: c_int = 43;
/// Milliseconds freed memory may stay with the allocator.
const PURGE_DELAY_MS: c_long = 100;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    fn mi_option_get(option: c_int) -> c_long;
}

#[cfg(target_os = "linux")]
unsafe extern "C" {
    fn prctl(option: c_int, ...) -> c_int;
}

/// `PR_SET_THP_DISABLE` and `PR_GET_THP_DISABLE` (`linux/prctl.h`).
#[cfg(target_os = "linux")]
const PR_SET_THP_DISABLE: c_int = 41;
#[cfg(all(test, target_os = "linux"))]
const PR_GET_THP_DISABLE: c_int = 42;

/// Called once at start, before the runtime threads.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: plain C calls on mimalloc's option table with a valid option index.
        unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
    }
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // mimalloc read this option at its start, before `main`. Set now, it stops asking for
        // huge pages on new mappings; `prctl` turns them off for the mappings it already holds.
        // SAFETY: as above.
        unsafe { mi_option_set(ALLOW_THP, 0) };
        disable_transparent_huge_pages();
    }
}

#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // Best effort: a kernel without the option leaves huge pages as the system configures.
    // SAFETY: `prctl` with an option that takes one integer argument and the rest zero.
    let (yes, unused): (c_ulong, c_ulong) = (1, 0);
    let _ = unsafe { prctl(PR_SET_THP_DISABLE, yes, unused, unused, unused) };
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}

/// The purge delay in effect, in milliseconds.
pub fn purge_delay_ms() -> i64 {
    // SAFETY: as above.
    unsafe { mi_option_get(PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether mimalloc may ask for transparent huge pages.
    fn huge_pages_allowed() -> bool {
        // SAFETY: a plain C call on mimalloc's option table with a valid option index.
        unsafe { mi_option_get(ALLOW_THP) != 0 }
    }

    /// Whether the kernel's THP flag for this process is set.
    #[cfg(target_os = "linux")]
    fn thp_disabled_for_process() -> bool {
        let unused: c_ulong = 0;
        // SAFETY: `PR_GET_THP_DISABLE` takes no arguments beyond zeros.
        unsafe { prctl(PR_GET_THP_DISABLE, unused, unused, unused, unused) == 1 }
    }

    #[test]
    fn tuning_sets_mimallocs_purge_delay_and_turns_huge_pages_off() {
        // v3's defaults: purge delay 1000 ms (no other option defaults to 1000), huge pages
        // allowed. If mimalloc renumbers its options, this fails instead of tuning the wrong
        // ones.
        assert_eq!(
            purge_delay_ms(),
            1000,
            "option {PURGE_DELAY} is not purge_delay"
        );
        assert!(huge_pages_allowed(), "option {ALLOW_THP} is not allow_thp");
        tune();
        assert_eq!(purge_delay_ms(), PURGE_DELAY_MS);
        assert!(!huge_pages_allowed());
        #[cfg(target_os = "linux")]
        assert!(thp_disabled_for_process());
    }
}
