; Xen guest that reports a crash through SCHEDOP_shutdown.
%define XEN_SHUTDOWN_REASON 3
%include "include/xen-hypercalls.inc"
