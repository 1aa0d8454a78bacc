#![no_main]
//! Revocation list bytes or text → strict decode and verification.
libfuzzer_sys::fuzz_target!(|data: &[u8]| jit_core::revocation::fuzz_decode(data));
