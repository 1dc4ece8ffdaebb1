//! End-to-end tests against real tools and real files.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod alpine;
mod bake;
mod bundle;
mod certifi;
mod check_config;
mod cli;
mod conda;
mod debian;
mod deploy;
mod distroless;
mod dockerfile;
mod fuzz_replay;
mod golden;
mod hash;
mod hostile;
mod ironbank;
mod java;
mod lines;
mod lying_registry;
mod node;
mod openssl;
mod own_image;
mod pkcs12;
mod proxy;
mod registry;
mod rhel;
mod runtime;
mod signing;
mod suse;
mod sync;
mod verify;
