//! Prints what a fuzz input decodes to, for triaging a finding:
//!
//! ```text
//! cargo run -p cryptflow-fuzz --example show -- TARGET FILE
//! ```

use cryptflow_fuzz::ProtocolCase;
use cryptflow_ir::Program;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, file] = args.as_slice() else {
        return Err("usage: show TARGET FILE".into());
    };
    let data = std::fs::read(file)?;
    match target.as_str() {
        "program_receive" | "program_run" => {
            let (program, rest) = postcard::take_from_bytes::<Program>(&data)?;
            println!("{program:#?}\n{} trailing bytes", rest.len());
        }
        "artifact_read" => {
            let len = u64::from_le_bytes(data.get(12..20).ok_or("short")?.try_into()?) as usize;
            let program: Program = postcard::from_bytes(data.get(20..20 + len).ok_or("short")?)?;
            println!("{program:#?}");
        }
        "protocol_messages" => {
            let case = <ProtocolCase as arbitrary::Arbitrary>::arbitrary_take_rest(
                arbitrary::Unstructured::new(&data),
            )?;
            println!("{case:#?}");
        }
        "onnx_graph" => {
            let spec = <cryptflow_fuzz::GraphSpec as arbitrary::Arbitrary>::arbitrary_take_rest(
                arbitrary::Unstructured::new(&data),
            )?;
            let model = spec.model();
            println!("{:#?}", model.graph);
            match cryptflow_onnx::import_model(&model) {
                Ok(graph) => println!("{graph:#?}"),
                Err(e) => println!("import error: {e}"),
            }
        }
        "onnx_compile" => match cryptflow_onnx::import_bytes(&data) {
            Ok(graph) => println!("{graph:#?}"),
            Err(e) => println!("import error: {e}"),
        },
        other => return Err(format!("unknown target {other}").into()),
    }
    Ok(())
}
