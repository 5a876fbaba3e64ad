//! `powens-sandbox`: runs the fake Powens server until interrupted.

use clap::Parser;
use powens_sandbox::{ClockMode, Profile, Sandbox, SandboxSize};

/// A local fake Powens server with seeded data, Webview, webhooks and fault injection.
#[derive(Debug, Parser)]
#[command(name = "powens-sandbox", version)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Users created at start (each with a token, printed below).
    #[arg(long, default_value_t = 0)]
    users: u32,
    /// Connections per Webview link (when `max_connections` is absent).
    #[arg(long, default_value_t = 1)]
    connections_per_link: u32,
    /// Accounts per connection.
    #[arg(long, default_value_t = 6)]
    accounts_per_connection: u32,
    /// Transactions per account.
    #[arg(long, default_value_t = 50)]
    transactions_per_account: u32,
    /// Clock start, naive Paris time `YYYY-MM-DD HH:MM:SS` (default 2026-06-18 08:00:00), or
    /// `now` for the current Paris wall time (with `--ticking`, webhook signatures are then
    /// fresh for a receiver on the real clock).
    #[arg(long)]
    now: Option<String>,
    /// Let the clock follow real time instead of staying frozen.
    #[arg(long)]
    ticking: bool,
    /// Server behaviour and maturation profile: `default` or `realistic` (newest first, pages
    /// capped at 7 rows, root-relative next links, 400 noAccount, state-only reconnect, mixed
    /// maturation).
    #[arg(long, default_value_t = Profile::Default)]
    profile: Profile,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut builder = Sandbox::builder()
        .seed(args.seed)
        .port(args.port)
        .profile(args.profile)
        .size(SandboxSize {
            users: args.users,
            connections_per_link: args.connections_per_link,
            accounts_per_connection: args.accounts_per_connection,
            transactions_per_account: args.transactions_per_account,
        })
        .clock_mode(if args.ticking {
            ClockMode::Ticking
        } else {
            ClockMode::Frozen
        });
    if args.now.as_deref() == Some("now") {
        let now = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Paris)
            .naive_local();
        builder = builder.start_time(now);
    } else if let Some(now) = &args.now {
        match chrono::NaiveDateTime::parse_from_str(now, "%Y-%m-%d %H:%M:%S") {
            Ok(at) => builder = builder.start_time(at),
            Err(e) => {
                eprintln!("error: --now must be YYYY-MM-DD HH:MM:SS ({e})");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let sandbox = match builder.start().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let c = sandbox.credentials();
    println!("listening on {}", sandbox.base_url());
    println!(
        "client_id={} client_secret={} configuration_token={} domain={}",
        c.client_id, c.client_secret, c.configuration_token, c.domain
    );
    for u in sandbox.users() {
        let connections: Vec<String> = u.connection_ids.iter().map(u64::to_string).collect();
        println!(
            "user id={} token={} connections={}",
            u.id,
            u.token,
            connections.join(",")
        );
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C: {e}");
    }
    sandbox.shutdown().await;
    std::process::ExitCode::SUCCESS
}
