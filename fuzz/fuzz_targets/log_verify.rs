#![no_main]
//! One log segment → record parse, chain and seal verification.
libfuzzer_sys::fuzz_target!(|data: &[u8]| jit_core::log::fuzz_verify(data));
