//! End-to-end tests of the real `nordlys` binary on temporary files.
