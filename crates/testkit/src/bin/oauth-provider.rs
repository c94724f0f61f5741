//! `oauth-provider`: serves the test OAuth provider on loopback for the Playwright suite.
//!
//! ```text
//! oauth-provider --port 0 --client-id ID --client-secret SECRET
//! ```
//!
//! Prints exactly one line, `oauth provider listening on http://127.0.0.1:PORT`, then serves until interrupted.
//! The e2e runner reads that line and points the app's `GITHUB_BASE_URL`, `GITHUB_API_URL`, `DISCORD_BASE_URL` and
//! `GOOGLE_ISSUER_URL` at `/github`, `/github/api`, `/discord` and `/google` under it.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use omnisonic_testkit::{ClientRegistration, OAuthProvider};

const USAGE: &str = "usage: oauth-provider --port PORT --client-id ID --client-secret SECRET";

/// The command line, parsed by hand.
struct Args {
    port: u16,
    client: ClientRegistration,
}

/// What the command line asks for.
enum Command {
    Serve(Args),
    Help,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let (mut port, mut client_id, mut client_secret) = (None, None, None);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg, None),
        };
        if flag == "--help" || flag == "-h" {
            return Ok(Command::Help);
        }
        let mut value = || inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => port = Some(value()?.parse::<u16>().map_err(|e| format!("--port: {e}"))?),
            "--client-id" => client_id = Some(value()?),
            "--client-secret" => client_secret = Some(value()?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Command::Serve(Args {
        port: port.ok_or("--port is required")?,
        client: ClientRegistration {
            client_id: client_id.ok_or("--client-id is required")?,
            client_secret: client_secret.ok_or("--client-secret is required")?,
        },
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Serve(args)) => args,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("oauth-provider: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let provider = match OAuthProvider::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)), args.client).await {
        Ok(provider) => provider,
        Err(error) => {
            eprintln!("oauth-provider: cannot listen on 127.0.0.1:{}: {error}", args.port);
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "oauth provider listening on {}", provider.base_url()).and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("oauth-provider: cannot wait for ctrl-c: {error}");
        return ExitCode::FAILURE;
    }
    drop(provider);
    ExitCode::SUCCESS
}
