#![no_main]
//! Up to four log segments (split at `--jit-segment--` lines) → record parse,
//! chain, segment and seal verification.
libfuzzer_sys::fuzz_target!(|data: &[u8]| jit_core::log::fuzz_verify(data));
