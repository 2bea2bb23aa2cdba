//! `metal-xen`: what metal knows about Xen guests and does to their disks. [`domu`], the guest
//! (name, address, sizes) and its `xl` configuration; [`placement`], which Dom0 a new DomU goes
//! to, from the Dom0s' measured load and free memory, with the reasons; [`lvm`], the volume
//! group a Dom0 keeps its guests in; [`volume`], streaming a guest's volume to another Dom0.
//! [`api`] is the agent's HTTP API as both ends see it; [`command`] runs a Dom0 tool with a
//! deadline. It takes Dom0 facts as plain values (never inventory rows); `metal-ops` gathers them.

pub mod api;
pub mod command;
pub mod domu;
pub mod load;
pub mod lvm;
pub mod placement;
pub mod volume;
