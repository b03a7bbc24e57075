// Board assembly.
