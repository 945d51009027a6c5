//! Chapter 14 exercise: who can reach a server bound to this address?
//!
//! `locallm serve --host ADDR` listens on `ADDR`. Loopback addresses
//! (`127.0.0.0/8`, `::1`) exist only inside this machine; the unspecified
//! address (`0.0.0.0`, `::`) means every interface; any other address is
//! one interface of this machine, which the computers on its network can
//! reach. An IPv6 address that embeds an IPv4 one (`::ffff:127.0.0.1`) is
//! judged by the IPv4 address inside it.
//!
//! Check your work with `./check.sh ch14-bind-address` (from `exercises/`).

use std::net::IpAddr;

/// Who can connect to a server listening on an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Programs on this machine only.
    ThisMachine,
    /// Other machines too, through one interface.
    OneInterface,
    /// Other machines too, through every interface.
    EveryInterface,
}

/// What the user typed was not an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnAddress(pub String);

/// Who can reach a server started with `--host host` (surrounding spaces
/// are ignored; IPv6 may be written in brackets, `[::1]`).
pub fn reach(host: &str) -> Result<Reach, NotAnAddress> {
    // TODO: parse the host as an IP address (brackets around IPv6 are not part
    //       of it), or NotAnAddress with the host as given.
    // TODO: an IPv6 address that carries an IPv4 one is judged as that IPv4 one.
    // TODO: who can reach it.
    let _ = host;
    let _: Option<IpAddr> = None;
    todo!("who can reach this address")
}
