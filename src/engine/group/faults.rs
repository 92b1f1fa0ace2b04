//! Fault injection on the replication links, deterministic so tests can script it.
//!
//! Every copy has one incoming link that carries the replication requests sent to it (writes
//! and resyncs, from whichever copy believes it is primary). A link delivers at once, holds
//! messages until [`crate::engine::ShardGroup::release`], holds them and releases them newest
//! first, or drops them. A dropped request is a failed request: the primary asks the master to
//! take the copy out of the in-sync set, as Elasticsearch does on any replica failure.

use std::collections::VecDeque;
use std::fmt;

use super::copy::CopyId;
use super::failover::FaultError;
use super::pending::WriteState;
use super::replication::{Message, Rejected, Reply};
use super::ShardGroup;
use crate::engine::sync::{Arc, AtomicU64, Mutex, MutexGuard, Ordering};

/// What a link does with the messages sent over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum LinkFault {
    /// Deliver each message at once, in the sender's thread.
    #[default]
    Deliver,
    /// Hold messages until released, then deliver them in the order they were sent.
    Delay,
    /// Hold messages until released, then deliver them newest first.
    Reorder,
    /// Fail every message sent, and the held ones when released.
    Drop,
}

impl LinkFault {
    pub const ALL: [LinkFault; 4] = [
        LinkFault::Deliver,
        LinkFault::Delay,
        LinkFault::Reorder,
        LinkFault::Drop,
    ];

    /// The lowercase name (`deliver`, `delay`, `reorder`, `drop`).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkFault::Deliver => "deliver",
            LinkFault::Delay => "delay",
            LinkFault::Reorder => "reorder",
            LinkFault::Drop => "drop",
        }
    }

    /// Parse a lowercase name.
    pub fn parse(name: &str) -> Option<LinkFault> {
        LinkFault::ALL.into_iter().find(|f| f.as_str() == name)
    }

    fn code(self) -> u64 {
        LinkFault::ALL.iter().position(|f| *f == self).unwrap_or(0) as u64
    }

    fn from_code(code: u64) -> LinkFault {
        LinkFault::ALL
            .get(code as usize)
            .copied()
            .unwrap_or_default()
    }
}

impl fmt::Display for LinkFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the sender does with a message it just sent.
pub(crate) enum Dispatch {
    /// Deliver it now.
    Now(Message),
    /// The link failed it.
    Dropped(Message),
    /// The link holds it.
    Held,
}

/// The incoming link of one copy.
pub(crate) struct Link {
    fault: AtomicU64,
    held: Mutex<VecDeque<Message>>,
}

impl Link {
    pub(crate) fn new() -> Self {
        Link {
            fault: AtomicU64::new(LinkFault::Deliver.code()),
            held: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn fault(&self) -> LinkFault {
        LinkFault::from_code(self.fault.load(Ordering::Acquire))
    }

    pub(crate) fn set(&self, fault: LinkFault) {
        self.fault.store(fault.code(), Ordering::Release);
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<Message>> {
        self.held.lock()
    }

    pub(crate) fn send(&self, message: Message) -> Dispatch {
        match self.fault() {
            LinkFault::Deliver => Dispatch::Now(message),
            LinkFault::Drop => Dispatch::Dropped(message),
            LinkFault::Delay | LinkFault::Reorder => {
                self.queue().push_back(message);
                Dispatch::Held
            }
        }
    }

    /// Take up to `limit` held messages in the order the link delivers them now (oldest first,
    /// newest first for `reorder`), and whether it drops them.
    pub(crate) fn take_held(&self, limit: usize) -> (Vec<Message>, bool) {
        let fault = self.fault();
        let mut queue = self.queue();
        let count = limit.min(queue.len());
        let held: Vec<Message> = match fault {
            LinkFault::Reorder => (0..count).filter_map(|_| queue.pop_back()).collect(),
            _ => queue.drain(..count).collect(),
        };
        (held, fault == LinkFault::Drop)
    }

    pub(crate) fn held(&self) -> usize {
        self.queue().len()
    }

    /// `f` of every held message, oldest first.
    pub(crate) fn map_held<T>(&self, f: impl Fn(&Message) -> T) -> Vec<T> {
        self.queue().iter().map(f).collect()
    }

    /// Take the `index`-th held message, oldest first.
    pub(crate) fn take_at(&self, index: usize) -> Option<Message> {
        self.queue().remove(index)
    }

    /// Hold `message` as the `index`-th, whatever the link's fault.
    pub(crate) fn hold_at(&self, index: usize, message: Message) {
        let mut queue = self.queue();
        let index = index.min(queue.len());
        queue.insert(index, message);
    }

    /// The writes of `sender` that wait for a request held here.
    pub(crate) fn waiting_writes_from(&self, sender: CopyId) -> Vec<Arc<WriteState>> {
        self.queue()
            .iter()
            .filter(|message| message.from == sender)
            .filter_map(|message| match &message.reply {
                Reply::Write(state) => Some(state.clone()),
                Reply::Resync | Reply::Recovery => None,
            })
            .collect()
    }
}

impl ShardGroup {
    /// What `copy`'s link does with the requests sent to it from now on.
    pub fn set_link(&self, copy: CopyId, fault: LinkFault) -> Result<(), FaultError> {
        self.check_copy(copy)?;
        self.links[copy].set(fault);
        Ok(())
    }

    pub fn link(&self, copy: CopyId) -> Result<LinkFault, FaultError> {
        self.check_copy(copy)?;
        Ok(self.links[copy].fault())
    }

    /// How many requests `copy`'s link holds.
    pub fn held(&self, copy: CopyId) -> Result<usize, FaultError> {
        self.check_copy(copy)?;
        Ok(self.links[copy].held())
    }

    /// Let the requests held on `copy`'s link through as the link is set now (in order for
    /// `delay`, newest first for `reorder`, failed for `drop`). Returns how many there were.
    pub fn release(&self, copy: CopyId) -> Result<usize, FaultError> {
        self.release_up_to(copy, usize::MAX)
    }

    /// Let the next held request on `copy`'s link through (the oldest, or the newest for
    /// `reorder`). Returns whether there was one.
    pub fn release_one(&self, copy: CopyId) -> Result<bool, FaultError> {
        Ok(self.release_up_to(copy, 1)? == 1)
    }

    fn release_up_to(&self, copy: CopyId, limit: usize) -> Result<usize, FaultError> {
        self.check_copy(copy)?;
        let (held, dropped) = self.links[copy].take_held(limit);
        let count = held.len();
        for message in held {
            match dropped {
                true => self.answer(message, Err(Rejected::Closed)),
                false => self.deliver(message),
            }
        }
        Ok(count)
    }

    /// Release every link; returns how many requests there were.
    pub fn release_all(&self) -> usize {
        (0..self.copies.len())
            .map(|copy| self.release(copy).unwrap_or(0))
            .sum()
    }
}
