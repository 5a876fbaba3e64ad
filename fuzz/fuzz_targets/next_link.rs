//! libFuzzer entry point of the `next_link` target (see `powens_fuzz::targets::next_link`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| powens_fuzz::targets::next_link(data));
