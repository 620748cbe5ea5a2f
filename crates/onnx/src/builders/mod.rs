//! The op-builder table: ONNX operator name -> function building the graph node.
//!
//! A builder reads the node's attributes and resolved inputs through [`Context`] and
//! returns a [`Built`]; the importer adds it to the graph. To support a new operator,
//! write its builder in the file of its family and add a row to [`BUILDERS`].

mod activation;
mod arithmetic;
mod constant;
mod conv;
mod identity;
mod linear;
mod normalization;
mod padding;
mod pool;
mod reduce;
mod shape;
mod shape_ops;
mod window;

use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::NodeProto;

pub(crate) type Builder = fn(&NodeProto, &Context) -> Result<Built, ImportError>;

/// The supported operators of domain ai.onnx, for the opsets in
/// [`crate::SUPPORTED_OPSETS`].
const BUILDERS: &[(&str, Builder)] = &[
    ("Add", arithmetic::add),
    ("AveragePool", pool::average_pool),
    ("BatchNormalization", normalization::batch_normalization),
    ("Cast", identity::cast),
    ("Clip", activation::clip),
    ("Concat", shape::concat),
    ("Constant", constant::constant),
    ("ConstantOfShape", constant::constant_of_shape),
    ("Conv", conv::conv),
    ("Div", arithmetic::div),
    ("Dropout", identity::dropout),
    ("Flatten", shape::flatten),
    ("Gather", shape_ops::gather),
    ("Gemm", linear::gemm),
    ("GlobalAveragePool", pool::global_average_pool),
    ("HardSigmoid", activation::hard_sigmoid),
    ("HardSwish", activation::hard_swish),
    ("Identity", identity::identity),
    ("LeakyRelu", activation::leaky_relu),
    ("MatMul", linear::matmul),
    ("MaxPool", pool::max_pool),
    ("Mul", arithmetic::mul),
    ("Neg", arithmetic::neg),
    ("PRelu", activation::prelu),
    ("Pad", padding::pad),
    ("ReduceMean", reduce::reduce_mean),
    ("ReduceSum", reduce::reduce_sum),
    ("Relu", activation::relu),
    ("Reshape", shape::reshape),
    ("Shape", shape_ops::shape),
    ("Sigmoid", activation::sigmoid),
    ("Slice", shape_ops::slice),
    ("Softmax", activation::softmax),
    ("Softplus", activation::softplus),
    ("Squeeze", shape::squeeze),
    ("Sub", arithmetic::sub),
    ("Sum", arithmetic::sum),
    ("Tanh", activation::tanh),
    ("Transpose", shape::transpose),
    ("Unsqueeze", shape::unsqueeze),
];

/// The builder for an ai.onnx operator, if it is supported.
pub(crate) fn builder(op_type: &str) -> Option<Builder> {
    BUILDERS
        .iter()
        .find(|(name, _)| *name == op_type)
        .map(|&(_, build)| build)
}

/// The names of the supported ai.onnx operators, sorted.
pub fn supported_operators() -> Vec<&'static str> {
    BUILDERS.iter().map(|&(name, _)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_has_no_duplicates() {
        let names = supported_operators();
        assert!(names.windows(2).all(|pair| pair[0] < pair[1]), "{names:?}");
        assert!(builder("Conv").is_some());
        assert!(builder("conv").is_none());
    }
}
