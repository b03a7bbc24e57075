// The x86 interpreter engine (issue 4).
