//! `signin`: signs a user in to an applied pool with a real link or code, read from the
//! emulator's mailbox or pasted, and prints the ID token's claims (never a token).

use anyhow::{Context as _, Result, bail};
use passwordless_operator::crd::Strategy;
use passwordless_operator::signin::{self, Mailbox};

use super::args::SigninArgs;
use super::load::load;

pub async fn signin(args: SigninArgs) -> Result<()> {
    let l = load(&args.pool).await?;
    let Some(client_id) = args.client_id.or_else(|| l.state.client_id.clone()) else {
        bail!(
            "no app client recorded in {}: run `apply` first",
            l.path.display()
        )
    };
    let mailbox = if args.from_emulator {
        Mailbox::Emulator(
            l.clients
                .endpoint
                .clone()
                .context("--from-emulator needs AWS_ENDPOINT_URL")?,
        )
    } else {
        Mailbox::Stdin
    };
    if args.sign_up {
        signin::ensure_user(&l.clients, &client_id, &args.username).await?;
    }
    let claims = match l.pool.spec.strategy {
        Strategy::MagicLink => {
            signin::magic_link(&l.clients, &client_id, &args.username, &mailbox, |link| {
                eprintln!("magic link: {link}")
            })
            .await?
        }
        Strategy::EmailOtp | Strategy::SmsOtp => {
            signin::code(&l.clients, &client_id, &args.username, &mailbox).await?
        }
        Strategy::Native => bail!(
            "native pools sign in through Cognito's USER_AUTH flow, which this command does not drive"
        ),
    };
    println!("{}", serde_json::to_string_pretty(&claims)?);
    Ok(())
}
