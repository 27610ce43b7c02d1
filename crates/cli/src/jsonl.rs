//! Records as JSON lines: what `consume -J` prints and `produce --input jsonl` reads back.
//!
//! ```json
//! {"topic":"t","partition":0,"offset":7,"timestamp":1700000000000,
//!  "key":"k","key_encoding":"utf8","value":"//4=","value_encoding":"base64",
//!  "headers":[{"key":"h","value":"1","encoding":"utf8"}]}
//! ```
//!
//! Bytes that are valid UTF-8 are JSON strings; others are standard base64 (RFC 4648, padded)
//! with `"base64"` in the encoding field beside them. `null` is a null key, value or header
//! value. Headers are an ordered list, so duplicates and their order survive.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use streamctl_client::consumer::ConsumerRecord;

/// A record read from a JSON line; fields the line leaves out are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonRecord {
    /// The partition it came from.
    pub partition: Option<i32>,
    /// Its timestamp (ms since the epoch).
    pub timestamp: Option<i64>,
    /// Its key.
    pub key: Option<Vec<u8>>,
    /// Its value.
    pub value: Option<Vec<u8>>,
    /// Its headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Bytes as JSON: a string when they are UTF-8, else base64, with the encoding's name.
fn bytes_json(b: Option<&[u8]>) -> (Value, &'static str) {
    match b {
        None => (Value::Null, "utf8"),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => (json!(s), "utf8"),
            Err(_) => (json!(base64(b)), "base64"),
        },
    }
}

/// A consumed record as one JSON object.
pub fn to_json(r: &ConsumerRecord) -> Value {
    let (key, key_encoding) = bytes_json(r.key.as_deref());
    let (value, value_encoding) = bytes_json(r.value.as_deref());
    let headers: Vec<Value> = r
        .headers
        .iter()
        .map(|(k, v)| {
            let (value, encoding) = bytes_json(v.as_deref());
            json!({"key": k, "value": value, "encoding": encoding})
        })
        .collect();
    json!({
        "topic": &*r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "key": key,
        "key_encoding": key_encoding,
        "value": value,
        "value_encoding": value_encoding,
        "headers": headers,
    })
}

/// Reads one JSON line back into a record.
pub fn parse_line(line: &str) -> anyhow::Result<JsonRecord> {
    let v: Value = serde_json::from_str(line).context("not a JSON object")?;
    let Value::Object(map) = v else {
        bail!("expected a JSON object");
    };
    let int = |name: &str| -> anyhow::Result<Option<i64>> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .with_context(|| format!("\"{name}\" must be an integer")),
        }
    };
    let encoding = |name: &str| -> anyhow::Result<&str> {
        match map.get(name) {
            None | Some(Value::Null) => Ok("utf8"),
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => bail!("\"{name}\" must be \"utf8\" or \"base64\""),
        }
    };
    let partition = int("partition")?
        .map(|p| i32::try_from(p).context("\"partition\" is out of range"))
        .transpose()?;
    let key = decode_bytes(map.get("key"), encoding("key_encoding")?).context("\"key\"")?;
    let value = decode_bytes(map.get("value"), encoding("value_encoding")?).context("\"value\"")?;
    let mut headers = Vec::new();
    match map.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, h) in items.iter().enumerate() {
                let name = h
                    .get("key")
                    .and_then(Value::as_str)
                    .with_context(|| format!("header {i} has no string \"key\""))?;
                let enc = match h.get("encoding") {
                    None | Some(Value::Null) => "utf8",
                    Some(e) => e
                        .as_str()
                        .with_context(|| format!("header {i}: \"encoding\" must be a string"))?,
                };
                let value = decode_bytes(h.get("value"), enc)
                    .with_context(|| format!("header {i} ({name})"))?;
                headers.push((name.to_string(), value));
            }
        }
        Some(_) => bail!("\"headers\" must be a list of {{\"key\", \"value\"}} objects"),
    }
    Ok(JsonRecord {
        partition,
        timestamp: int("timestamp")?,
        key,
        value,
        headers,
    })
}

fn decode_bytes(v: Option<&Value>, encoding: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let s = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(_) => bail!("must be a string or null"),
    };
    match encoding {
        "utf8" => Ok(Some(s.as_bytes().to_vec())),
        "base64" => base64_decode(s).map(Some),
        other => bail!("unknown encoding \"{other}\" (expected utf8 or base64)"),
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648).
pub fn base64(data: &[u8]) -> String {
    let sym = |i: u32| char::from(ALPHABET.get((i & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

/// Decodes standard, padded base64 (RFC 4648); anything else is an error.
pub fn base64_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        bail!("not base64: the length is not a multiple of 4");
    }
    let value = |c: u8| -> anyhow::Result<u32> {
        ALPHABET
            .iter()
            .position(|&a| a == c)
            .map(|p| p as u32)
            .with_context(|| format!("not base64: unexpected character {:?}", char::from(c)))
    };
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.len() / 4;
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i + 1 == chunks;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            bail!("not base64: misplaced padding");
        }
        let mut n = 0u32;
        for (j, &c) in chunk.iter().enumerate() {
            let v = if j >= 4 - pad { 0 } else { value(c)? };
            n = (n << 6) | v;
        }
        let [_, a, b, c] = n.to_be_bytes();
        out.push(a);
        if pad < 2 {
            out.push(b);
        }
        if pad < 1 {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors_both_ways() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
            assert_eq!(base64_decode(want).unwrap(), input.as_bytes());
        }
        for bad in ["Zg=", "Z===", "Zg==Zg==", "Zm9*", "é123"] {
            assert!(base64_decode(bad).is_err(), "{bad}");
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64(&all)).unwrap(), all);
    }

    #[test]
    fn json_lines_parse_back_with_encodings_nulls_and_header_order() {
        let r = parse_line(
            r#"{"topic":"t","partition":2,"offset":9,"timestamp":17,"key":null,
                "value":"//4=","value_encoding":"base64",
                "headers":[{"key":"h","value":"1","encoding":"utf8"},{"key":"h","value":null}]}"#,
        )
        .unwrap();
        assert_eq!(r.partition, Some(2));
        assert_eq!(r.timestamp, Some(17));
        assert_eq!(r.key, None);
        assert_eq!(r.value, Some(vec![0xff, 0xfe]));
        assert_eq!(
            r.headers,
            [
                ("h".to_string(), Some(b"1".to_vec())),
                ("h".to_string(), None)
            ]
        );
        assert_eq!(
            parse_line(r#"{"value":"v"}"#).unwrap().value,
            Some(b"v".to_vec())
        );
        for (bad, says) in [
            ("not json", "JSON"),
            ("[1]", "object"),
            (r#"{"partition":"x"}"#, "partition"),
            (r#"{"value":"x","value_encoding":"hex"}"#, "hex"),
            (r#"{"value":"@@@@","value_encoding":"base64"}"#, "base64"),
            (r#"{"headers":{"a":1}}"#, "headers"),
            (r#"{"headers":[{"value":"x"}]}"#, "header 0"),
        ] {
            let e = format!("{:#}", parse_line(bad).unwrap_err());
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
