//! `metal-xen`: what metal knows about Xen guests, free of I/O. So far: [`domu`], the guest
//! (name, address, sizes) and its `xl` configuration; [`placement`], which Dom0 a new DomU goes
//! to, from the Dom0s' measured load and free memory, with the reasons.
//! It takes Dom0 facts as plain values (never inventory rows); `metal-ops` gathers them.

pub mod domu;
pub mod placement;
