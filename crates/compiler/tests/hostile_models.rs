//! Models whose sizes are corrupt or hostile compile to a clear error naming the node,
//! never to a panic, an overflowed size or a huge allocation (findings of the fuzz
//! targets in fuzz/, reproduced here by hand).

use cryptflow_compiler::{compile, CompileError};
use cryptflow_ir::{Graph, Node, Op};
use cryptflow_ring::Tensor;

fn graph(input_shape: Vec<usize>) -> (Graph, usize) {
    let mut g = Graph::default();
    let x = g.add_value("x", Some(input_shape));
    g.input = x;
    (g, x)
}

fn constant(g: &mut Graph, name: &str, shape: Vec<usize>, data: Vec<f32>) -> usize {
    let id = g.add_value(name, None);
    g.constants
        .insert(id, Tensor::new(shape, data).expect("sized"));
    id
}

fn push(g: &mut Graph, name: &str, op: Op, inputs: Vec<usize>) -> usize {
    let output = g.add_value(format!("{name}_out"), None);
    g.nodes.push(Node {
        name: name.into(),
        op,
        inputs,
        output,
    });
    g.output = output;
    output
}

fn shape_error(result: Result<cryptflow_compiler::Compiled, CompileError>) -> String {
    match result {
        Err(e @ CompileError::Shape { .. }) | Err(e @ CompileError::Unsupported { .. }) => {
            e.to_string()
        }
        other => panic!("expected a shape or unsupported error, got {other:?}"),
    }
}

#[test]
fn a_reshape_target_whose_product_overflows_is_refused() {
    let (mut g, x) = graph(vec![1, 4]);
    let huge = (1u64 << 40) as f32;
    let target = constant(&mut g, "t", vec![3], vec![huge, huge, huge]);
    push(&mut g, "reshape", Op::Reshape, vec![x, target]);
    let message = shape_error(compile(g, 12));
    assert!(
        message.contains("`reshape`") && message.contains("overflows"),
        "{message}"
    );
}

#[test]
fn a_constant_of_shape_beyond_the_size_limit_is_refused_before_allocating() {
    let (mut g, x) = graph(vec![1, 4]);
    let dims = constant(&mut g, "dims", vec![2], vec![1e9, 1e9]);
    let c = push(
        &mut g,
        "fill",
        Op::ConstantOfShape { value: 1.0 },
        vec![dims],
    );
    push(&mut g, "add", Op::Add, vec![x, c]);
    let message = shape_error(compile(g, 12));
    assert!(
        message.contains("`fill`") && message.contains("limit"),
        "{message}"
    );
}

#[test]
fn a_constant_that_widens_the_activation_is_unsupported_not_miscompiled() {
    // [1, 3] + [2, 3] broadcasts the activation to [2, 3]: the model owner would add a
    // constant of 6 elements to an activation of 3.
    let (mut g, x) = graph(vec![1, 3]);
    let c = constant(&mut g, "c", vec![2, 3], vec![1.0; 6]);
    push(&mut g, "add", Op::Add, vec![x, c]);
    let message = shape_error(compile(g, 12));
    assert!(message.contains("not widen it to [2, 3]"), "{message}");
}

#[test]
fn an_empty_or_huge_input_is_refused() {
    for (shape, fragment) in [(vec![1, 0], "empty"), (vec![1 << 20, 1 << 20], "limit")] {
        let (mut g, x) = graph(shape);
        push(&mut g, "relu", Op::Relu, vec![x]);
        match compile(g, 12) {
            Err(e @ CompileError::InputShape { .. }) => {
                assert!(e.to_string().contains(fragment), "{e}")
            }
            other => panic!("expected an input-shape error, got {other:?}"),
        }
    }
}
