//! `plan`, `apply` and `delete`: one pool against AWS, with no cluster. Each prints its changes
//! and, on stderr, the AWS calls it made.

use std::time::Instant;

use anyhow::Result;
use passwordless_operator::aws::Clients;
use passwordless_operator::key_rotation::{self, Rotation};
use passwordless_operator::reconcile::{self, Deleted};
use passwordless_operator::recorded::RecordingSink;
use passwordless_operator::state;
use passwordless_operator::status::{now, reasons, status_of};

use super::args::{ApplyArgs, Format, PoolArgs};
use super::load::{StateFile, load};

/// Prints what `apply` would change, field by field. Writes nothing.
pub async fn plan(args: &PoolArgs) -> Result<()> {
    let started = Instant::now();
    let mut l = load(args).await?;
    // A plan writes nothing: with no key stored yet, a stand-in made "at time 0" (so nothing is
    // retired or pruned) shows that one will be set.
    key_rotation::advance(
        &mut l.state,
        Rotation::Keep,
        0,
        l.pool.spec.retired_key_seconds(),
    );
    let req = l.request()?;
    let plan = reconcile::plan_changes(&l.clients, &req).await?;
    print!("{plan}");
    eprintln!("{}", calls_line(&l.clients, started));
    Ok(())
}

/// Converges AWS to the manifest; prints the status and the Secret data the controller writes.
pub async fn apply(args: &ApplyArgs) -> Result<()> {
    let started = Instant::now();
    let mut l = load(&args.pool).await?;
    let rotation = if args.rotate_signing_key {
        Rotation::Now
    } else {
        Rotation::Keep
    };
    if key_rotation::advance(
        &mut l.state,
        rotation,
        state::unix_now(),
        l.pool.spec.retired_key_seconds(),
    ) {
        l.state.save(&l.path)?;
    }
    let req = l.request()?;
    let mut sink = RecordingSink {
        record: l.state.clone(),
        store: StateFile {
            path: l.path.clone(),
        },
    };
    let applied = reconcile::apply(&l.clients, &req, &mut sink).await?;
    for pass in &applied.changes {
        eprint!("{pass}");
    }
    let status = status_of(&applied.outputs, l.pool.metadata.generation, now());
    // Said on its own line too: a status a person skims must not hide it.
    for restricted in status
        .conditions
        .iter()
        .filter(|c| c.type_ == reasons::DELIVERY_RESTRICTED)
    {
        eprintln!("warning: {}: {}", restricted.reason, restricted.message);
    }
    let report = serde_json::json!({
        "status": status,
        "secretName": applied.outputs.secret_name,
        "secretData": applied.outputs.secret_data(l.pool.spec.strategy),
    });
    match args.output {
        Format::Yaml => print!("{}", serde_yaml::to_string(&report)?),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    eprintln!("{}", calls_line(&l.clients, started));
    Ok(())
}

/// Deletes the pool's AWS resources (or keeps them under `Retain`), then its state file.
pub async fn delete(args: &PoolArgs) -> Result<()> {
    let started = Instant::now();
    let l = load(args).await?;
    let req = l.request()?;
    match reconcile::delete(&l.clients, &req).await? {
        Deleted::Retained => println!("deletionPolicy is Retain: AWS resources kept."),
        Deleted::Removed(plan) => {
            print!("{plan}");
            // The keys sign nothing any more; the IDs point at nothing.
            if l.path.exists() {
                std::fs::remove_file(&l.path)?;
            }
        }
    }
    eprintln!("{}", calls_line(&l.clients, started));
    Ok(())
}

fn calls_line(clients: &Clients, started: Instant) -> String {
    format!(
        "AWS calls: {} reads, {} writes; {:.2}s",
        clients.calls.reads(),
        clients.calls.writes(),
        started.elapsed().as_secs_f64()
    )
}
