//! Everything a flow may touch, as one trait whose associated types are the ports (mail, SMS,
//! the state store, the user directory, the clock, randomness, the signing keys), so a flow
//! takes `&impl Ports`. [`Wired`] holds one of each: the AWS ones in `main`, fakes in tests.

use crate::delivery::{Clock, Directory, Entropy, Mailer, SecretSource, SmsSender, StateStore};
use crate::keys::KeyRing;
use crate::latency::SendLatency;
use crate::outcomes::Outcomes;

pub trait Ports: Sync {
    type Mailer: Mailer + Sync;
    type Sms: SmsSender + Sync;
    type Store: StateStore + Sync;
    type Directory: Directory + Sync;
    type Clock: Clock + Sync;
    type Entropy: Entropy + Sync;
    type Secrets: SecretSource + Sync + Send;

    fn mailer(&self) -> &Self::Mailer;
    fn sms(&self) -> &Self::Sms;
    fn store(&self) -> &Self::Store;
    fn directory(&self) -> &Self::Directory;
    fn clock(&self) -> &Self::Clock;
    fn entropy(&self) -> &Self::Entropy;
    /// The signing keys, as this process last read them.
    fn keys(&self) -> &KeyRing<Self::Secrets>;
    /// How long sends take, learnt across invocations.
    fn send_latency(&self) -> &SendLatency;
    /// What became of each send, for the platform team's metrics.
    fn outcomes(&self) -> &Outcomes;
}

/// One of each port, and what the process learns across invocations (the keys it read, how
/// long sends take).
pub struct Wired<M, S, T, D, C, E, K> {
    pub mailer: M,
    pub sms: S,
    pub store: T,
    pub directory: D,
    pub clock: C,
    pub entropy: E,
    pub keys: KeyRing<K>,
    pub send_latency: SendLatency,
    pub outcomes: Outcomes,
}

impl<M, S, T, D, C, E, K> Ports for Wired<M, S, T, D, C, E, K>
where
    M: Mailer + Sync,
    S: SmsSender + Sync,
    T: StateStore + Sync,
    D: Directory + Sync,
    C: Clock + Sync,
    E: Entropy + Sync,
    K: SecretSource + Sync + Send,
{
    type Mailer = M;
    type Sms = S;
    type Store = T;
    type Directory = D;
    type Clock = C;
    type Entropy = E;
    type Secrets = K;

    fn mailer(&self) -> &M {
        &self.mailer
    }
    fn sms(&self) -> &S {
        &self.sms
    }
    fn store(&self) -> &T {
        &self.store
    }
    fn directory(&self) -> &D {
        &self.directory
    }
    fn clock(&self) -> &C {
        &self.clock
    }
    fn entropy(&self) -> &E {
        &self.entropy
    }
    fn keys(&self) -> &KeyRing<K> {
        &self.keys
    }
    fn send_latency(&self) -> &SendLatency {
        &self.send_latency
    }
    fn outcomes(&self) -> &Outcomes {
        &self.outcomes
    }
}
