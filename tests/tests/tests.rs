//! End-to-end tests against real tools and real files.

mod certifi;
mod openssl;
