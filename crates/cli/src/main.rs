//! `streamctl`: produce, consume and administer Kafka-protocol clusters, and run a local
//! dev cluster.
//!
//! `main` only sets up logging and the runtime; [`run`] returns the exit code, and errors are
//! printed as their whole chain (what failed, then why).

mod cli;
mod commands;
mod config;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let filter = match (args.verbose, args.quiet) {
        (_, true) => "error",
        (0, false) => "warn",
        (1, false) => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STREAMCTL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("streamctl: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                // `streamctl consume … | head`: the reader left; that is not an error.
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn run(args: cli::Cli) -> anyhow::Result<ExitCode> {
    if args.list_metadata && args.command.is_some() {
        <cli::Cli as clap::CommandFactory>::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "-L takes no command (it is `streamctl cluster info`)",
            )
            .exit();
    }
    let Some(command) = args.command else {
        if args.list_metadata {
            return commands::cluster::info(&args.global).await;
        }
        // No subcommand and no -L: a usage error (exit 2), as clap gives for a missing one.
        <cli::Cli as clap::CommandFactory>::command()
            .error(
                clap::error::ErrorKind::MissingSubcommand,
                "a command is required (or -L to describe the cluster)",
            )
            .exit();
    };
    match command {
        cli::Command::Dev(dev) => commands::dev::run(dev).await,
        cli::Command::Produce(p) => commands::produce::run(&args.global, p).await,
        cli::Command::Consume(c) => commands::consume::run(&args.global, c).await,
        cli::Command::Topic(t) => commands::topic::run(&args.global, t).await,
        cli::Command::Cluster(c) => commands::cluster::run(&args.global, c).await,
        cli::Command::Perf(p) => commands::perf::run(&args.global, p).await,
    }
}
