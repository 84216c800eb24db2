//! Talos: secrets, machine configuration, client configuration (work in progress).
