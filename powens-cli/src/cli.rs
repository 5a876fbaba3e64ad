//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use powens_sandbox::Profile;

/// The Powens SDK's command-line tool: sync bank data, link users, verify and translate
/// webhooks, map Powens JSON, run the sandbox.
#[derive(Debug, Parser)]
#[command(name = "powens", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One full sync (accounts, balances, payments, external accounts) into a JSON lines file.
    ///
    /// Without --config: starts the embedded sandbox, creates and links PSUs through its
    /// Webview, syncs them, and checks the file against the sandbox's truth.
    Sync(SyncArgs),
    /// Prints a Webview link for a PSU (the embedded sandbox by default).
    Link(LinkArgs),
    /// Webhook tools.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Maps Powens JSON read on stdin to records, one JSON object per line.
    #[command(subcommand)]
    Map(MapCommand),
    /// Runs the sandbox (a fake Powens server on 127.0.0.1) until Ctrl-C.
    Sandbox(SandboxArgs),
    /// Runs the connector as a service: polling, webhooks, PSU management over HTTP,
    /// health and metrics (the embedded sandbox without --config), until SIGTERM.
    Serve(crate::serve::ServeArgs),
}

/// `powens sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Where to write the records (JSON lines; replaced).
    #[arg(long, default_value = "powens-sync.jsonl")]
    pub out: PathBuf,
    /// A Powens install payload (the spec's config.json): sync that domain instead of the
    /// sandbox.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// With --config: a Powens user to sync, as `PSU_ID=TOKEN` (repeatable; split at the
    /// first `=`). A bare `TOKEN` is the PSU `powens-user-<id>`, `<id>` being its Powens user
    /// id (asked with GET /users/me). A PSU id or a token given twice is refused.
    #[arg(long = "psu-token", value_name = "PSU_ID=TOKEN")]
    pub psu_tokens: Vec<String>,
    /// With --config: a file of Powens users, one per line: `PSU_ID TOKEN`, or a bare
    /// `TOKEN` named as for --psu-token. Whole lines starting with `#` are comments (a token
    /// may contain `#`).
    #[arg(long, value_name = "FILE")]
    pub psu_tokens_file: Option<PathBuf>,
    /// Keep the resumable sync state (and, with --config, the PSUs) in this directory
    /// between runs. One process per directory: a second one is refused.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Fsync --out after each batch, before the state commits it, so that after a power
    /// loss the file is never behind the state. On by default with --state.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub fsync: Option<bool>,
    /// Sandbox: PSUs to create and link.
    #[arg(long, default_value_t = 2)]
    pub psus: u32,
    /// Sandbox: accounts per linked bank connection.
    #[arg(long, default_value_t = 3)]
    pub accounts: u32,
    /// Sandbox: transactions per account.
    #[arg(long, default_value_t = 200)]
    pub transactions: u32,
    /// Sandbox: the seed of the generated data.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Sandbox: how the embedded sandbox behaves. `realistic` does what a real Powens domain
    /// may do: rows newest first, pages shorter than asked with root-relative next links,
    /// `400 noAccount` for a user with no bank (one such PSU is added), maturation both ways.
    #[arg(long, value_name = "PROFILE", default_value = "default")]
    pub sandbox_profile: Profile,
    /// Items asked per page (default: the config's pageSize, else 1000 for the sandbox).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// PSUs synced at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Client-side rate limit in requests per second, 0 = none. Default: none for the
    /// embedded sandbox, the client's default (10/s) with --config.
    #[arg(long, value_name = "REQ_PER_S")]
    pub rate_limit: Option<u32>,
    /// No progress display and no summary table (the last line is still printed).
    #[arg(long, short)]
    pub quiet: bool,
    /// Exit 1 when any row was skipped (a row the connector cannot map, e.g. one with a raw
    /// control character). Either way the other rows are written, the skipped ones are
    /// listed on stderr, and the state moves past them.
    #[arg(long)]
    pub strict: bool,
}

