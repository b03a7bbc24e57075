; Xen guest that powers off through SCHEDOP_shutdown.
%define XEN_SHUTDOWN_REASON 0
%include "include/xen-hypercalls.inc"
