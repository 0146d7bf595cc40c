"""Stepwell: the command line, settings and process wiring around the parts."""
