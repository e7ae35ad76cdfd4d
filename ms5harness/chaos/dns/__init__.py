"""Name-resolution faults: the namespace's pods lose their DNS, established connections stay."""
