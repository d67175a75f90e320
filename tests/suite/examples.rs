//! placeholder until samples exist
