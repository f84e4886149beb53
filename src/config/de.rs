//! A serde `Deserializer` over the positioned [`Node`] tree, so that every type error, unknown
//! key or missing key in the strict `raw` structs is reported with `FILE:LINE.COL` and the JSON
//! path of the offending map (Kea ARM 8.1.1: unknown keywords are errors).

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::text::{Entry, Node, Pos, Value};

/// A structural configuration error: where, under which JSON path, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    /// Position of the offending value or key, once known.
    pub pos: Option<Pos>,
    /// JSON path such as `Dhcp4.subnet4[2].pools[0]`.
    pub path: String,
    /// Unknown key name, when the error is an unknown key (lets the caller skip it and go on).
    pub unknown_key: Option<String>,
    /// The message.
    pub msg: String,
}

impl DeError {
    fn at(mut self, pos: &Pos, path: &str) -> Self {
        if self.pos.is_none() {
            self.pos = Some(pos.clone());
            self.path = path.to_string();
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.pos {
            write!(f, "{p}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.msg)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { pos: None, path: String::new(), unknown_key: None, msg: msg.to_string() }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut msg = format!("unknown key \"{field}\"");
        if let Some(best) = closest(field, expected) {
            msg.push_str(&format!(" (did you mean \"{best}\"?)"));
        }
        DeError { pos: None, path: String::new(), unknown_key: Some(field.to_string()), msg }
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("expected {exp}, got {unexp}"))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::custom(format_args!("missing mandatory key \"{field}\""))
    }
}

/// The expected key nearest to a misspelt one, if it is close enough to be a typo.
fn closest<'a>(field: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|e| (levenshtein(field, e), *e))
        .filter(|(d, e)| *d <= 2.max(e.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Deserializes `T` from `node`; `path` names the node (for example `Dhcp4`).
pub fn from_node<T: DeserializeOwned>(node: &Node, path: &str) -> Result<T, DeError> {
    T::deserialize(NodeDe { node, path: path.to_string() })
}

/// Like [`from_node`] but goes on past unknown keys, so that one run reports all of them:
/// each unknown key is recorded and dropped from a copy of the tree, then decoding restarts.
/// Any other structural error ends the search (its consequences would be guesses).
pub fn from_node_collect<T: DeserializeOwned>(node: &Node, path: &str) -> Result<T, Vec<DeError>> {
    let mut errors = Vec::new();
    let mut tree = node.clone();
    // Bounded so that a pathological file cannot make this quadratic without limit.
    for _ in 0..256 {
        match from_node::<T>(&tree, path) {
            Ok(v) if errors.is_empty() => return Ok(v),
            Ok(_) => return Err(errors),
            Err(e) => {
                let removable = e.unknown_key.clone().zip(e.pos.clone());
                errors.push(e);
                match removable {
                    Some((key, pos)) if remove_key(&mut tree, &key, &pos) => continue,
                    _ => return Err(errors),
                }
            }
        }
    }
    Err(errors)
}

fn remove_key(node: &mut Node, key: &str, pos: &Pos) -> bool {
    match &mut node.value {
        Value::Map(entries) => {
            if let Some(i) = entries.iter().position(|e| e.key == key && e.key_pos == *pos) {
                entries.remove(i);
                return true;
            }
            entries.iter_mut().any(|e| remove_key(&mut e.value, key, pos))
        }
        Value::List(items) => items.iter_mut().any(|n| remove_key(n, key, pos)),
        _ => false,
    }
}

struct NodeDe<'a> {
    node: &'a Node,
    path: String,
}

impl NodeDe<'_> {
    fn fix<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| e.at(&self.node.pos, &self.path))
    }

    fn type_error(&self, exp: &str) -> DeError {
        DeError {
            pos: Some(self.node.pos.clone()),
            path: self.path.clone(),
            unknown_key: None,
            msg: format!("expected {exp}, got {}", self.node.value.kind()),
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::List(items) => visitor.visit_seq(Seq { items, i: 0, path: &self.path }),
            Value::Map(entries) => visitor.visit_map(Map { entries, i: 0, path: &self.path }),
        };
        self.fix(r)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Map(entries) => {
                let r = visitor.visit_map(Map { entries, i: 0, path: &self.path });
                self.fix(r)
            }
            _ => Err(self.type_error("a map")),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::List(items) => {
                let r = visitor.visit_seq(Seq { items, i: 0, path: &self.path });
                self.fix(r)
            }
            _ => Err(self.type_error("a list")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => {
                let r = visitor.visit_enum(s.as_str().into_deserializer());
                self.fix(r)
            }
            _ => Err(self.type_error("a string")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct identifier ignored_any
    }
}

struct Seq<'a> {
    items: &'a [Node],
    i: usize,
    path: &'a str,
}

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.get(self.i) else { return Ok(None) };
        let path = format!("{}[{}]", self.path, self.i);
        self.i += 1;
        seed.deserialize(NodeDe { node, path }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.i)
    }
}

