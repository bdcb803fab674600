use super::{api_error, cli_actor};
use crate::{
    cli::{TokenCommand, UserCommand},
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, bail, Context, Result};
use opsward_core::{user::User, Role};
use opsward_server::{
    api::{
        tokens::mint,
        users::{change_account, create_account, CreateUser, UpdateUser},
    },
    auth::secret::random_secret,
};
use opsward_store::Store;
use std::{io::BufRead, process::ExitCode, sync::Arc};

const USER_COLUMNS: &[&str] = &[
    "id",
    "username",
    "display_name",
    "role",
    "disabled",
    "last_login_at",
];
const TOKEN_COLUMNS: &[&str] = &[
    "id",
    "user_id",
    "name",
    "prefix",
    "expires_at",
    "revoked_at",
    "last_used_at",
];

fn read_password_line() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

async fn find_user(store: &Arc<dyn Store>, username: &str) -> Result<User> {
    store
        .user_credentials(username)
        .await?
        .map(|(u, _)| u)
        .ok_or_else(|| anyhow!("no user named {username:?}"))
}

/// `keep_api_tokens`: the configuration option of that name (tokens survive a password
/// change or a disabled account); revoked by default.
pub async fn user(
    store: &Arc<dyn Store>,
    cmd: UserCommand,
    out: OutputFormat,
    keep_api_tokens: bool,
) -> Result<ExitCode> {
    match cmd {
        UserCommand::Add {
            username,
            role,
            admin,
            display_name,
            email,
            password_stdin,
        } => {
            let role = if admin {
                Role::Admin
            } else {
                role.parse::<Role>()?
            };
            let (password, generated) = if password_stdin {
                (read_password_line()?, false)
            } else {
                (random_secret(), true)
            };
            let input = CreateUser {
                username,
                display_name,
                email,
                role,
                password: password.clone(),
            };
            let user = create_account(store.as_ref(), &cli_actor(), input)
                .await
                .map_err(api_error)?;
            print_one(out, &user)?;
            if generated {
                eprintln!("password: {password}");
                eprintln!(
                    "(shown once; change it with `opsward user set-password --username {}`)",
                    user.username
                );
            }
        }
        UserCommand::List => print(out, &store.list_users().await?, USER_COLUMNS)?,
        UserCommand::SetPassword { username } => {
            let user = find_user(store, &username).await?;
            let change = UpdateUser {
                password: Some(read_password_line()?),
                ..Default::default()
            };
            change_account(
                store.as_ref(),
                &cli_actor(),
                user.id,
                change,
                keep_api_tokens,
            )
            .await
            .map_err(api_error)?;
            if keep_api_tokens {
                eprintln!("password changed; {username}'s sessions have ended (API tokens kept: keep_api_tokens)");
            } else {
                eprintln!(
                    "password changed; {username}'s sessions have ended and API tokens are revoked"
                );
            }
        }
        UserCommand::Set {
            username,
            role,
            disable,
            enable,
        } => {
            let user = find_user(store, &username).await?;
            let change = UpdateUser {
                role: role.map(|r| r.parse::<Role>()).transpose()?,
                disabled: if disable {
                    Some(true)
                } else if enable {
                    Some(false)
                } else {
                    None
                },
                ..Default::default()
            };
            let user = change_account(
                store.as_ref(),
                &cli_actor(),
                user.id,
                change,
                keep_api_tokens,
            )
            .await
            .map_err(api_error)?;
            print_one(out, &user)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(
    store: &Arc<dyn Store>,
    cmd: TokenCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    match cmd {
        TokenCommand::Create {
            username,
            name,
            days,
        } => {
            let user = find_user(store, &username).await?;
            let created = mint(store.as_ref(), &cli_actor(), user.id, &name, Some(days))
                .await
                .map_err(api_error)?;
            match out {
                OutputFormat::Json => print_one(out, &created)?,
                // The bare secret on stdout, so `TOKEN=$(opsward token create ...)` works.
                _ => {
                    println!("{}", created.token);
                    eprintln!(
                        "token {} (id {}) for {username}, expires {}; shown once",
                        name,
                        created.info.id,
                        created
                            .info
                            .expires_at
                            .map(|e| e.to_rfc3339())
                            .unwrap_or_else(|| "never".into())
                    );
                }
            }
        }
        TokenCommand::List { username } => {
            let user_id = match username {
                Some(u) => Some(find_user(store, &u).await?.id),
                None => None,
            };
            print(out, &store.list_api_tokens(user_id).await?, TOKEN_COLUMNS)?;
        }
        TokenCommand::Revoke { id } => {
            let token = store
                .revoke_api_token(&cli_actor(), id, chrono::Utc::now())
                .await?;
            print_one(out, &token)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
