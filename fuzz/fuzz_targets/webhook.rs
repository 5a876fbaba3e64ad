//! libFuzzer entry point of the `webhook` target (see `powens_fuzz::targets::webhook`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| powens_fuzz::targets::webhook(data));
