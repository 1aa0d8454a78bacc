#![no_main]
//! Token text → policy decision (base64, strict CBOR, COSE, claims, checks).
libfuzzer_sys::fuzz_target!(|data: &[u8]| jit_core::token::fuzz_decide(data));
