//! `streamctl`: produce, consume and administer Kafka-protocol clusters, and run a local
//! dev cluster.
//!
//! `main` only sets up logging and the runtime; [`run`] returns the exit code, and errors are
//! printed as their whole chain (what failed, then why).

mod cli;
mod commands;
mod config;
mod devadmin;
mod jsonl;
mod output;
mod schemas;
mod ui;

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
        .with_writer(match &args.command {
            // Log lines on stderr would tear the dashboard's screen apart.
            Some(cli::Command::Ui(u)) => ui::log_writer(u),
            _ => tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
        })
        .with_ansi(!matches!(args.command, Some(cli::Command::Ui(_))))
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
            let global = config::resolve(&args.global)?;
            return commands::cluster::info(&global).await;
        }
        // No subcommand and no -L: a usage error (exit 2), as clap gives for a missing one.
        <cli::Cli as clap::CommandFactory>::command()
            .error(
                clap::error::ErrorKind::MissingSubcommand,
                "a command is required (or -L to describe the cluster)",
            )
            .exit();
    };
    // Commands that do not need connection settings run before the config file is read, so
    // a broken file can still be replaced with `profile create`.
    match command {
        cli::Command::Profile(p) => commands::profile::run(&args.global, p),
        cli::Command::Completion { shell } => {
            let mut command = <cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "streamctl", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        command => {
            let global = config::resolve(&args.global)?;
            match command {
                cli::Command::Dev(dev) => commands::dev::run(&global, dev).await,
                cli::Command::Produce(p) => commands::produce::run(&global, p).await,
                cli::Command::Consume(c) => commands::consume::run(&global, c).await,
                cli::Command::Topic(t) => commands::topic::run(&global, t).await,
                cli::Command::Group(g) => commands::group::run(&global, g).await,
                cli::Command::Txn(t) => commands::txn::run(&global, t).await,
                cli::Command::Schema(s) => commands::schema::run(&global, s).await,
                cli::Command::Cluster(c) => commands::cluster::run(&global, c).await,
                cli::Command::Perf(p) => {
                    // perf starts its own dev cluster unless told where the brokers are.
                    let named = args.global.brokers.is_some() || args.global.profile.is_some();
                    commands::perf::run(&global, p, named).await
                }
                cli::Command::Ui(mut u) => {
                    // The profile written by `dev up` knows its admin plane.
                    u.admin_url = u.admin_url.or_else(|| global.admin_url.clone());
                    ui::run(&global, u).await
                }
                cli::Command::Profile(_) | cli::Command::Completion { .. } => Ok(ExitCode::SUCCESS),
            }
        }
    }
}
