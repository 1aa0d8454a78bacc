#![no_main]
//! The strict trusted-keys parser.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = jit_core::keys::TrustedKeys::parse(text);
    }
});
