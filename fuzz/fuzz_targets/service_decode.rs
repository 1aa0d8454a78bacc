#![no_main]
//! Service protocol bytes (a stream of frames) → strict call and answer
//! decoding: never a panic, never an allocation beyond one frame.
libfuzzer_sys::fuzz_target!(|data: &[u8]| jit_core::service::fuzz_decode(data));
