//! `omnisonic user create|list|disable|enable|grant|revoke` and `omnisonic token create|list|revoke`: account
//! administration from the shell.

use crate::cli::{TokenCommand, UserCommand};
use anyhow::{Context, bail};
use base64::Engine;
use omnisonic_domain::account::{MAX_NAME_CHARS, StaffRole, check_new_password, normalize_email};
use omnisonic_store::DatabaseConnection;
use omnisonic_store::StoreError;
use omnisonic_store::auth::{self as store, NewUser};
use omnisonic_store::entities::user;
use std::io::BufRead;

/// Runs one `user` subcommand.
pub async fn run(
    db: &DatabaseConnection,
    pubsub: &omnisonic_platform::PubSub,
    command: UserCommand,
) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { email, name, password_stdin } => create(db, &email, name, password_stdin).await,
        UserCommand::List => list(db).await,
        UserCommand::Disable { user } => set_disabled(db, pubsub, &user, true).await,
        UserCommand::Enable { user } => set_disabled(db, pubsub, &user, false).await,
        UserCommand::Grant { user, role } => set_role(db, &user, &role, true).await,
        UserCommand::Revoke { user, role } => set_role(db, &user, &role, false).await,
    }
}

async fn create(
    db: &DatabaseConnection,
    email: &str,
    name: Option<String>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let email = normalize_email(email).map_err(|reason| anyhow::anyhow!("--email {reason}"))?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("read the password from standard input")?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>()), true)
    };
    if let Err(errors) = check_new_password(&password) {
        bail!("{errors}");
    }
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || omnisonic_app::accounts::hash_password(&to_hash))
        .await
        .context("hash the password")?;
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
        bail!("--name must be at most {MAX_NAME_CHARS} characters");
    }
    let new =
        NewUser { email: Some(email.clone()), name, image: None, email_verified: false, password_hash: Some(hash) };
    let created = match store::create_user(db, new).await {
        Ok(user) => user,
        Err(StoreError::Conflict { .. }) => bail!("a user with email {email} already exists"),
        Err(err) => return Err(err).context("create the user"),
    };
    println!("created user {email} ({})", created.id);
    if generated {
        // Printed once, to the terminal that asked for it; never logged, only its hash is stored.
        println!("password: {password}");
    }
    Ok(())
}

pub(crate) async fn find(db: &DatabaseConnection, who: &str) -> anyhow::Result<user::Model> {
    let found = match uuid::Uuid::parse_str(who) {
        Ok(id) => store::get_user(db, id).await?,
        Err(_) => store::user_by_email(db, &normalize_email(who).unwrap_or_else(|_| who.to_owned())).await?,
    };
    found.with_context(|| format!("no user {who}"))
}

async fn list(db: &DatabaseConnection) -> anyhow::Result<()> {
    let users = store::list_users(db).await?;
    if users.is_empty() {
        println!("no users yet: create one with `omnisonic user create --email …`");
        return Ok(());
    }
    println!("{:<36}  {:<32}  {:<24}  {:<22}  status", "id", "email", "name", "sign-in");
    for summary in users {
        let u = &summary.user;
        let status = if u.disabled_at.is_some() { "disabled" } else { "active" };
        println!(
            "{:<36}  {:<32}  {:<24}  {:<22}  {status}",
            u.id,
            u.email.as_deref().unwrap_or("-"),
            u.name.as_deref().unwrap_or("-"),
            if summary.providers.is_empty() { "-".to_owned() } else { summary.providers.join(",") },
        );
    }
    Ok(())
}

async fn set_disabled(
    db: &DatabaseConnection,
    pubsub: &omnisonic_platform::PubSub,
    who: &str,
    disabled: bool,
) -> anyhow::Result<()> {
    let user = find(db, who).await?;
    store::set_user_disabled(db, user.id, disabled).await?;
    if disabled {
        omnisonic_app::accounts::announce_sign_in_ended(pubsub, user.id).await;
    }
    let label = user.email.as_deref().unwrap_or(who);
    if disabled {
        println!("disabled {label}: their sign-ins have ended");
    } else {
        println!("enabled {label}");
    }
    Ok(())
}

async fn set_role(db: &DatabaseConnection, who: &str, role: &str, grant: bool) -> anyhow::Result<()> {
    let Some(role) = StaffRole::parse(&role.trim().to_ascii_lowercase()) else {
        let names: Vec<&str> = StaffRole::ALL.iter().map(|r| r.as_str()).collect();
        bail!("unknown role {role:?}: use one of {}", names.join(", "));
    };
    let user = find(db, who).await?;
    let label = user.email.as_deref().unwrap_or(who);
    if grant {
        store::grant_role(db, user.id, role.as_str()).await?;
        println!("{label} is now {role}");
    } else if store::revoke_role(db, user.id, role.as_str()).await? {
        println!("{label} is no longer {role}");
    } else {
        println!("{label} was not {role}; nothing changed");
    }
    Ok(())
}

/// Runs one `token` subcommand.
pub async fn run_token(db: &DatabaseConnection, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { user, name } => {
            let user = find(db, &user).await?;
            let (row, secret) = match omnisonic_app::accounts::create_api_token(db, user.id, &name).await {
                Err(omnisonic_app::AppError::Invalid(errors)) => {
                    anyhow::bail!("--name: {}", errors.reason_for("name").unwrap_or("invalid"))
                }
                other => other?,
            };
            let label = user.email.as_deref().unwrap_or("the user");
            eprintln!("created API token {:?} ({}) for {label}; it is shown only now:", row.name, row.id);
            // The token alone on standard output, so `TOKEN=$(omnisonic token create …)` works.
            println!("{secret}");
            Ok(())
        }
        TokenCommand::List { user } => {
            let user = find(db, &user).await?;
            let tokens = omnisonic_store::api_tokens::list(db, user.id).await?;
            if tokens.is_empty() {
                println!("no API tokens");
                return Ok(());
            }
            println!("{:<36}  {:<14}  {:<24}  {:<20}  status", "id", "starts with", "name", "last used");
            for t in tokens {
                let status = if t.revoked_at.is_some() { "revoked" } else { "active" };
                let used = t.last_used_at.map_or("never".to_owned(), |at| at.format("%Y-%m-%d %H:%M").to_string());
                println!("{:<36}  {:<14}  {:<24}  {:<20}  {status}", t.id, format!("{}…", t.prefix), t.name, used);
            }
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let id = uuid::Uuid::parse_str(&id)
                .map_err(|_| anyhow::anyhow!("{id:?} is not a token id (see `omnisonic token list`)"))?;
            if omnisonic_store::api_tokens::revoke(db, id, None).await? {
                println!("revoked API token {id}: it signs nobody in from now on");
                Ok(())
            } else {
                bail!("no active API token {id}")
            }
        }
    }
}
