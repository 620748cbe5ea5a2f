//! Typed access to a node's attributes, with errors that name the node and attribute.

use crate::error::ImportError;
use crate::proto::attribute_proto::AttributeType;
use crate::proto::{AttributeProto, NodeProto, TensorProto};

/// The attributes of one node, with its (possibly synthesized) name for messages.
#[derive(Debug)]
pub(crate) struct Attributes<'a> {
    node: &'a str,
    op: &'a str,
    list: &'a [AttributeProto],
}

impl<'a> Attributes<'a> {
    pub(crate) fn new(node_name: &'a str, proto: &'a NodeProto) -> Self {
        Attributes {
            node: node_name,
            op: proto.op_type(),
            list: &proto.attribute,
        }
    }

    fn get(
        &self,
        name: &str,
        expected: AttributeType,
    ) -> Result<Option<&'a AttributeProto>, ImportError> {
        let Some(attribute) = self.list.iter().find(|a| a.name() == name) else {
            return Ok(None);
        };
        // Writers before IR version 2 may leave `type` unset; trust the payload then.
        match attribute.r#type {
            Some(code) if code != expected as i32 => {
                let found = AttributeType::try_from(code).map_or_else(
                    |_| format!("type code {code}"),
                    |t| t.as_str_name().to_owned(),
                );
                Err(self.invalid(
                    name,
                    format!("expected {} but found {found}", expected.as_str_name()),
                ))
            }
            _ => Ok(Some(attribute)),
        }
    }

    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ImportError> {
        Ok(self.get(name, AttributeType::Int)?.map(|a| a.i()))
    }

    pub(crate) fn int_or(&self, name: &str, default: i64) -> Result<i64, ImportError> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    pub(crate) fn ints(&self, name: &str) -> Result<Option<&'a [i64]>, ImportError> {
        Ok(self
            .get(name, AttributeType::Ints)?
            .map(|a| a.ints.as_slice()))
    }

    pub(crate) fn float(&self, name: &str) -> Result<Option<f32>, ImportError> {
        Ok(self.get(name, AttributeType::Float)?.map(|a| a.f()))
    }

    pub(crate) fn floats(&self, name: &str) -> Result<Option<&'a [f32]>, ImportError> {
        Ok(self
            .get(name, AttributeType::Floats)?
            .map(|a| a.floats.as_slice()))
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, ImportError> {
        match self.get(name, AttributeType::String)? {
            None => Ok(None),
            Some(a) => String::from_utf8(a.s().to_vec())
                .map(Some)
                .map_err(|_| self.invalid(name, "the string is not UTF-8".into())),
        }
    }

    pub(crate) fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, ImportError> {
        Ok(self
            .get(name, AttributeType::Tensor)?
            .and_then(|a| a.t.as_ref()))
    }

    /// Whether the node has an attribute of this name, of any type.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.list.iter().any(|a| a.name() == name)
    }

    /// A boolean stored as an int attribute (0 or 1).
    pub(crate) fn flag(&self, name: &str, default: bool) -> Result<bool, ImportError> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(other) => Err(self.invalid(name, format!("expected 0 or 1 but found {other}"))),
        }
    }

    /// Non-negative integers, e.g. `pads`.
    pub(crate) fn sizes(&self, name: &str, min: usize) -> Result<Option<Vec<usize>>, ImportError> {
        let Some(values) = self.ints(name)? else {
            return Ok(None);
        };
        values
            .iter()
            .map(|&v| {
                usize::try_from(v)
                    .ok()
                    .filter(|&v| v >= min)
                    .ok_or_else(|| self.invalid(name, format!("{values:?} holds {v}, below {min}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub(crate) fn invalid(&self, attribute: &str, reason: String) -> ImportError {
        ImportError::InvalidAttribute {
            node: self.node.to_owned(),
            op: self.op.to_owned(),
            attribute: attribute.to_owned(),
            reason,
        }
    }

    pub(crate) fn unsupported(
        &self,
        attribute: &str,
        value: impl ToString,
        reason: &str,
    ) -> ImportError {
        ImportError::UnsupportedAttribute {
            node: self.node.to_owned(),
            op: self.op.to_owned(),
            attribute: attribute.to_owned(),
            value: value.to_string(),
            reason: reason.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(attribute: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: Some("Conv".into()),
            attribute,
            ..Default::default()
        }
    }

    fn ints(name: &str, values: Vec<i64>) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            r#type: Some(AttributeType::Ints as i32),
            ints: values,
            ..Default::default()
        }
    }

    #[test]
    fn reads_typed_values_and_defaults() {
        let proto = node(vec![ints("strides", vec![2, 2])]);
        let attrs = Attributes::new("conv1", &proto);
        assert_eq!(attrs.sizes("strides", 1).unwrap(), Some(vec![2, 2]));
        assert_eq!(attrs.ints("pads").unwrap(), None);
        assert_eq!(attrs.int_or("group", 1).unwrap(), 1);
        assert!(attrs.has("strides") && !attrs.has("pads"));
    }

    #[test]
    fn wrong_type_names_node_attribute_and_types() {
        let proto = node(vec![ints("group", vec![1])]);
        let err = Attributes::new("conv1", &proto).int("group").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "node `conv1` (Conv): attribute `group` is invalid: expected INT but found INTS"
            ),
            "{err}"
        );
    }

    #[test]
    fn sizes_below_the_minimum_are_invalid() {
        let proto = node(vec![ints("strides", vec![1, 0])]);
        let err = Attributes::new("conv1", &proto)
            .sizes("strides", 1)
            .unwrap_err();
        assert!(err.to_string().contains("[1, 0] holds 0, below 1"), "{err}");
    }
}
