//! Liveness: each slot is freed right after its last use, so a party holds only the
//! tensors still needed (the paper's §III-D; ResNet50 1100 MB → 397 MB there).

use cryptflow_ir::Program;

/// Fills `free` of every instruction. The program's output is never freed.
pub fn plan_frees(program: &mut Program) {
    let mut last_use = vec![None; program.slot_shapes.len()];
    for (index, instruction) in program.instructions.iter().enumerate() {
        for &slot in &instruction.inputs {
            last_use[slot] = Some(index);
        }
    }
    for instruction in &mut program.instructions {
        instruction.free.clear();
    }
    for (slot, last) in last_use.into_iter().enumerate() {
        if let Some(index) = last {
            if slot != program.output {
                program.instructions[index].free.push(slot);
            }
        }
    }
}

/// Peak bytes of live activations per party, (without, with) freeing.
pub fn peak_activation_bytes(program: &Program) -> (usize, usize) {
    let bytes = |slot: usize| program.slot_len(slot) * 8;
    let mut live = bytes(program.input);
    let mut total = live;
    let mut peak = live;
    for instruction in &program.instructions {
        live += bytes(instruction.output);
        total += bytes(instruction.output);
        peak = peak.max(live);
        live -= instruction.free.iter().map(|&s| bytes(s)).sum::<usize>();
    }
    (total, peak)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptflow_ir::{Instruction, Kernel};
    use cryptflow_ring::Scale;

    fn chain(len: usize) -> Program {
        Program {
            scale: Scale::new(12).expect("valid"),
            softmax: None,
            slot_shapes: vec![vec![10]; len + 1],
            input: 0,
            output: len,
            weight_shapes: vec![],
            instructions: (0..len)
                .map(|i| Instruction {
                    kernel: Kernel::Relu,
                    inputs: vec![i],
                    output: i + 1,
                    free: vec![],
                    comparison_bits: 64,
                    source: format!("r{i}"),
                })
                .collect(),
        }
    }

    #[test]
    fn a_chain_frees_each_input_after_its_only_use() {
        let mut p = chain(4);
        plan_frees(&mut p);
        let frees: Vec<_> = p.instructions.iter().map(|i| i.free.clone()).collect();
        assert_eq!(frees, vec![vec![0], vec![1], vec![2], vec![3]]);
        // Without liveness all 5 slots stay; with it at most two are live at once.
        assert_eq!(peak_activation_bytes(&p), (5 * 80, 2 * 80));
    }

    #[test]
    fn a_skip_connection_stays_live_until_the_add() {
        let mut p = chain(3);
        p.slot_shapes.push(vec![10]);
        p.instructions.push(Instruction {
            kernel: Kernel::Add,
            inputs: vec![0, 3],
            output: 4,
            free: vec![],
            comparison_bits: 64,
            source: "add".into(),
        });
        p.output = 4;
        plan_frees(&mut p);
        assert!(p.instructions[0].free.is_empty());
        assert_eq!(p.instructions[3].free, vec![0, 3]);
    }
}
