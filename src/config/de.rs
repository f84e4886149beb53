//! A serde `Deserializer` over the positioned [`Node`] tree, so that every type error, unknown
//! key or missing key in the strict `raw` structs is reported with `FILE:LINE.COL` and the JSON
//! path of the offending map (Kea ARM 8.1.1: unknown keywords are errors).

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::text::{Entry, Node, Pos, Value};

/// The field name under which a raw struct receives its [`Loc`].
pub const LOC_FIELD: &str = "$loc";
/// The newtype name by which [`Loc`] asks for its encoding.
const LOC_TOKEN: &str = "$kakapo::Loc";

/// A place to report a problem at: the position and JSON path of a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Here {
    /// Where the value starts.
    pub pos: Pos,
    /// Its JSON path, such as `Dhcp4.subnet4[2].pools[0].pool`.
    pub path: String,
}

/// Where a map of the raw mirror was written: its own position and JSON path, and the
/// position of each key's value (and of each item of a list value), so that the model,
/// which reads the typed fields, still reports `FILE:LINE.COL` (Kea ARM 8.1.1). A raw struct
/// receives it in a field named [`LOC_FIELD`]; decoders other than this one leave it empty.
#[derive(Debug, Clone)]
pub struct Loc {
    pos: Pos,
    path: String,
    keys: Vec<KeyLoc>,
}

#[derive(Debug, Clone)]
struct KeyLoc {
    key: String,
    pos: Pos,
    items: Vec<Pos>,
}

impl Default for Loc {
    fn default() -> Loc {
        Loc { pos: Pos::none(), path: String::new(), keys: Vec::new() }
    }
}

/// Positions are not part of a configuration's value: two maps with the same keys and values
/// are equal wherever they were written.
impl PartialEq for Loc {
    fn eq(&self, _: &Loc) -> bool {
        true
    }
}

impl Loc {
    /// The map itself.
    pub fn here(&self) -> Here {
        Here { pos: self.pos.clone(), path: self.path.clone() }
    }

    /// The value of `key`, or the map when the key was not written.
    pub fn key(&self, key: &str) -> Here {
        match self.keys.iter().find(|k| k.key == key) {
            Some(k) => Here { pos: k.pos.clone(), path: self.join(key) },
            None => self.here(),
        }
    }

    /// Item `i` of the list under `key`, or the nearest enclosing value there is.
    pub fn item(&self, key: &str, i: usize) -> Here {
        match self.keys.iter().find(|k| k.key == key).and_then(|k| k.items.get(i)) {
            Some(p) => Here { pos: p.clone(), path: format!("{}[{i}]", self.join(key)) },
            None => self.key(key),
        }
    }

    /// Whether `key` was written in the map.
    pub fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k.key == key)
    }

    /// The JSON path of the map.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn join(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The flat encoding a [`Loc`] travels in through serde: path, position, then per key
    /// its name, position and item positions.
    fn encode(node: &Node, entries: &[Entry], path: &str) -> Vec<Tok> {
        let mut t = vec![Tok::S(path.to_string())];
        push_pos(&mut t, &node.pos);
        t.push(Tok::N(entries.len() as u64));
        for e in entries {
            t.push(Tok::S(e.key.clone()));
            push_pos(&mut t, &e.value.pos);
            let items: &[Node] = match &e.value.value {
                Value::List(items) => items,
                _ => &[],
            };
            t.push(Tok::N(items.len() as u64));
            for n in items {
                push_pos(&mut t, &n.pos);
            }
        }
        t
    }
}

fn push_pos(t: &mut Vec<Tok>, p: &Pos) {
    t.extend([Tok::S(p.file.to_string()), Tok::N(u64::from(p.line)), Tok::N(u64::from(p.col))]);
}

/// One element of a [`Loc`]'s encoding.
enum Tok {
    S(String),
    N(u64),
}

impl<'de> serde::Deserialize<'de> for Loc {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Loc, D::Error> {
        d.deserialize_newtype_struct(LOC_TOKEN, LocVisitor)
    }
}

struct LocVisitor;

impl<'de> Visitor<'de> for LocVisitor {
    type Value = Loc;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a position (not a configuration key)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loc, A::Error> {
        fn next<'de, T: serde::Deserialize<'de>, A: SeqAccess<'de>>(seq: &mut A) -> Result<T, A::Error> {
            seq.next_element()?.ok_or_else(|| de::Error::custom("truncated position"))
        }
        fn pos<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<Pos, A::Error> {
            let file: String = next(seq)?;
            Ok(Pos { file: file.into(), line: next(seq)?, col: next(seq)? })
        }
        let path: String = next(&mut seq)?;
        let at = pos(&mut seq)?;
        let n: u64 = next(&mut seq)?;
        let mut keys = Vec::new();
        for _ in 0..n {
            let key: String = next(&mut seq)?;
            let p = pos(&mut seq)?;
            let m: u64 = next(&mut seq)?;
            let items = (0..m).map(|_| pos(&mut seq)).collect::<Result<_, _>>()?;
            keys.push(KeyLoc { key, pos: p, items });
        }
        Ok(Loc { pos: at, path, keys })
    }
}

