//! The instruction loop every way of running a program shares (cleartext, float,
//! secure): slot storage, operands handed to the step, and liveness frees.

use cryptflow_ir::{Instruction, Program};

/// An operand of a step: its values and its shape.
pub(crate) type Operand<'a, T> = (&'a [T], &'a [usize]);

/// Runs `step` for each instruction in order, on borrowed operands, storing its result
/// in the instruction's output slot and dropping each slot after its last use. Returns
/// the output slot's values.
pub(crate) fn execute<T, E>(
    program: &Program,
    input: Vec<T>,
    mut step: impl FnMut(usize, &Instruction, &[Operand<'_, T>]) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, E> {
    let mut slots: Vec<Option<Vec<T>>> = (0..program.slot_shapes.len()).map(|_| None).collect();
    slots[program.input] = Some(input);
    for (index, instruction) in program.instructions.iter().enumerate() {
        let out = {
            // Validated programs only read live slots; an empty operand is never read.
            let operands: Vec<Operand<'_, T>> = instruction
                .inputs
                .iter()
                .map(|&i| {
                    (
                        slots[i].as_deref().unwrap_or_default(),
                        program.slot_shapes[i].as_slice(),
                    )
                })
                .collect();
            step(index, instruction, &operands)?
        };
        slots[instruction.output] = Some(out);
        for &slot in &instruction.free {
            slots[slot] = None;
        }
    }
    Ok(slots[program.output].take().unwrap_or_default())
}
