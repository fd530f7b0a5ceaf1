//! A host or group asked for by name that the inventory does not hold: said with the names it
//! does hold, so the fix is one look away.

use super::Inventory;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotInInventory {
    #[error("no host '{name}' in the inventory (hosts: {})", known.join(", "))]
    Host { name: String, known: Vec<String> },
    #[error("no group '{name}' in the inventory (groups: {})", known.join(", "))]
    Group { name: String, known: Vec<String> },
}

impl Inventory {
    /// Refuses a host the inventory does not hold.
    pub fn require_host(&self, name: &str) -> Result<(), NotInInventory> {
        if self.hosts.contains_key(name) {
            return Ok(());
        }
        Err(NotInInventory::Host {
            name: name.into(),
            known: self.hosts.keys().cloned().collect(),
        })
    }

    /// Refuses a group the inventory does not hold.
    pub fn require_group(&self, name: &str) -> Result<(), NotInInventory> {
        if self.groups.contains_key(name) {
            return Ok(());
        }
        Err(NotInInventory::Group {
            name: name.into(),
            known: self.groups.keys().cloned().collect(),
        })
    }
}
