//! The resilience register on both backends, and the fault proxy against real sockets: each toxic's effect measured on the wire, the
//! Toxiproxy API's shapes and errors, and the real Toxiproxy client library driving it.

mod api;
mod monkey;
mod practice;
mod register;
mod support;
mod toxics;
mod toxiproxy_python;
