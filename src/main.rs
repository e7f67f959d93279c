//! The `pairsync` binary: with no subcommand (or `serve`), config, logging, then the
//! server until SIGTERM or Ctrl-C; `new` and `watch` are the terminal client.

use pairsync::cli::args::{self, Client, Invocation};
use pairsync::config::Config;

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = ctrl_c => {}
                }
            }
            Err(e) => {
                log::warn!("cannot listen for SIGTERM: {e}");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Runs the server until it is told to stop.
async fn serve(config: Config) -> std::process::ExitCode {
    env_logger::Builder::new()
        .parse_filters(&config.rust_log)
        .init();
    let mut running = match pairsync::startup::start(config, pairsync::clock::Clock::system()) {
        Ok(running) => running,
        Err(e) => {
            log::error!("cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tokio::select! {
        outcome = running.served() => {
            if let Err(e) = outcome {
                log::error!("server failed: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
        () = stop_signal() => {
            log::info!("stopping: ending streams, finishing in-flight requests");
            running.stop().await;
            log::info!("stopped");
        }
    }
    std::process::ExitCode::SUCCESS
}

fn main() -> std::process::ExitCode {
    let invocation = match args::parse(std::env::args_os()) {
        Ok(invocation) => invocation,
        Err(e) => e.exit(),
    };
    match invocation {
        Invocation::Serve(config) => actix_web::rt::System::new().block_on(serve(*config)),
        Invocation::Client(Client::New(args)) => pairsync::cli::run_new(args),
        Invocation::Client(Client::Watch(args)) => pairsync::cli::run_watch(args),
    }
}