struct Map<'a> {
    entries: &'a [Entry],
    i: usize,
    path: &'a str,
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some(e) = self.entries.get(self.i) else { return Ok(None) };
        seed.deserialize(e.key.as_str().into_deserializer())
            .map(Some)
            .map_err(|err: DeError| err.at(&e.key_pos, self.path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some(e) = self.entries.get(self.i) else {
            return Err(de::Error::custom("value requested past the end of a map"));
        };
        self.i += 1;
        let path = if self.path.is_empty() { e.key.clone() } else { format!("{}.{}", self.path, e.key) };
        seed.deserialize(NodeDe { node: &e.value, path })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::text::parse_str;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Pool {
        pool: Option<String>,
        pool_id: Option<i64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Subnet {
        subnet: Option<String>,
        #[serde(default)]
        pools: Option<Vec<Pool>>,
        user_context: Option<serde_json::Value>,
        t1_percent: Option<f64>,
    }

    fn node(s: &str) -> Node {
        parse_str("f.json", s, &mut Vec::new()).unwrap()
    }

    #[test]
    fn decodes_nested_structs_and_free_json() {
        let n = node(
            r#"{"subnet": "192.0.2.0/24", "pools": [{"pool": "a", "pool-id": 3}], "user-context": {"x": [1]}, "t1-percent": .5}"#,
        );
        let s: Subnet = from_node(&n, "s").unwrap();
        assert_eq!(s.pools.unwrap()[0].pool_id, Some(3));
        assert_eq!(s.user_context.unwrap()["x"][0], 1);
        assert_eq!(s.t1_percent, Some(0.5));
    }

    #[test]
    fn unknown_key_has_position_path_and_hint() {
        let n = node("{\"subnet\": \"x\",\n \"pools\": [{\"pool\": \"a\"}, {\"pol\": \"b\"}]}");
        let e = from_node::<Subnet>(&n, "Dhcp4.subnet4[2]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.json:2.28: Dhcp4.subnet4[2].pools[1]: unknown key \"pol\" (did you mean \"pool\"?)"
        );
    }

    #[test]
    fn type_error_points_at_value() {
        let n = node("{\"subnet\": \"x\",\n \"pools\": [{\"pool-id\": \"seven\"}]}");
        let e = from_node::<Subnet>(&n, "s").unwrap_err();
        assert_eq!(e.pos.as_ref().map(|p| (p.line, p.col)), Some((2, 24)));
        assert_eq!(e.path, "s.pools[0].pool-id");
        assert!(e.msg.contains("expected i64"), "{}", e.msg);
        let n = node("{\"pools\": {}}");
        let e = from_node::<Subnet>(&n, "s").unwrap_err();
        assert!(e.msg.contains("expected a list, got map"), "{}", e.msg);
    }

    #[test]
    fn collect_reports_every_unknown_key() {
        let n = node("{\"subnett\": 1, \"pools\": [{\"pol\": 1}, {\"pool\": \"a\", \"x\": 2}]}");
        let errs = from_node_collect::<Subnet>(&n, "s").unwrap_err();
        let msgs: Vec<_> = errs.iter().map(|e| e.msg.clone()).collect();
        assert_eq!(errs.len(), 3, "{msgs:?}");
    }
}
