//! libFuzzer entry point of the `install_config` target (see `powens_fuzz::targets::install_config`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| powens_fuzz::targets::install_config(data));
