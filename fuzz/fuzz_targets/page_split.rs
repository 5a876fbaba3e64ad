//! libFuzzer entry point of the `page_split` target (see `powens_fuzz::targets::page_split`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| powens_fuzz::targets::page_split(data));
