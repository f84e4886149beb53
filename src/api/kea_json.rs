//! JSON text as Kea prints it (libkea-cc `Element::str()`): maps with their keys in byte
//! order, `{ "key": value, ... }` and `[ a, b ]` with a space inside the brackets, strings
//! escaped the way Kea escapes them. Operators' scripts and monitors grep this text, so
//! kakapo's answers are printed the same way (Kea ARM 8.7 "Management API").

use std::fmt::Write as _;

use serde_json::Value;

/// `value` printed as Kea prints an element.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value);
    out
}

fn write(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push_str("[ ");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(out, item);
            }
            out.push_str(" ]");
        }
        Value::Object(map) => {
            // Kea's maps are ordered by key.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("{ ");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push('"');
                out.push_str(k);
                out.push_str("\": ");
                if let Some(x) = map.get(k) {
                    write(out, x);
                }
            }
            out.push_str(" }");
        }
    }
}

/// Integers as they are; other numbers as C++'s default stream output (6 significant
/// digits, trailing zeros dropped): 0.5 -> `0.5`, 0.875 -> `0.875`.
fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        let text = format!("{f:.6}");
        let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
        out.push_str(text);
    }
}

/// Kea's string escaping: `"` and `\`, the short forms of \b \f \n \r \t, other control
/// characters and every byte outside ASCII as `\u00XX`.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_like_kea() {
        let v = json!({"text": "2.2.0", "result": 0, "arguments": {"extended": "a\nb", "list": [1, 2], "empty": [], "m": {}}});
        assert_eq!(
            to_string(&v),
            r#"{ "arguments": { "empty": [  ], "extended": "a\nb", "list": [ 1, 2 ], "m": {  } }, "result": 0, "text": "2.2.0" }"#
        );
        assert_eq!(
            to_string(&json!([{"result": 401, "text": "Unauthorized"}])),
            r#"[ { "result": 401, "text": "Unauthorized" } ]"#
        );
        assert_eq!(
            to_string(&json!({"t1-percent": 0.5, "x": 0.875, "n": null, "b": true})),
            r#"{ "b": true, "n": null, "t1-percent": 0.5, "x": 0.875 }"#
        );
        assert_eq!(to_string(&json!("é\u{1}\"\\")), r#""\u00c3\u00a9\u0001\"\\""#);
    }

    #[test]
    fn reads_back_as_the_same_value() {
        let v = json!({"a": [1, {"b": "c\t\u{7f}"}], "z": -3, "f": 1.25});
        let back: Value = serde_json::from_str(&to_string(&v)).unwrap();
        assert_eq!(back["a"], v["a"]);
        assert_eq!(back["z"], v["z"]);
        assert_eq!(back["f"], v["f"]);
    }
}
