#![no_main]
//! One ledger segment → strict record read, standing access and report.
libfuzzer_sys::fuzz_target!(|data: &[u8]| jit_core::ledger::fuzz_read(data));
