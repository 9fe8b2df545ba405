//! `AddressClaims`: Service cluster IPs and node ports handed out without collisions. Each
//! allocated address is a claim key (`/registry/ranges/serviceips/<ip>`,
//! `/registry/ranges/servicenodeports/<port>`) whose value names the owning Service; a new claim
//! must not exist when the transaction commits, so two concurrent creates can never both get the
//! same address.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::ServiceSpec;

use crate::objects::UsedAddresses;

use super::error::RegistryError;
use super::store_view::StoreView;
use super::write_set::WriteSet;

const IP_PREFIX: &str = "/registry/ranges/serviceips/";
const PORT_PREFIX: &str = "/registry/ranges/servicenodeports/";

/// The addresses a Service spec holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeldAddresses {
    pub ips: BTreeSet<Ipv4Addr>,
    pub ports: BTreeSet<u16>,
}

impl HeldAddresses {
    pub fn of(spec: Option<&ServiceSpec>) -> HeldAddresses {
        let mut used = UsedAddresses::default();
        if let Some(spec) = spec {
            used.add_service(spec);
        }
        HeldAddresses {
            ips: used.cluster_ips,
            ports: used.node_ports,
        }
    }
}

/// Every claimed address (read once per transaction), plus the claims made in it.
#[derive(Default)]
pub struct AddressClaims {
    used: Option<UsedAddresses>,
}

impl AddressClaims {
    /// The addresses in use, including claims made earlier in this transaction.
    pub fn used(&mut self, view: &StoreView) -> Result<&UsedAddresses, RegistryError> {
        if self.used.is_none() {
            let mut used = UsedAddresses::default();
            for kv in view.scan(IP_PREFIX.as_bytes())? {
                if let Some(ip) = suffix(&kv.key, IP_PREFIX).and_then(|s| s.parse().ok()) {
                    used.cluster_ips.insert(ip);
                }
            }
            for kv in view.scan(PORT_PREFIX.as_bytes())? {
                if let Some(p) = suffix(&kv.key, PORT_PREFIX).and_then(|s| s.parse().ok()) {
                    used.node_ports.insert(p);
                }
            }
            self.used = Some(used);
        }
        Ok(self.used.get_or_insert_with(UsedAddresses::default))
    }

    /// Moves `owner` from holding `old` to holding `new`: new claims must be free at commit,
    /// released ones are deleted.
    pub fn transfer(
        &mut self,
        view: &StoreView,
        ws: &mut WriteSet,
        owner: &[u8],
        old: &HeldAddresses,
        new: &HeldAddresses,
    ) -> Result<(), RegistryError> {
        self.used(view)?;
        let used = self.used.get_or_insert_with(UsedAddresses::default);
        for ip in new.ips.difference(&old.ips) {
            let key = format!("{IP_PREFIX}{ip}").into_bytes();
            ws.depend_on(&key, 0);
            ws.put(&key, owner.to_vec());
            used.cluster_ips.insert(*ip);
        }
        for port in new.ports.difference(&old.ports) {
            let key = format!("{PORT_PREFIX}{port}").into_bytes();
            ws.depend_on(&key, 0);
            ws.put(&key, owner.to_vec());
            used.node_ports.insert(*port);
        }
        for ip in old.ips.difference(&new.ips) {
            ws.delete(format!("{IP_PREFIX}{ip}").as_bytes());
            used.cluster_ips.remove(ip);
        }
        for port in old.ports.difference(&new.ports) {
            ws.delete(format!("{PORT_PREFIX}{port}").as_bytes());
            used.node_ports.remove(port);
        }
        Ok(())
    }
}

fn suffix<'a>(key: &'a [u8], prefix: &str) -> Option<&'a str> {
    std::str::from_utf8(key).ok()?.strip_prefix(prefix)
}
