#![no_main]
//! The SSH certificate request path: public key parsing, the profile
//! decision, and signing with the check after it for every accepted request.
libfuzzer_sys::fuzz_target!(|data: &[u8]| jit_core::ssh_cert::fuzz_request(data));
