//! Audit queries and statistics over verified or unverified log segments.
