//! libFuzzer entry point of the `datetime` target (see `powens_fuzz::targets::datetime`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| powens_fuzz::targets::datetime(data));
