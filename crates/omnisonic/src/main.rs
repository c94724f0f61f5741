//! `omnisonic`: one binary for the studio, the rights catalogue and news insight.

use omnisonic::cli::Cli;
use std::process::ExitCode;

// The GraphQL and database layers allocate many small, short-lived values per request; mimalloc serves that
// pattern markedly better than glibc's allocator (see CONTRIBUTING.md, Benchmarks).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::load() {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("omnisonic: {err:#}");
            return ExitCode::from(2);
        }
    };
    omnisonic::telemetry::init(cli.settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("omnisonic: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli.run());
    // Blocking threads (a mix, a probe) check their cancel flags between blocks; do not wait on one forever at
    // exit, or SIGTERM would never end the process.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("omnisonic: {err:#}");
            ExitCode::FAILURE
        }
    }
}
