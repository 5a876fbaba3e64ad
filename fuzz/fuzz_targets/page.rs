//! libFuzzer entry point of the `page` target (see `powens_fuzz::targets::page`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| powens_fuzz::targets::page(data));
