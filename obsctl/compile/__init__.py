"""Compilers from the neutral expression tree to each backend's query language."""
