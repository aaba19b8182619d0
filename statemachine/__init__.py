"""The Amazon States Language: parse, validate, compile and interpret. Pure: no I/O, no clock."""
