//! The `fleetsim` binary: parse arguments, hand over to the library, exit with its status.

fn main() {
    let command = fleetsim::cli::parse_arguments();
    let status = fleetsim::cli::execute(command);
    std::process::exit(status);
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
