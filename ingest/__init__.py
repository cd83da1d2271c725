"""Ingestion: load knowledge files and success plans, validate, chunk, embed and index them."""
