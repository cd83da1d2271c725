"""Reports of an evaluation run: the terminal summary, a standalone HTML file and JUnit XML."""