/// `powens link`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The PSU's name. Its id is `psu-` and the name's letters and digits, lower-cased,
    /// other characters as `-` (`Jane Doe` is `psu-jane-doe`), unless --psu-id is given.
    #[arg(long)]
    pub psu: String,
    /// The PSU id (1 to 64 ASCII letters, digits, `-`, `_`, `.`), instead of the one derived
    /// from --psu.
    #[arg(long, value_name = "ID")]
    pub psu_id: Option<String>,
    /// With --config and --state: a new link for the PSU already saved under this id (its
    /// Powens user and token are reused; no new user is created).
    #[arg(long)]
    pub again: bool,
    /// A Powens install payload: link against that domain instead of the sandbox.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// With --config: keep the created PSU (and its Powens token) in `DIR/psus.json`, for
    /// `powens sync --config … --state DIR`. A PSU id saved there is never replaced.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Where Powens sends the user back (absolute; HTTPS unless loopback; no query).
    #[arg(long, default_value = "http://127.0.0.1:8080/powens/callback")]
    pub redirect_uri: String,
    /// Sandbox: print the link and exit instead of serving it until Ctrl-C.
    #[arg(long)]
    pub no_serve: bool,
}

/// `powens webhook …`.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Checks a webhook's BI-Signature; the raw body is read on stdin. Prints `valid` (exit 0)
    /// or `invalid: <reason>` (exit 1).
    Verify(VerifyArgs),
    /// Translates a webhook body read on stdin; prints the resulting records as JSON lines.
    Translate(TranslateArgs),
    /// Prints the URL to register in the Powens console for each event install subscribes
    /// to (Powens registers webhook URLs in its console, not by API).
    Urls(UrlsArgs),
}

/// `powens webhook urls`.
#[derive(Debug, Args)]
pub struct UrlsArgs {
    /// The public base URL webhooks are delivered under, e.g. `https://example.org/hooks`.
    #[arg(long)]
    pub base: String,
}

/// `powens webhook verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The webhook secret (`secret_key` of the auth provider). Other users of the machine
    /// can read a command line: prefer --secret-file or the POWENS_WEBHOOK_SECRET variable.
    #[arg(long, conflicts_with = "secret_file")]
    pub secret: Option<String>,
    /// A file holding the webhook secret (surrounding white space ignored).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<std::path::PathBuf>,
    /// The public path the webhook was registered under, e.g. `/user-created`.
    #[arg(long)]
    pub path: String,
    /// The BI-Signature-Date header, as received.
    #[arg(long)]
    pub date: String,
    /// The BI-Signature header, as received.
    #[arg(long)]
    pub signature: String,
    /// Also refuse a BI-Signature-Date further than this from now (e.g. `5m`, `3d`). Saved
    /// payloads are checked without a window unless this is given.
    #[arg(long)]
    pub max_age: Option<String>,
}

/// `powens webhook translate`.
#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// The Powens event name, e.g. `CONNECTION_SYNCED`.
    #[arg(long)]
    pub event: String,
    /// The PSU id to stamp on every record (as the engine does for the PSU the Powens user
    /// is forwarded to).
    #[arg(long)]
    pub psu: Option<String>,
}

/// `powens map …`.
#[derive(Debug, Subcommand)]
pub enum MapCommand {
    /// An accounts list (`GET /users/me/accounts`) on stdin → account and balance records.
    Accounts(MapAccountsArgs),
    /// A transactions page on stdin → payment and external account records.
    Transactions(MapTransactionsArgs),
}

/// `powens map accounts`.
#[derive(Debug, Args)]
pub struct MapAccountsArgs {
    /// The PSU id to stamp on the records.
    #[arg(long)]
    pub psu: Option<String>,
}

/// `powens map transactions`.
#[derive(Debug, Args)]
pub struct MapTransactionsArgs {
    /// The account's UMN asset, e.g. `EUR/2`.
    #[arg(long)]
    pub asset: String,
    /// The account reference (the Powens account id); rows of other accounts are reported.
    #[arg(long)]
    pub account: String,
    /// The PSU id to stamp on the records.
    #[arg(long)]
    pub psu: Option<String>,
}

/// `powens sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Users created at start (their tokens are printed).
    #[arg(long, default_value_t = 1)]
    pub users: u32,
    /// Accounts per bank connection.
    #[arg(long, default_value_t = 3)]
    pub accounts: u32,
    /// Transactions per account.
    #[arg(long, default_value_t = 200)]
    pub transactions: u32,
    /// How the sandbox behaves: `default`, or `realistic` (what a real Powens domain may
    /// do: rows newest first, short pages with root-relative next links, `400 noAccount`,
    /// maturation both ways, reconnect callbacks with only `state`).
    #[arg(long, value_name = "PROFILE", default_value = "default")]
    pub profile: Profile,
    /// Also write an install payload (config.json) pointing at this sandbox, for
    /// `powens sync --config`.
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
}
