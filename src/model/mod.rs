//! Stateright models of the protocol, checked exhaustively.

pub mod replication;
