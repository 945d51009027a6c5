//! Solution of the chapter 14 exercise: who can reach a server bound to
//! this address?

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    ThisMachine,
    OneInterface,
    EveryInterface,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnAddress(pub String);

pub fn reach(host: &str) -> Result<Reach, NotAnAddress> {
    let trimmed = host.trim();
    let bare = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(trimmed);
    let addr: IpAddr = bare.parse().map_err(|_| NotAnAddress(host.to_string()))?;
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    Ok(if addr.is_loopback() {
        Reach::ThisMachine
    } else if addr.is_unspecified() {
        Reach::EveryInterface
    } else {
        Reach::OneInterface
    })
}
