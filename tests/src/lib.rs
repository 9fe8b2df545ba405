//! keel-tests: end-to-end tests live in tests/e2e (one binary).
