//! Generates the tonic/prost code for Keel's protocols.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/keel/store.proto",
        "proto/keel/cluster.proto",
        "proto/keel/raft.proto",
        "proto/keel/objects.proto",
        "proto/keel/node.proto",
        "proto/keel/agent.proto",
    ];
    tonic_prost_build::configure().compile_protos(&protos, &["proto"])?;
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    Ok(())
}
