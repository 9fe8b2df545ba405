//! `Decision`: the state of one attempt at deciding a request (or a batch): the view it read, the
//! write set it is building, the quota and address ledgers, the settings and the clock. Every
//! object write goes through [`Decision::write_object`], which keeps compares, quota usage and
//! address claims consistent with the object itself.

use k8s_openapi::api::core::v1::ServiceSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use keel_proto::keys::MAX_VALUE_BYTES;

use crate::objects::{DynamicObject, KindId, ServiceAllocator};

use super::address_claims::{AddressClaims, HeldAddresses};
use super::error::RegistryError;
use super::pod_cidrs::PodCidrAllocator;
use super::quota_ledger::QuotaLedger;
use super::quota_usage::{delta, usage_of};
use super::store_view::{StoreView, StoredObject};
use super::write_set::WriteSet;

/// Registry-wide settings (from the server's flags).
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    pub allocator: ServiceAllocator,
    /// Pod CIDRs handed to Nodes.
    pub pod_cidrs: PodCidrAllocator,
    /// Events kept at most (oldest pruned first).
    pub max_events: usize,
    /// Events older than this are pruned.
    pub event_ttl: std::time::Duration,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            allocator: ServiceAllocator::default(),
            pod_cidrs: PodCidrAllocator::default(),
            max_events: 10_000,
            event_ttl: std::time::Duration::from_secs(3600),
        }
    }
}

/// One attempt at deciding writes.
pub struct Decision<'a> {
    pub view: &'a StoreView,
    pub settings: &'a RegistrySettings,
    pub now: Time,
    pub ws: WriteSet,
    quotas: QuotaLedger,
    addresses: AddressClaims,
    /// Pod CIDRs allocated (and claimed) in this decision.
    allocated_cidrs: Vec<String>,
}

impl<'a> Decision<'a> {
    pub fn new(view: &'a StoreView, settings: &'a RegistrySettings, now: Time) -> Self {
        Decision {
            view,
            settings,
            now,
            ws: WriteSet::new(),
            quotas: QuotaLedger::default(),
            addresses: AddressClaims::default(),
            allocated_cidrs: Vec::new(),
        }
    }

    /// The addresses in use, for the Service allocator.
    pub fn used_addresses(&mut self) -> Result<crate::objects::UsedAddresses, RegistryError> {
        Ok(self.addresses.used(self.view)?.clone())
    }

    /// A free pod CIDR for the Node stored under `owner`, claimed in this decision.
    pub fn allocate_pod_cidr(&mut self, owner: &[u8]) -> Result<String, RegistryError> {
        let cidr = self
            .settings
            .pod_cidrs
            .allocate(self.view, &mut self.ws, owner)?;
        self.allocated_cidrs.push(cidr.clone());
        Ok(cidr)
    }

    /// Replaces `old` (absent for a create) with `new` (absent for a delete) under `key`:
    /// compares the key, charges quota, moves address claims, writes the JSON.
    pub fn write_object(
        &mut self,
        key: &[u8],
        old: Option<&StoredObject>,
        new: Option<&DynamicObject>,
    ) -> Result<(), RegistryError> {
        self.ws.claim_object(key)?;
        self.ws.depend_on(key, old.map_or(0, |o| o.mod_revision));
        let subject = old
            .map(|o| &o.object)
            .or(new)
            .map(|o| format!("{} \"{}\"", o.resource_kind().group_resource(), o.name()))
            .unwrap_or_default();
        let namespace = old
            .map(|o| o.object.namespace().to_string())
            .or_else(|| new.map(|n| n.namespace().to_string()))
            .unwrap_or_default();
        let old_usage = old.map(|o| usage_of(&o.object)).unwrap_or_default();
        let new_usage = new.map(usage_of).unwrap_or_default();
        let charge = delta(&old_usage, &new_usage);
        self.quotas
            .charge(self.view, &mut self.ws, &namespace, &subject, &charge)?;
        let is_service = old
            .map(|o| &o.object)
            .or(new)
            .is_some_and(|o| o.resource_kind().id == KindId::Service);
        if is_service {
            let held = |o: Option<&DynamicObject>| HeldAddresses::of(service_spec(o).as_ref());
            let before = held(old.map(|o| &o.object));
            let after = held(new);
            self.addresses
                .transfer(self.view, &mut self.ws, key, &before, &after)?;
        }
        let node_cidr = |o: Option<&DynamicObject>| {
            o.filter(|o| o.resource_kind().id == KindId::Node)
                .and_then(|o| o.field("spec.podCIDR")?.as_str().map(str::to_string))
                .filter(|c| !c.is_empty())
        };
        let (old_cidr, new_cidr) = (node_cidr(old.map(|o| &o.object)), node_cidr(new));
        if old_cidr != new_cidr {
            if let Some(c) = &old_cidr {
                PodCidrAllocator::release(&mut self.ws, c);
            }
            if let Some(c) = &new_cidr {
                if !self.allocated_cidrs.contains(c) {
                    PodCidrAllocator::claim(&mut self.ws, c, key);
                }
            }
        }
        match new {
            Some(obj) => {
                let mut obj = obj.clone();
                obj.clear_resource_version();
                let json = obj.to_json();
                if json.len() > MAX_VALUE_BYTES {
                    return Err(RegistryError::BadRequest(format!(
                        "{subject}: the object is {} bytes, over the limit of {} bytes",
                        json.len(),
                        MAX_VALUE_BYTES
                    )));
                }
                self.ws.put(key, json);
            }
            None => self.ws.delete(key),
        }
        Ok(())
    }

    /// The finished write set (quota usage written back).
    pub fn finish(mut self) -> Result<WriteSet, RegistryError> {
        self.quotas.finish(&mut self.ws)?;
        Ok(self.ws)
    }
}

fn service_spec(obj: Option<&DynamicObject>) -> Option<ServiceSpec> {
    serde_json::from_value(obj?.field("spec")?.clone()).ok()
}
