//! A JSON object read as a struct in the order the struct declares its fields, whatever
//! the order of the keys: a body with several faults is refused for the first of them in
//! that order, the same for every client and every run.

use serde::de::value::MapDeserializer;
use serde::de::{Deserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// A JSON object that a struct reads field by field in its declared order (other keys last).
pub struct InFieldOrder(pub Map<String, Value>);

impl<'de> Deserializer<'de> for InFieldOrder {
    type Error = serde_json::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let mut entries: Vec<(String, Value)> = self.0.into_iter().collect();
        entries.sort_by_key(|(key, _)| {
            fields
                .iter()
                .position(|field| field == key)
                .unwrap_or(fields.len())
        });
        let mut map = MapDeserializer::new(entries.into_iter());
        let value = visitor.visit_map(&mut map)?;
        map.end()?;
        Ok(value)
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        Value::Object(self.0).deserialize_any(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Pair {
        second: i64,
        first: i64,
    }

    fn first_fault(body: Value) -> String {
        let Value::Object(map) = body else {
            panic!("an object")
        };
        match serde_path_to_error::deserialize::<_, Pair>(InFieldOrder(map)) {
            Ok(pair) => panic!("{pair:?} was accepted"),
            Err(e) => e.path().to_string(),
        }
    }

    #[test]
    fn the_first_faulty_field_in_declared_order_is_the_one_named() {
        // `first` sorts first and comes first in the text; `second` is declared first.
        assert_eq!(first_fault(json!({"first": "x", "second": "y"})), "second");
        assert_eq!(first_fault(json!({"first": "x", "second": 2})), "first");
    }

    #[test]
    fn other_keys_are_read_after_the_fields_and_ignored() {
        let Value::Object(map) = json!({"a": [1], "first": 1, "second": 2, "z": {}}) else {
            panic!("an object")
        };
        let pair: Pair = Pair::deserialize(InFieldOrder(map)).expect("valid");
        assert_eq!((pair.first, pair.second), (1, 2));
    }
}
