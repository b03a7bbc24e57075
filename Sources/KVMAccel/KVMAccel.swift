// The KVM engine: System / VirtualMachine / VirtualCPU.
