"""Retrieval: the vector and lexical indexes, their fusion, and article-level search."""
