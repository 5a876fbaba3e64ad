//! The `powens` command-line tool. Work in progress: see issue 7.

fn main() {
    eprintln!("powens: not implemented yet (see issue 7)");
    std::process::exit(1);
}
