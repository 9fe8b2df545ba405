//! keel-agent: the node plane. Not built yet (issue "keel-agent: real pods on containerd").
