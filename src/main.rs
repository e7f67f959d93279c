//! The `pairsync` binary: settings, logging, then the server until it is stopped.

use clap::Parser;
use pairsync::config::Settings;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let settings = Settings::parse();
    env_logger::Builder::new()
        .parse_filters(&settings.rust_log)
        .init();
    let running = match pairsync::startup::start(settings) {
        Ok(running) => running,
        Err(e) => {
            log::error!("cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Err(e) = running.server.await {
        log::error!("server failed: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
