//! LocalCluster.
