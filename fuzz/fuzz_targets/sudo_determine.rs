#![no_main]
//! sudo's argv + SUDO_COMMAND → the action to check. Input: cmdline bytes,
//! then a 0xFF separator, then the reported SUDO_COMMAND.
libfuzzer_sys::fuzz_target!(|data: &[u8]| jit_core::sudo::fuzz_determine(data));
