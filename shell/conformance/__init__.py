"""The ASL conformance runner: cases recorded against AWS, run through the local host."""
