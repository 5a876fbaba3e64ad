//! libFuzzer entry point of the `webview_callback` target (see `powens_fuzz::targets::webview_callback`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| powens_fuzz::targets::webview_callback(data));