/// Hands a [`Loc`]'s encoding to its visitor.
struct LocDe(Vec<Tok>);

impl<'de> de::Deserializer<'de> for LocDe {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(LocSeq(self.0.into_iter()))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string option
        bytes byte_buf unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct LocSeq(std::vec::IntoIter<Tok>);

impl<'de> SeqAccess<'de> for LocSeq {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.0.next() {
            None => Ok(None),
            Some(Tok::S(s)) => seed.deserialize(s.into_deserializer()).map(Some),
            Some(Tok::N(n)) => seed.deserialize(n.into_deserializer()).map(Some),
        }
    }
}

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
            Value::Map(entries) => {
                visitor.visit_map(Map { entries, i: 0, path: &self.path, loc: None, loc_key: false })
            }
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
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Map(entries) if fields.contains(&LOC_FIELD) => {
                let loc = Some(Loc::encode(self.node, entries, &self.path));
                let r = visitor.visit_map(Map { entries, i: 0, path: &self.path, loc, loc_key: false });
                self.fix(r)
            }
            _ => self.deserialize_map(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Map(entries) => {
                let r = visitor.visit_map(Map { entries, i: 0, path: &self.path, loc: None, loc_key: false });
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

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        if name == LOC_TOKEN {
            // A `$loc` key written in the file: positions come from the reader only.
            return Err(de::Error::unknown_field(LOC_FIELD, &[]));
        }
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
    /// The map's [`Loc`], handed out as the first entry when the struct asks for one.
    loc: Option<Vec<Tok>>,
    loc_key: bool,
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        if self.loc.is_some() && !self.loc_key {
            self.loc_key = true;
            return seed.deserialize(LOC_FIELD.into_deserializer()).map(Some);
        }
        let Some(e) = self.entries.get(self.i) else { return Ok(None) };
        if e.key == LOC_FIELD {
            let err: DeError = de::Error::unknown_field(LOC_FIELD, &[]);
            return Err(err.at(&e.key_pos, self.path));
        }
        seed.deserialize(e.key.as_str().into_deserializer())
            .map(Some)
            .map_err(|err: DeError| err.at(&e.key_pos, self.path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        if let Some(toks) = self.loc.take() {
            return seed.deserialize(LocDe(toks));
        }
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

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Located {
        #[serde(rename = "$loc", default)]
        loc: Loc,
        name: Option<String>,
        items: Option<Vec<i64>>,
        inner: Option<Box<Located>>,
    }

    #[test]
    fn a_struct_asking_for_its_loc_gets_every_position() {
        let n = node("{\"name\": \"a\",\n \"items\": [1,\n 2],\n \"inner\": {\"name\": \"b\"}}");
        let l: Located = from_node(&n, "Dhcp4.x[3]").unwrap();
        let at = |h: Here| format!("{}: {}", h.pos, h.path);
        assert_eq!(at(l.loc.here()), "f.json:1.1: Dhcp4.x[3]");
        assert_eq!(at(l.loc.key("name")), "f.json:1.10: Dhcp4.x[3].name");
        assert_eq!(at(l.loc.item("items", 1)), "f.json:3.2: Dhcp4.x[3].items[1]");
        assert_eq!(at(l.loc.key("absent")), "f.json:1.1: Dhcp4.x[3]", "a missing key points at its map");
        assert!(l.loc.has("items") && !l.loc.has("absent"));
        let inner = l.inner.unwrap();
        assert_eq!(
            (inner.name.as_deref(), at(inner.loc.key("name"))),
            (Some("b"), "f.json:4.20: Dhcp4.x[3].inner.name".into())
        );
        assert_eq!(l.items, Some(vec![1, 2]));
        // A `$loc` written in the file is an unknown key, not a position.
        let e = from_node::<Located>(&node("{\"$loc\": 1}"), "s").unwrap_err();
        assert_eq!(e.unknown_key.as_deref(), Some("$loc"));
        // Other decoders leave it empty.
        let j: Located = serde_json::from_str(r#"{"name": "c"}"#).unwrap();
        assert_eq!(j.loc.path(), "");
    }

    #[test]
    fn collect_reports_every_unknown_key() {
        let n = node("{\"subnett\": 1, \"pools\": [{\"pol\": 1}, {\"pool\": \"a\", \"x\": 2}]}");
        let errs = from_node_collect::<Subnet>(&n, "s").unwrap_err();
        let msgs: Vec<_> = errs.iter().map(|e| e.msg.clone()).collect();
        assert_eq!(errs.len(), 3, "{msgs:?}");
    }
}
