//! The assembled simulation.
