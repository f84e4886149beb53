//! Built-in client classes (Kea ARM 14.2 "Built-in Client Classes"): `ALL`, `KNOWN`,
//! `UNKNOWN` and `VENDOR_CLASS_<option 60>`. Kea's expression language for configured classes
//! is a separate piece of work; configured classes without a built-in meaning do not match yet.

/// The classes a packet belongs to, in assignment order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classes(Vec<String>);

impl Classes {
    /// `ALL`, plus `VENDOR_CLASS_<vendor class>` when the client sent option 60.
    pub fn initial(vendor_class: Option<&[u8]>) -> Classes {
        let mut v = vec!["ALL".to_string()];
        if let Some(vc) = vendor_class.filter(|v| !v.is_empty()) {
            v.push(format!("VENDOR_CLASS_{}", String::from_utf8_lossy(vc)));
        }
        Classes(v)
    }

    /// Adds `KNOWN` or `UNKNOWN` once host reservations have been looked up.
    pub fn set_known(&mut self, known: bool) {
        self.0.retain(|c| c != "KNOWN" && c != "UNKNOWN");
        self.0.push(if known { "KNOWN" } else { "UNKNOWN" }.to_string());
    }

    /// Adds a class (for example one named by a host reservation).
    pub fn add(&mut self, name: &str) {
        if !self.contains(name) {
            self.0.push(name.to_string());
        }
    }

    /// True when the packet is in `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|c| c == name)
    }

    /// Kea's guard rule: an empty guard admits everyone, otherwise one listed class must match.
    pub fn admits(&self, guard: &[String]) -> bool {
        guard.is_empty() || guard.iter().any(|g| self.contains(g))
    }

    /// The classes in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins() {
        let mut c = Classes::initial(Some(b"MSFT 5.0"));
        c.set_known(false);
        assert!(c.contains("ALL") && c.contains("VENDOR_CLASS_MSFT 5.0") && c.contains("UNKNOWN"));
        assert!(c.admits(&[]));
        assert!(c.admits(&["UNKNOWN".to_string()]));
        assert!(!c.admits(&["KNOWN".to_string()]));
    }
}
