// Compiles the protocols with protox (a pure-Rust protobuf compiler), so no system `protoc`
// is needed on a fresh machine.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["roster/v1/registry.proto", "roster/v1/cluster.proto"];
    let sofa = ["sofa/registry.proto"];
    for proto in protos.iter().chain(&sofa) {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(protos, ["."])?;
    tonic_prost_build::configure()
        // Data items stay `Bytes`: the server validates UTF-8 itself (naming the bad item)
        // and shares one buffer between its store and every push.
        .bytes(".roster.v1")
        // Maps as B-trees: an encoded message (a Raft snapshot above all) must be the same
        // bytes on every replica, which a hash map's random iteration order would break.
        .btree_map(".roster.v1")
        .compile_fds(fds)?;
    // SOFARegistry's client messages: plain messages, no services.
    let fds = protox::compile(sofa, ["."])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(false)
        .btree_map(".sofa.pb")
        .compile_fds(fds)?;
    Ok(())
}
