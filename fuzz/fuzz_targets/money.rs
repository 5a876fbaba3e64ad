//! libFuzzer entry point of the `money` target (see `powens_fuzz::targets::money`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| powens_fuzz::targets::money(data));
